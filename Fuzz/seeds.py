#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora: the reference's examples (from Tests/StreamKitTests/Examples.swift, which
holds them verbatim) for the decoder, short protocol scripts built from them for the session engine, and
WebSocket streams carrying them (whole, fragmented, between pings, closed) for the WebSocket parser.

Usage: python3 Fuzz/seeds.py OUT_DIR   (writes OUT_DIR/decoder/*, OUT_DIR/session/* and OUT_DIR/websocket/*)
"""

import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "Tests", "StreamKitTests", "Examples.swift")


def examples():
    text = open(EXAMPLES).read()
    return [m.group(1).encode() for m in re.finditer(r'#"""\n(.*?)\n"""#', text, re.S)]


def frame(payload: bytes) -> bytes:
    return bytes([2]) + struct.pack("<H", len(payload)) + payload


def ws(opcode: int, payload: bytes, fin: bool = True, form: str = "minimal") -> bytes:
    """A WebSocket frame as a server sends it (unmasked), its length in the minimal form or a longer one."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if form == "minimal" and n < 126:
        head += bytes([n])
    elif form != "64" and n <= 0xFFFF:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def websocket_seeds(ex):
    """Streams for FuzzWebSocket: two bytes (limit, split) then the stream."""
    welcome = b'{"type":"welcome","ping_interval_ms":10000}'
    seeds = []
    for i, e in enumerate(ex):
        third = max(1, len(e) // 3)
        fragmented = ws(1, e[:third], fin=False) + ws(9, b"ping") + ws(0, e[third:2 * third], fin=False) \
            + ws(10, b"") + ws(0, e[2 * third:])
        stream = ws(1, welcome) + ws(1, e, form="64") + fragmented + ws(2, bytes(range(200)), form="16") \
            + ws(8, struct.pack(">H", 1000) + "κόσμε".encode())
        seeds.append(bytes([7, i]) + stream)
        seeds.append(bytes([4, i]) + fragmented)
    # One of each kind of violation, behind a valid frame.
    bad = [ws(3, b""), ws(0, b"x"), ws(1, b"a", fin=False) + ws(1, b"b"), ws(9, b"", fin=False),
           bytes([0x89, 126, 0, 126]) + b"x" * 126, bytes([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 0]),
           bytes([0x81, 0x81, 1, 2, 3, 4, 0x60]), ws(8, b"\x03"), ws(8, struct.pack(">H", 1005)),
           ws(8, struct.pack(">H", 1000) + b"\xff"), ws(1, b"\xc0\x80"), ws(1, b"\xe2\x82", fin=False) + ws(0, b"\xac"),
           bytes([0xC1, 0])]
    for i, b in enumerate(bad):
        seeds.append(bytes([i, i]) + ws(1, welcome) + b)
    return seeds


def main():
    out = sys.argv[1]
    decoder = os.path.join(out, "decoder")
    session = os.path.join(out, "session")
    os.makedirs(decoder, exist_ok=True)
    os.makedirs(session, exist_ok=True)
    websocket = os.path.join(out, "websocket")
    os.makedirs(websocket, exist_ok=True)
    ex = examples()
    for i, e in enumerate(ex):
        open(os.path.join(decoder, f"example-{i:02d}.json"), "wb").write(e)
    # What the decoder tolerates (issue #20): null and mistyped optional fields, a price without `cid`, data frames
    # without `channel` (classified by shape or not), envelope fields of the wrong type.
    tolerated = [
        b'{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":null,"vu":"12.5"},"ts":1}',
        b'{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"p":1},"ts":1}',
        b'{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"0xa"},"data":{"tx":"0x1","tp":"buy","ex":0,"txtp":"1","bh":1.5},"ts":1}',
        b'{"type":"data","channel":"onchain@holders_metrics","params":{"platform_id":16,"address":"A"},"data":{"pid":16,"tp":"holder_count"}}',
        b'{"type":"data","channel":"onchain@token_metric","params":{},"data":{"sts":[1,{"win":"1h","vu":"x"}]}}',
        b'{"type":"data","params":{"crypto_ids":1},"data":{"cid":1,"p":2}}',
        b'{"type":"data","data":{"tx":"0x1","tp":"migrate"}}',
        b'{"type":"data","channel":7,"data":{"ut":1}}',
        b'{"type":"ack","id":"x","duplicate":"yes","ts":"x"}',
        b'{"type":1,"status":[]}',
    ]
    for i, t in enumerate(tolerated):
        open(os.path.join(decoder, f"tolerated-{i:02d}.json"), "wb").write(t)
    welcome = b'{"type":"welcome","ping_interval_ms":10000}'
    ack = b'{"type":"ack","id":1,"code":0,"msg":"ok","channel":"market@crypto_latest_price","sub_count":1,"sub_limit":100}'
    start = bytes([6, 0, 0, 1]) + frame(welcome) + frame(ack)
    for i, e in enumerate(ex):
        script = start + frame(e) + bytes([5, 50]) + frame(e) + bytes([3, 0x03, 0xF3, 5, 20, 1]) + frame(welcome)
        open(os.path.join(session, f"script-{i:02d}.bin"), "wb").write(script)
    open(os.path.join(session, "fatal.bin"), "wb").write(start + bytes([3, 0x10, 0x04]))
    streams = websocket_seeds(ex)
    for i, w in enumerate(streams):
        open(os.path.join(websocket, f"stream-{i:02d}.bin"), "wb").write(w)
    print(f"{len(ex) + len(tolerated)} decoder seeds, {len(ex) + 1} session seeds, {len(streams)} websocket seeds in {out}")


if __name__ == "__main__":
    main()
