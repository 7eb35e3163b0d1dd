"""The `streamkit` command from outside: decode, watch, record, replay and sim."""

import json
import os
import subprocess

STREAMKIT = os.environ.get("STREAMKIT_BIN", "streamkit")

OFFICIAL_TRANSACTION = (
    '{ "type": "data", "channel": "onchain@transaction", "params": { "platform_id": 14, "address": '
    '"0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" }, "data": { "pid": 14, "f": "0xdb1d10011ad0ff90774d0c6bb92e5c5c8b4461f7", '
    '"bh": 98011237, "tp": "sell", "pa": "0x2f4a644cd20eb9f45fa166dbb87068697fe8e6e3", "t0a": '
    '"0x5feccd17c393caf1001d18164236a37e731fcb9d", "t1a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "t0s": "USDC", '
    '"t1s": "WBNB", "vu": 167.11650988683866, "q": 0.2876839934391258, "t0pu": 0.28760994330122636, "t1pu": '
    '0.9997425990337028, "tx": "0xade908a367c85915a89719ddce9e95a864bd2c9691bb28c6d6b86d907181f7aa", "ts": 1778659192000, '
    '"ma": "0x28e2ea090877bf75740558f6bfb36a5ffee9e9df", "ba": "0x55d398326f99059ff775485246999027b3197955", "a0": '
    '8.581676894301156, "a1": 0.9999663716704877, "qi": 0, "tii": 0, "lgid": 59, "ex": false, "txtp": 0 }, "ts": 1778663880111 }'
)
OFFICIAL_PRICE = (
    '{ "type": "data", "channel": "market@crypto_latest_price", "params": { "crypto_ids": 1 }, "data": { "cid": 1, "p": '
    '81187.93284788371, "vu": 29932025976.79, "mc": 1626089237758.01, "cs": 20028706, "p24h": 0.534347439686, "p7d": '
    '-0.769630510488, "p30d": 14.825850522161, "p60d": 14.895817222241, "p3m": 20.814087592967, "p1y": -21.146722852984, '
    '"pytd": -8.280487978902, "pall": 131301167.42003132, "fdv24h": 0.534347439686 }, "ts": 1778663880111 }'
)
OFFICIAL_ERROR = (
    '{"type":"error","id":1,"status":{"timestamp":"2026-05-21T01:57:09.125Z","error_code":"2401","category":"PROTOCOL",'
    '"error_message":"Missing required param for channel.","error_detail":"Param \'crypto_ids\' is required for channel '
    '\'market@crypto_latest_price\'."}}'
)


def decode(lines):
    out = subprocess.run([STREAMKIT, "decode"], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()], out.stderr


def test_decode_official_examples_gives_their_exact_values():
    (tx, price, err), _ = decode([OFFICIAL_TRANSACTION, OFFICIAL_PRICE, OFFICIAL_ERROR])
    source_tx = json.loads(OFFICIAL_TRANSACTION)
    source_price = json.loads(OFFICIAL_PRICE)
    # Python's float parsing is correctly rounded: the decoded doubles must equal the source's.
    assert tx["data"] == source_tx["data"]
    assert price["data"] == source_price["data"]
    assert tx["params"] == source_tx["params"] and tx["ts"] == 1778663880111
    assert err["status"]["error_code"] == 2401 and err["id"] == 1


def test_decode_reports_garbage_and_goes_on():
    lines = ["garbage", OFFICIAL_PRICE, '{"type":"data","channel":"x"', '{"type":"pong","id":3,"code":0,"ts":5}']
    out, err = decode(lines)
    assert [o["type"] for o in out] == ["invalid", "data", "invalid", "pong"]
    assert "offset" in out[0] and out[2]["reason"]
    assert "4 frames, 2 invalid" in err


def test_decode_keeps_the_sign_of_negative_zero():
    """Issue #20, point 9: -0 is written -0.0, which Python reads as the float -0.0 (as `-0` it would read the
    integer 0 and lose the sign)."""
    import math
    (price,), _ = decode(['{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},'
                          '"data":{"cid":1,"p":-0,"p24h":-0.0,"mc":0},"ts":1}'])
    for key in ("p", "p24h"):
        assert isinstance(price["data"][key], float) and math.copysign(1, price["data"][key]) == -1, key
    assert price["data"]["mc"] == 0


CHANNEL_ARGS = {
    "market@crypto_latest_price": ["--ids", "1,1027"],
    "onchain@token_agg_event": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
    "onchain@transaction": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
    "onchain@liquidity_event": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
    "onchain@kline": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "--interval", "1s"],
    "onchain@token_metric": ["--platform", "16", "--address", "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H"],
    "onchain@pool_metric": ["--platform", "16", "--pool", "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H"],
    "onchain@unique_trader": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "--interval", "1s"],
    "onchain@holders_metrics": ["--platform", "14", "--address", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
    "onchain@holder_wallet_update": ["--platform", "16", "--wallet", "6p6xgHyF7AeE6TZkSmFsko444wqoP15icUSqi2jfGiPN"],
}


