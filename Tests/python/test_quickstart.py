"""The provider's Python quick start, unmodified but for the URL, the key, the header argument's name in current
`websockets` (`additional_headers`) and stopping after four prices, against `streamkit sim`.

The quick start (overview page):

    async with websockets.connect(uri, extra_headers=headers) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscribe",
                                  "channel": "market@crypto_latest_price",
                                  "params": {"crypto_ids": [1, 1027]}}))
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") != "data":
                continue
            d = message["data"]
            print(f"[{message['channel']}] #{d['cid']}: ${d['p']:.2f} ({d['p24h']:+.4f}% 24h)")
"""

import asyncio
import json
import os
import re
import subprocess

import websockets

STREAMKIT = os.environ.get("STREAMKIT_BIN", "streamkit")


def start_simulator(*args):
    proc = subprocess.Popen(
        [STREAMKIT, "sim", "--port", "0", "--api-key", "quickstart-key", "--speed", "10", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = proc.stdout.readline().strip()
    assert url.startswith("ws://"), f"simulator printed {url!r}"
    return proc, url


def test_provider_quick_start_prints_prices():
    proc, uri = start_simulator()
    printed = []
    try:
        async def subscribe():
            headers = {"X-CMC_PRO_API_KEY": "quickstart-key"}
            async with websockets.connect(uri, additional_headers=headers) as ws:
                await ws.send(json.dumps({
                    "id": 1,
                    "method": "subscribe",
                    "channel": "market@crypto_latest_price",
                    "params": {"crypto_ids": [1, 1027]},
                }))
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") != "data":
                        continue
                    d = message["data"]
                    line = (f"[{message['channel']}] #{d['cid']}: "
                            f"${d['p']:.2f} ({d['p24h']:+.4f}% 24h)")
                    print(line)
                    printed.append(line)
                    if len(printed) == 4:
                        return

        asyncio.run(asyncio.wait_for(subscribe(), timeout=30))
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert len(printed) == 4
    pattern = re.compile(r"^\[market@crypto_latest_price\] #(1|1027): \$\d+\.\d\d \([+-]\d+\.\d{4}% 24h\)$")
    for line in printed:
        assert pattern.match(line), line
    assert {"#1:", "#1027:"} <= {line.split()[1] for line in printed}
    # Ctrl-C (SIGTERM here) stops it cleanly, with its summary.
    assert proc.returncode == 0, err
    assert "frames sent" in err


def test_unknown_key_is_closed_with_4100():
    proc, uri = start_simulator()
    try:
        async def connect():
            async with websockets.connect(uri, additional_headers={"X-CMC_PRO_API_KEY": "wrong"}) as ws:
                try:
                    await ws.recv()
                except websockets.ConnectionClosed as closed:
                    return closed.rcvd.code
            return None

        assert asyncio.run(asyncio.wait_for(connect(), timeout=10)) == 4100
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
