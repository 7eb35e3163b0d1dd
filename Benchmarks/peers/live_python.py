#!/usr/bin/env python3
"""The Python consumers of the live benchmark (Benchmarks/live.py): the provider's quick start (`websockets` +
`json.loads`) and StreamKit's iterator, subscribed to the same two prices on a `streamkit sim`, reading the same
fields. Prints one JSON line with the process CPU time over a window of messages after a warm-up, and the same
split by thread (the interpreter's, the native I/O loop's, others; from /proc).

With `floor`, it measures instead what the Python process spends per message whatever the library does (on the
same stream, no network in the timed parts): the loop above over messages already built, and building them (the
objects of each batch from the pickle the library wrote, loaded in place as in `poll`, then freed).

Usage: live_python.py quickstart|streamkit|floor URL [MESSAGES]
"""

import asyncio
import json
import os
import sys
import time


def thread_cpu():
    """CPU seconds per thread of this process, by kind: the interpreter's own thread ("python"), the native
    library's I/O event loop ("io", SwiftNIO's threads) and any other. Linux only (/proc); {} elsewhere."""
    out = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        kind = "python" if int(tid) == os.getpid() else "io" if name.startswith("NIO-") else "other"
        out[kind] = out.get(kind, 0) + ns / 1e9
    return out


def window(timed):
    warmup = timed // 10
    state = {"n": 0, "sum": 0.0}

    def tick(value):
        state["sum"] += value
        state["n"] += 1
        if state["n"] == warmup:
            state["threads0"] = thread_cpu()
            state["cpu0"], state["wall0"] = time.process_time(), time.perf_counter()
        elif state["n"] == warmup + timed:
            state["cpu"] = time.process_time() - state["cpu0"]
            state["wall"] = time.perf_counter() - state["wall0"]
            end = thread_cpu()
            state["threads"] = {k: end[k] - state["threads0"].get(k, 0) for k in end}
            return True
        return False
    return state, tick


def quickstart(url, timed):
    import websockets
    state, tick = window(timed)

    async def run():
        async with websockets.connect(url, additional_headers={"X-CMC_PRO_API_KEY": "bench"}, max_size=2**20) as ws:
            await ws.send(json.dumps({"id": 1, "method": "subscribe", "channel": "market@crypto_latest_price",
                                      "params": {"crypto_ids": [1, 1027]}}))
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") != "data":
                    continue
                d = message["data"]
                if tick(d["p"] + d["cid"] + (d.get("p24h") or 0)):
                    return
    asyncio.run(run())
    return f"Python quick start (websockets {websockets.__version__} + json.loads)", state


def loop(messages, timed):
    """The iterator's loop: the same reads and tick for every message, from a client or from messages already
    built (`floor`)."""
    state, tick = window(timed)
    for msg in messages:
        if msg.kind != "data":
            continue
        d = msg.data
        if tick(d.p + d.cid + (d.p24h or 0)):
            break
    return state


def streamkit_iterator(url, timed):
    import streamkit
    with streamkit.Client(url=url, api_key="bench") as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027], overflow="block")
        state = loop(client, timed)
    return "Python streamkit iterator", state


def floor(url, timed):
    import ctypes
    import streamkit
    from streamkit import _client, _messages
    pickles, messages = [], []
    real = _messages.load

    def capturing(address, length):
        pickles.append(ctypes.string_at(address, length))
        return real(address, length)
    _client.load = capturing
    try:
        with streamkit.Client(url=url, api_key="bench") as client:
            client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027], overflow="block")
            for msg in client:
                messages.append(msg)
                if len(messages) > timed + timed // 10 + 100:
                    break
    finally:
        _client.load = real
    state = loop(messages, timed)
    buffers = [(ctypes.create_string_buffer(p, len(p)), len(p)) for p in pickles]
    messages.clear()
    pickles.clear()
    count, cpu0 = 0, time.process_time()
    for buffer, length in buffers:
        items, _ = real(ctypes.addressof(buffer), length)
        count += len(items)
        del items
    build = time.process_time() - cpu0
    return "Python floor", {"cpu": state["cpu"], "wall": state["wall"], "sum": state["sum"], "threads": {},
                            "build_us": build / count * 1e6}


def main():
    mode, url = sys.argv[1], sys.argv[2]
    timed = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    name, state = {"quickstart": quickstart, "streamkit": streamkit_iterator, "floor": floor}[mode](url, timed)
    out = {"consumer": name, "messages": timed, "cpu_s": state["cpu"], "wall_s": state["wall"],
           "checksum": state["sum"], "threads_cpu_s": state["threads"]}
    if "build_us" in state:
        out["build_us"] = state["build_us"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