# Lines to wait for per channel: liquidity events come every 10-40 s per pool in the simulated market (exponential
# gaps), so two of them within the 40 s are likely, not certain (a fresh-clone CI run saw one).
NEEDED = {"onchain@liquidity_event": 1}


def test_watch_json_is_valid_ndjson_for_every_channel():
    env = {k: v for k, v in os.environ.items() if k != "CMC_API_KEY"}
    procs = {
        channel: subprocess.Popen([STREAMKIT, "watch", channel, *args, "--json", "--count", str(NEEDED.get(channel, 2)),
                                   "--duration", "40"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for channel, args in CHANNEL_ARGS.items()
    }
    for channel, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"{channel}: {err}"
        assert "embedded simulator" in err
        lines = out.splitlines()
        assert len(lines) >= NEEDED.get(channel, 2), f"{channel}: {err}"
        for line in lines:
            frame = json.loads(line)
            assert frame["type"] == "data" and frame["channel"] == channel
            assert isinstance(frame["data"], dict) and frame["data"]


def run_cli(*args, timeout=90):
    env = {k: v for k, v in os.environ.items() if k != "CMC_API_KEY"}
    out = subprocess.run([STREAMKIT, *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stderr
    return out


def test_record_then_replay_gives_the_same_messages(tmp_path):
    cap = tmp_path / "cap.ndjson"
    # A tiny rotation size, so the capture spans several files: cap.ndjson, cap.1.ndjson, cap.2.ndjson, ...
    rec = run_cli("record", "onchain@transaction", "--platform", "14", "--address",
                  "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "--out", str(cap), "--count", "12",
                  "--duration", "60", "--rotate-mb", "0.004")
    assert "embedded simulator" in rec.stderr
    files = [cap] + sorted(tmp_path.glob("cap.*.ndjson"), key=lambda p: int(p.suffixes[0][1:]))
    assert len(files) >= 2, rec.stderr
    lines = [[json.loads(line) for line in f.read_text().splitlines()] for f in files]
    for i, file_lines in enumerate(lines):  # every file opens with the header
        header = file_lines[0]
        assert header["capture"] == "streamkit" and header["format"] == 1 and header["part"] == i
        assert header["subscriptions"] == [{"channel": "onchain@transaction", "platform_id": 14,
                                            "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"}]
    records = [r for file_lines in lines for r in file_lines[1:]]
    assert all(isinstance(r["t"], int) and r["t"] > 1_700_000_000_000_000_000 for r in records)
    assert [r["t"] for r in records] == sorted(r["t"] for r in records)
    events = [r["e"] for r in records if "e" in r]
    assert events[:3] == ["connecting", "connected", "welcome"] and "subscribed" in events
    frames = [r["f"] for r in records if "f" in r]
    assert json.loads(frames[0])["type"] == "welcome"  # every frame, not only data
    data_frames = [f for f in frames if json.loads(f).get("type") == "data"]
    assert len(data_frames) >= 12

    replay = run_cli("replay", *map(str, files), "--max", "--json")
    out = [json.loads(line) for line in replay.stdout.splitlines()]
    replayed = [r for r in out if "e" not in r]
    assert [r["e"] for r in out if "e" in r] == events  # the story, in place
    assert len(replayed) == len(data_frames)
    for got, frame in zip(replayed, data_frames):
        source = json.loads(frame)
        assert got["channel"] == source["channel"] and got["ts"] == source["ts"]
        assert got["data"] == source["data"]  # exact values, doubles included
    decoded, _ = decode(data_frames)
    assert decoded == replayed  # the same decode path as `decode`
    assert "frames/s" in replay.stderr
    # A glob finds the files and orders them by their headers, whatever order the shell gives.
    stats = run_cli("replay", str(tmp_path / "cap*.ndjson"), "--stats")
    assert stats.stdout.split() == ["onchain@transaction", str(len(data_frames))]
    assert f"{len(files)} file(s)" in stats.stderr and "frames/s" in stats.stderr


def test_compressed_capture_with_time_rotation_reads_like_the_plain_one(tmp_path):
    rec = run_cli("record", "market@crypto_latest_price", "--ids", "1,1027", "--out", str(tmp_path / "p.ndjson.zst"),
                  "--rotate", "1s", "--count", "8", "--duration", "60")
    files = sorted(tmp_path.glob("p-*.ndjson.zst"))
    assert len(files) >= 2, rec.stderr  # 1 s periods over several seconds of pushes
    assert all(len(f.name) == len("p-2026-12-03T10-15-30.ndjson.zst") for f in files)
    # Each file is standard zstd, and starts with the header.
    plain = []
    for f in files:
        text = subprocess.run(["zstd", "-dc", str(f)], capture_output=True, check=True, timeout=30).stdout.decode()
        first = json.loads(text.splitlines()[0])
        assert first["capture"] == "streamkit"
        plain.append(text)
    (tmp_path / "all.ndjson").write_text("".join(plain))
    compressed = run_cli("replay", str(tmp_path / "p-*.ndjson.zst"), "--max", "--json")
    uncompressed = run_cli("replay", str(tmp_path / "all.ndjson"), "--max", "--json")
    assert compressed.stdout == uncompressed.stdout and compressed.stdout.count('"type":"data"') >= 8
    # A file cut mid-way (a crash) reads up to the cut and says so.
    whole = files[-1].read_bytes()
    (tmp_path / "cut.ndjson.zst").write_bytes(whole[: len(whole) // 2])
    cut = run_cli("replay", str(tmp_path / "cut.ndjson.zst"), "--max", "--json")
    assert "cut mid-" in cut.stderr and "cut short" in cut.stderr


def test_replay_skips_broken_capture_lines(tmp_path):
    cap = tmp_path / "broken.ndjson"
    good = json.dumps({"t": 1_796_000_000_000_000_000, "c": 0, "f": OFFICIAL_PRICE})
    cap.write_text("\n".join(["not json", good, '{"t":1}', good]) + "\n")
    replay = run_cli("replay", str(cap), "--max", "--json")
    assert len(replay.stdout.splitlines()) == 2
    assert "2 frames: 2 data" in replay.stderr and "2 lines skipped" in replay.stderr


def test_sim_serves_wss_with_a_pem_key_of_any_name(tmp_path):
    """`sim --tls-key` takes PEM, as its help says, whatever the file is called (a `.key` file included)."""
    import asyncio
    import ssl

    import websockets

    cert, key = tmp_path / "cert.pem", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    bad = subprocess.run([STREAMKIT, "sim", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(cert)],
                         capture_output=True, text=True, timeout=30)  # a certificate is no key: a clear error
    assert bad.returncode != 0 and "PrivateKey" in bad.stderr

    sim = subprocess.Popen([STREAMKIT, "sim", "--port", "0", "--api-key", "tls-test", "--tls-cert", str(cert),
                            "--tls-key", str(key)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().strip()
        assert url.startswith("wss://"), sim.stderr.read() if sim.poll() is not None else url
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the certificate names localhost; the URL has 127.0.0.1

        async def first_frame():
            async with websockets.connect(url, ssl=context, additional_headers={"X-CMC_PRO_API_KEY": "tls-test"}) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 10))

        assert asyncio.run(first_frame())["type"] == "welcome"
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def test_sim_replay_serves_a_capture_to_the_subscribed_targets_only(tmp_path):
    """`record`, then `sim --replay` of that capture, then `record` from it: the recorded frames of the ids asked for."""
    cap = tmp_path / "prices.ndjson.zst"
    rec = run_cli("record", "market@crypto_latest_price", "--ids", "1,1027", "--out", str(cap), "--count", "12",
                  "--duration", "60")
    assert "embedded simulator" in rec.stderr
    plain = subprocess.run(["zstd", "-dc", str(cap)], capture_output=True, check=True).stdout.decode().splitlines()
    recorded = [json.loads(r)["f"] for r in plain[1:] if '"f":' in r]
    wanted = [f for f in recorded if json.loads(f).get("type") == "data" and json.loads(f)["params"]["crypto_ids"] == 1027]
    assert len(wanted) >= 3, plain

    bad = subprocess.run([STREAMKIT, "sim", "--port", "0", "--replay", str(tmp_path / "nothing-*.ndjson")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "nothing-" in bad.stderr, bad.stderr
    # `record --url` sends CMC_API_KEY, else "streamkit-demo" (run_cli clears CMC_API_KEY).
    sim = subprocess.Popen([STREAMKIT, "sim", "--port", "0", "--api-key", "streamkit-demo", "--replay", str(cap), "--max"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().strip()
        assert url.startswith("ws://"), sim.stderr.read() if sim.poll() is not None else url
        again = tmp_path / "again.ndjson"
        run_cli("record", "market@crypto_latest_price", "--ids", "1027", "--url", url, "--out", str(again),
                "--count", str(len(wanted)), "--duration", "60")
        served = [json.loads(r)["f"] for r in again.read_text().splitlines()[1:] if '"f":' in r]
        assert [f for f in served if json.loads(f).get("type") == "data"] == wanted  # byte for byte, ts included
    finally:
        sim.terminate()
        _, err = sim.communicate(timeout=10)
    assert "replay finished" in err and f"{len(wanted)} of " in err, err
