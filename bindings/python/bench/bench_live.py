"""Python live benchmark: the provider's quick-start client (websockets + json.loads) against streamkit's
iterator, consuming the same simulator stream in the same run.

The simulator runs in its own process in load mode (as fast as each client reads), pushing
market@crypto_latest_price for BTC and ETH. Each client takes N data messages and does the quick start's work on
each (read cid, p and p24h, format the line; not printed). Reported: messages per CPU-second of the Python
process (every thread of it: for streamkit that includes the native I/O and decoding threads), and per wall
second. Rounds alternate the two clients; medians are reported.

Usage: python3 bench_live.py [--messages N] [--rounds R] [--markdown FILE]
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import websockets

import streamkit

SIM = """
import streamkit, sys, time
sim = streamkit.Simulator(api_key="bench", rate="max")
print(sim.url, flush=True)
sys.stdin.read()
"""


def quick_start(url, n):
    async def run():
        count = 0
        async with websockets.connect(url, additional_headers={"X-CMC_PRO_API_KEY": "bench"}, max_size=2**20) as ws:
            await ws.send(json.dumps({"id": 1, "method": "subscribe", "channel": "market@crypto_latest_price",
                                      "params": {"crypto_ids": [1, 1027]}}))
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") != "data":
                    continue
                d = message["data"]
                line = f"[{message['channel']}] #{d['cid']}: ${d['p']:.2f} ({d['p24h']:+.4f}% 24h)"
                count += 1
                if count >= n:
                    return line
    return asyncio.run(run())


def streamkit_iterator(url, n):
    count = 0
    with streamkit.Client(url=url, api_key="bench") as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027], overflow="block")
        for msg in client:
            if msg.kind != "data":
                continue
            d = msg.data
            line = f"[{msg.channel}] #{d.cid}: ${d.p:.2f} ({d.p24h:+.4f}% 24h)"
            count += 1
            if count >= n:
                return line


def measure(fn, url, n):
    cpu0, wall0 = time.process_time(), time.perf_counter()
    fn(url, n)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return n / cpu, n / wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown", help="append the table to this file")
    args = ap.parse_args()
    sim = subprocess.Popen([sys.executable, "-c", SIM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = sim.stdout.readline().strip()
    try:
        results = {"quick start (websockets + json.loads)": [], "streamkit iterator": []}
        for _ in range(args.rounds):
            results["quick start (websockets + json.loads)"].append(measure(quick_start, url, args.messages))
            results["streamkit iterator"].append(measure(streamkit_iterator, url, args.messages))
    finally:
        sim.stdin.close()
        sim.wait(timeout=30)
    rows = []
    base = statistics.median(c for c, _ in results["quick start (websockets + json.loads)"])
    for name, runs in results.items():
        cpu = [c for c, _ in runs]
        wall = [w for _, w in runs]
        rows.append(f"| {name} | {statistics.median(cpu):,.0f} | {min(cpu):,.0f} to {max(cpu):,.0f} | "
                    f"{statistics.median(wall):,.0f} | {statistics.median(cpu) / base:.1f}x |")
    table = "\n".join([
        f"Python live: {args.messages:,} price messages per client and round, {args.rounds} rounds, same simulator "
        f"process (load mode, as fast as each client reads), Python {sys.version.split()[0]}.",
        "",
        "| client | msgs per CPU-second (median) | min to max | msgs per wall second | vs quick start |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ])
    print(table)
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write("\n## Python live\n\n" + table + "\n")


if __name__ == "__main__":
    main()
