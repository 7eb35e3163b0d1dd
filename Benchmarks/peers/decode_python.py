#!/usr/bin/env python3
"""Decode benchmark of the Python peers: the corpus written by `streamkit-bench --write-corpus`, decoded frame by
frame with orjson and with the standard library's json, reading every payload and envelope field (numbers as
floats), as a Python consumer of the stream would.

The timed pass parses and reads every field; a separate pass (not timed) folds the values into the benchmark's
checksum (schema from scripts/channels_schema.py, mixing as Sources/StreamKitTestSupport/Checksum.swift) and
compares it with StreamKit's reference in the corpus: equal means every double was correctly rounded.

Usage: decode_python.py CORPUS [--rounds N] [--markdown FILE]
"""

import argparse
import json
import os
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from channels_schema import PAYLOADS, POOL_WINDOW, TOKEN_WINDOW  # noqa: E402

M64 = (1 << 64) - 1


def mix(index, bits):
    z = (bits + (index + 1) * 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 31)) * 0xBF58476D1CE4E5B9) & M64
    return z ^ (z >> 29)


def value_bits(kind, v):
    if kind == "double":
        return struct.unpack("<Q", struct.pack("<d", float(v)))[0]
    if kind == "int":
        return v & M64
    if kind == "text":
        return len(v.encode())
    return 1 if v else 2


CHANNELS = {p.channel: p for p in PAYLOADS}
WINDOW_FIELDS = {TOKEN_WINDOW.type: TOKEN_WINDOW.fields, POOL_WINDOW.type: POOL_WINDOW.fields}


def fields_checksum(obj, fields):
    h = 0
    for i, f in enumerate(fields):
        v = obj.get(f.wire)
        if v is not None:
            h += mix(i, value_bits(f.kind, v))
    return h


def frame_checksum(frame):
    h = 0
    if frame.get("ts") is not None:
        h += mix(100, frame["ts"] & M64)
    params = frame.get("params") or {}
    if "platform_id" in params:
        h += mix(101, params["platform_id"] & M64)
    if "crypto_ids" in params:
        h += mix(102, params["crypto_ids"] & M64)
    for k in ("address", "pool_address", "wallet_address"):
        if k in params:
            h += mix(103, len(params[k].encode()))
            break
    if "interval" in params:
        h += mix(104, len(params["interval"].encode()))
    p = CHANNELS.get(frame.get("channel"))
    data = frame.get("data")
    if p is None or not isinstance(data, dict):
        return h & M64
    h += fields_checksum(data, p.fields)
    if p.windows:
        wf = WINDOW_FIELDS[p.windows.type]
        if p.windows.style == "array":
            for w in data.get(p.windows.wire) or []:
                if isinstance(w, dict):
                    h += fields_checksum(w, wf)
        else:
            for _, name in p.windows.names:
                w = data.get(name)
                if isinstance(w, dict):
                    h += fields_checksum(w, wf)
    return h & M64


# What the timed pass reads: per channel the payload keys, and the window keys.
READ = {p.channel: ([f.wire for f in p.fields], p.windows) for p in PAYLOADS}


def read_every_field(frame):
    """Touches every field as a consumer would (the values, not a checksum): returns how many were present."""
    n = 0
    for k in ("ts", "params"):
        if frame.get(k) is not None:
            n += 1
    entry = READ.get(frame.get("channel"))
    data = frame.get("data")
    if entry is None or not isinstance(data, dict):
        return n
    keys, windows = entry
    for k in keys:
        if data.get(k) is not None:
            n += 1
    if windows:
        wkeys = [f.wire for f in WINDOW_FIELDS[windows.type]]
        ws = (data.get(windows.wire) or []) if windows.style == "array" else [data.get(w) for _, w in windows.names]
        for w in ws:
            if isinstance(w, dict):
                for k in wkeys:
                    if w.get(k) is not None:
                        n += 1
    return n


def load(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"SKCORPUS", "not a corpus written by streamkit-bench --write-corpus"
    reference, count = struct.unpack_from("<QI", raw, 8)
    off, frames = 20, []
    for _ in range(count):
        (n,) = struct.unpack_from("<I", raw, off)
        frames.append(raw[off + 4:off + 4 + n])
        off += 4 + n
    return reference, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown")
    args = ap.parse_args()
    reference, frames = load(args.corpus)
    nbytes = sum(len(f) for f in frames)
    decoders = [("json (standard library)", json.loads)]
    try:
        import orjson
        decoders.insert(0, (f"orjson {orjson.__version__}", orjson.loads))
    except ImportError:
        print("orjson is not installed (pip install orjson): skipped", file=sys.stderr)
    rows = []
    for name, loads in decoders:
        times = []
        for _ in range(args.rounds + 1):
            t0 = time.perf_counter()
            for f in frames:
                read_every_field(loads(f))
            times.append((time.perf_counter() - t0) / len(frames) * 1e9)
        times = sorted(times[1:])
        check = sum(frame_checksum(loads(f)) for f in frames) & M64
        rows.append((name, statistics.median(times), times[0], times[-1], check == reference))
    table = ("| decoder | ns/msg (median) | min | max | MB/s | doubles correctly rounded |\n"
             "|---|---:|---:|---:|---:|---|\n")
    for name, med, lo, hi, exact in rows:
        table += (f"| {name} | {med:.0f} | {lo:.0f} | {hi:.0f} | {nbytes / len(frames) / med * 1e3:.0f} | "
                  f"{'yes (checksum = StreamKit' + chr(39) + 's)' if exact else 'NO (checksum differs)'} |\n")
    print(table)
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write("\n## Decode in Python (same corpus)\n\n`Benchmarks/peers/decode_python.py`: each frame parsed "
                     "into Python objects and every payload and envelope field read, median of "
                     f"{args.rounds} passes (Python {sys.version.split()[0]}). Correct rounding is checked by "
                     "folding the values into the benchmark checksum (not timed).\n\n" + table)
    if not all(r[4] for r in rows):
        print("a Python decoder disagrees with StreamKit's reference checksum", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
