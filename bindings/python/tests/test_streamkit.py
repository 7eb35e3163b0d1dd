"""Tests of the installed streamkit package (not the source tree) against its in-process simulator."""

import asyncio
import ctypes
import gc
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import weakref
from decimal import Decimal

import pytest

import streamkit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
BSC = "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"
SOL = "So11111111111111111111111111111111111111112"


@pytest.fixture
def sim():
    with streamkit.Simulator(speed=50) as s:
        yield s


def take(client, predicate, timeout=20.0):
    """Iterates until predicate(items so far) holds; returns the items."""
    items = []
    deadline = time.monotonic() + timeout
    for item in client:
        items.append(item)
        if predicate(items) or time.monotonic() > deadline:
            break
    return items


def data(items):
    return [i for i in items if i.kind == "data"]


def test_installed_package_and_native_version():
    assert not os.path.abspath(streamkit.__file__).startswith(os.path.join(REPO, "bindings", "python", "streamkit"))
    assert streamkit.native_version == streamkit.__version__ and streamkit.__version__.count(".") == 2
    assert os.path.exists(streamkit.library_path)
    assert issubclass(streamkit.TimeoutError, TimeoutError)


CHANNELS = {
    "market@crypto_latest_price": dict(crypto_ids=[1, 1027]),
    "onchain@token_agg_event": dict(platform_id=14, address=BSC),
    "onchain@transaction": dict(platform_id=16, address=SOL),
    "onchain@liquidity_event": dict(platform_id=14, address=BSC),
    "onchain@kline": dict(platform_id=14, address=BSC, interval="1s"),
    "onchain@token_metric": dict(platform_id=14, address=BSC),
    "onchain@pool_metric": dict(platform_id=14, pool=BSC),
    "onchain@unique_trader": dict(platform_id=14, address=BSC, interval="1s"),
    "onchain@holders_metrics": dict(platform_id=14, address=BSC),
    "onchain@holder_wallet_update": dict(platform_id=16, wallet=SOL),
}


def test_every_channel_arrives_typed(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        for channel, kwargs in CHANNELS.items():
            client.subscribe(channel, **kwargs)
        items = take(client, lambda xs: {m.channel for m in data(xs)} >= set(CHANNELS), timeout=60)
    by_channel = {}
    for m in data(items):
        by_channel.setdefault(m.channel, m)
    assert set(by_channel) == set(CHANNELS)
    price = by_channel["market@crypto_latest_price"]
    assert price.data.cid in (1, 1027) and price.data.p == price.data.price > 0
    assert price.params["crypto_ids"] == price.data.cid and price.ts > 1_700_000_000_000
    assert isinstance(price.data, streamkit.CryptoLatestPrice)
    swap = by_channel["onchain@transaction"]
    assert swap.params == {"platform_id": 16, "address": SOL}
    assert swap.data.tx and swap.data.tp in ("buy", "sell") and swap.data.iix is not None
    assert swap.data.vu == float(swap.data.decimal("vu"))
    kline = by_channel["onchain@kline"]
    assert kline.params["interval"] == "1s" and kline.data.h >= kline.data.l
    metric = by_channel["onchain@token_metric"]
    assert metric.data.windows and all(w.to_dict() for w in metric.data.windows.values())
    sts = {w["win"]: w for w in json.loads(metric.raw, parse_float=Decimal)["data"]["sts"]}
    for name, w in metric.data.windows.items():  # a window's exact numbers are its own, not the payload's
        assert w.win == name and w.decimal("vu") == sts[name].get("vu")
    pool = by_channel["onchain@pool_metric"]
    assert pool.params["pool_address"] == BSC
    source = json.loads(pool.raw, parse_float=Decimal)["data"]
    for name, w in pool.data.windows.items():
        assert w.decimal("bvu") == source[name].get("bvu")
        assert w.bvu is None or w.bvu == float(source[name]["bvu"])
    # Each message's raw is its own frame, though a batch's frames are copied from native memory at once.
    assert len({m.raw for m in data(items)}) == len(data(items))
    assert all(m.raw.startswith(b"{") and m.raw.endswith(b"}") for m in data(items))
    holders = by_channel["onchain@holders_metrics"]
    assert holders.data.tp  # routed by tp
    for m in by_channel.values():
        source = json.loads(m.raw)
        for key, value in m.data.to_dict().items():
            if key != "windows":
                assert source["data"][key] == value, (m.channel, key)


def test_async_iteration(sim):
    async def main():
        with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
            client.subscribe("market@crypto_latest_price", crypto_ids=[1])
            got = []
            async for msg in client.stream():
                if msg.kind == "data":
                    got.append(msg.data.p)
                if len(got) == 3:
                    break
            return got

    got = asyncio.run(asyncio.wait_for(main(), 30))
    assert len(got) == 3 and all(p > 0 for p in got)


def test_async_with_and_async_for(sim):
    async def main():
        async with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
            client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
            got = []
            async for msg in client:  # the same as client.stream()
                if msg.kind == "data":
                    got.append(msg.data.cid)
                if len(got) == 4:
                    break
        return client, got

    client, got = asyncio.run(asyncio.wait_for(main(), 30))
    assert client.closed and set(got) <= {1, 1027} and len(got) == 4


def test_async_with_closes_off_the_event_loop(sim):
    """__aexit__ runs close() (which waits for the native client to stop) in a worker thread: the loop goes on."""

    class SlowToClose(streamkit.Client):
        def close(self):
            time.sleep(0.5)  # a close that takes a while, as one can when connections are slow to go
            super().close()

    async def main():
        ticks = []

        async def tick():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        ticker = asyncio.ensure_future(tick())
        async with SlowToClose(url=sim.url, api_key=sim.api_key) as client:
            client.subscribe("market@crypto_latest_price", crypto_ids=[1])
            await asyncio.sleep(0.05)
            before = len(ticks)
        during = len(ticks) - before
        ticker.cancel()
        return client, during

    client, during = asyncio.run(asyncio.wait_for(main(), 30))
    assert client.closed
    assert during >= 10, f"the event loop ran {during} times in a 0.5 s close: it was blocked"


def test_async_with_simulator():
    async def main():
        async with streamkit.Simulator(speed=50) as sim:
            async with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
                client.subscribe("market@crypto_latest_price", crypto_ids=[1])
                async for msg in client.stream():
                    if msg.kind == "data":
                        return msg.data.p

    assert asyncio.run(asyncio.wait_for(main(), 30)) > 0


def test_non_integer_crypto_id_is_an_invalid_argument_naming_it(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        with pytest.raises(streamkit.InvalidArgumentError, match=r"crypto_ids\[0\]") as e:
            client.subscribe("market@crypto_latest_price", crypto_ids=["x"])
    assert isinstance(e.value, streamkit.StreamKitError)


# (call, the error, the argument its message must name); `c` is a client, `s` the simulator, `m` a data message.
ARGUMENT_ERRORS = [
    (lambda c, s, m: streamkit.Client(url=5, api_key="k"), streamkit.InvalidURLError, "url"),
    (lambda c, s, m: streamkit.Client(url="http://example.com/v1", api_key="k"), streamkit.InvalidURLError, "url"),
    (lambda c, s, m: streamkit.Client(url="ws://h/v1\0x", api_key="k"), streamkit.InvalidURLError, "url"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key=5), streamkit.InvalidKeyError, "api_key"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k\r\n"), streamkit.InvalidKeyError, "api_key"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", max_connections=0), streamkit.InvalidArgumentError,
     "max_connections"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", max_connections=2 ** 40),
     streamkit.InvalidArgumentError, "max_connections"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", max_connections="3"), streamkit.InvalidArgumentError,
     "max_connections"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", subscriptions_per_connection=0),
     streamkit.InvalidArgumentError, "subscriptions_per_connection"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", queue_capacity=1.5), streamkit.InvalidArgumentError,
     "queue_capacity"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", overflow="never"), streamkit.InvalidArgumentError,
     "overflow"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", overflow=["block"]), streamkit.InvalidArgumentError,
     "overflow"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", ca_file=3), streamkit.InvalidArgumentError, "ca_file"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", seed=-1), streamkit.InvalidArgumentError, "seed"),
    (lambda c, s, m: streamkit.Client(url=s.url, api_key="k", batch="512"), streamkit.InvalidArgumentError, "batch"),
    (lambda c, s, m: c.subscribe(5, crypto_ids=[1]), streamkit.InvalidArgumentError, "channel"),
    (lambda c, s, m: c.subscribe("market@nothing", crypto_ids=[1]), streamkit.InvalidArgumentError, "channel"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=["x"]), streamkit.InvalidArgumentError,
     "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids="1,1027"), streamkit.InvalidArgumentError,
     "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=1.0), streamkit.InvalidArgumentError,
     "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[0]), streamkit.InvalidArgumentError,
     "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price"), streamkit.InvalidArgumentError, "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[1], address=BSC),
     streamkit.InvalidArgumentError, "crypto_ids"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[1], interval="1m"),
     streamkit.InvalidArgumentError, "interval"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[1], overflow="x"),
     streamkit.InvalidArgumentError, "overflow"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[1], timeout="10"),
     streamkit.InvalidArgumentError, "timeout"),
    (lambda c, s, m: c.subscribe("market@crypto_latest_price", crypto_ids=[1], timeout=float("nan")),
     streamkit.InvalidArgumentError, "timeout"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id=14), streamkit.InvalidArgumentError, "address"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id="14", address=BSC),
     streamkit.InvalidArgumentError, "platform_id"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id=0, address=BSC),
     streamkit.InvalidArgumentError, "platform_id"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id=14, address=[BSC, 5]),
     streamkit.InvalidArgumentError, "address[1]"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id=14, address=BSC.encode()),
     streamkit.InvalidArgumentError, "address"),
    (lambda c, s, m: c.subscribe("onchain@pool_metric", platform_id=14, pool=[BSC + "\0"]),
     streamkit.InvalidArgumentError, "pool[0]"),
    (lambda c, s, m: c.subscribe("onchain@transaction", platform_id=14, address=BSC, crypto_ids=[1]),
     streamkit.InvalidArgumentError, "crypto_ids"),
    (lambda c, s, m: c.subscribe("onchain@kline", platform_id=14, address=BSC, interval=60),
     streamkit.InvalidArgumentError, "interval"),
    (lambda c, s, m: c.subscribe("onchain@kline", platform_id=14, address=BSC, interval="7h"),
     streamkit.InvalidArgumentError, "interval"),
    (lambda c, s, m: c.subscribe("onchain@kline", platform_id=14, address=BSC), streamkit.InvalidArgumentError,
     "interval"),
    (lambda c, s, m: c.unsubscribe("market@crypto_latest_price", crypto_ids=["x"]), streamkit.InvalidArgumentError,
     "crypto_ids"),
    (lambda c, s, m: c.poll(-1), streamkit.InvalidArgumentError, "timeout"),
    (lambda c, s, m: c.poll("1"), streamkit.InvalidArgumentError, "timeout"),
    (lambda c, s, m: c.on_message("print"), streamkit.InvalidArgumentError, "callback"),
    (lambda c, s, m: c.subscription_metrics("market@crypto_latest_price", [1, 2]), streamkit.InvalidArgumentError,
     "crypto_id"),
    (lambda c, s, m: c.subscription_metrics("onchain@transaction", platform_id=14, address=[BSC]),
     streamkit.InvalidArgumentError, "address"),
    (lambda c, s, m: streamkit.Simulator(api_key=""), streamkit.InvalidArgumentError, "api_key"),
    (lambda c, s, m: streamkit.Simulator(port=70000), streamkit.InvalidArgumentError, "port"),
    (lambda c, s, m: streamkit.Simulator(port=int(s.url.split(":")[2].split("/")[0])),  # taken
     streamkit.InvalidArgumentError, "port"),
    (lambda c, s, m: streamkit.Simulator(speed=0), streamkit.InvalidArgumentError, "speed"),
    (lambda c, s, m: streamkit.Simulator(speed="fast"), streamkit.InvalidArgumentError, "speed"),
    (lambda c, s, m: streamkit.Simulator(rate=-5), streamkit.InvalidArgumentError, "rate"),
    (lambda c, s, m: streamkit.Simulator(seed=2 ** 64), streamkit.InvalidArgumentError, "seed"),
    (lambda c, s, m: s.inject("earthquake"), streamkit.InvalidArgumentError, "fault"),
    (lambda c, s, m: s.inject("close", 5), streamkit.InvalidArgumentError, "arg"),
    (lambda c, s, m: s.inject("oversized", "big"), streamkit.InvalidArgumentError, "arg"),
    (lambda c, s, m: streamkit.decode(5), streamkit.InvalidArgumentError, "frame"),
    (lambda c, s, m: m.data.decimal("nope"), streamkit.InvalidArgumentError, "key"),
    (lambda c, s, m: m.data.present(["p"]), streamkit.InvalidArgumentError, "key"),
    (lambda c, s, m: m.data.is_null(None), streamkit.InvalidArgumentError, "key"),
]


def test_every_argument_error_is_a_streamkit_error_naming_the_argument(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1])
        message = next(m for m in client if m.kind == "data")
        for n, (call, error, name) in enumerate(ARGUMENT_ERRORS):
            with pytest.raises(error) as e:
                call(client, sim, message)
            assert isinstance(e.value, streamkit.StreamKitError), n
            assert name in str(e.value), (n, name, str(e.value))
        # Nothing was refused for the wrong reason: the client still streams.
        assert any(m.kind == "data" for m in client.poll(10))


def test_unknown_field_stays_a_key_error():
    frame = '{"channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5}}'
    payload = streamkit.decode(frame).data
    with pytest.raises(KeyError):
        payload.decimal("nope")
    with pytest.raises(streamkit.InvalidArgumentError, match="key: CryptoLatestPrice has no field 'nope'"):
        payload.decimal("nope")


def test_errors_are_typed(sim):
    with pytest.raises(streamkit.InvalidKeyError):
        streamkit.Client(url=sim.url, api_key="")
    with pytest.raises(streamkit.InvalidKeyError) as e:
        streamkit.Client(url=sim.url, api_key="bad key\r\nX: y")
    assert "bad key" not in str(e.value)
    with pytest.raises(streamkit.InvalidURLError):
        streamkit.Client(url="http://example.com/v1", api_key="k")
    with pytest.raises(streamkit.InvalidArgumentError):
        streamkit.Client(url=sim.url, api_key="k", max_connections=0)
    with streamkit.Client(url=sim.url, api_key=sim.api_key, max_connections=1, subscriptions_per_connection=5) as c:
        with pytest.raises(streamkit.InvalidArgumentError):
            c.subscribe("market@nothing", crypto_ids=[1])
        with pytest.raises(streamkit.InvalidArgumentError):
            c.subscribe("onchain@kline", platform_id=14, address=BSC, interval="7h")
        with pytest.raises(streamkit.InvalidArgumentError):
            c.subscribe("onchain@transaction", platform_id=14)
        with pytest.raises(streamkit.CapacityError):
            c.subscribe("market@crypto_latest_price", crypto_ids=range(1, 20))
        c.subscribe("market@crypto_latest_price", crypto_ids=[1])
        m = c.subscription_metrics("market@crypto_latest_price", 1)
        assert m["last_update_age_ms"] >= -1
    with pytest.raises(streamkit.StoppedError):
        c.subscribe("market@crypto_latest_price", crypto_ids=[1])
    for cls in (streamkit.MisuseError, streamkit.CapacityError, streamkit.FatalError, streamkit.TLSError):
        assert issubclass(cls, streamkit.StreamKitError)
    # One class per status of the C library, each carrying its status, none left to the generic class.
    from streamkit._native import lib
    from streamkit.errors import error_for
    statuses = [s for s in range(1, 64) if lib.sk_status_string(s) != b"unknown status"]
    assert statuses == list(range(1, 14))
    for status in statuses:
        err = error_for(status, "x")
        assert type(err) is not streamkit.StreamKitError and err.status == status


def test_refused_key_ends_in_one_fatal_error(sim):
    with streamkit.Client(url=sim.url, api_key="nope") as client:
        with pytest.raises((streamkit.SubscriptionFailedError, streamkit.StoppedError)):
            client.subscribe("market@crypto_latest_price", crypto_ids=[1], timeout=5)
        seen, reasons = [], {}
        with pytest.raises(streamkit.FatalError):
            for item in client:
                seen.append(item.kind)
                reasons[item.kind] = item.reason
        assert seen.count("fatal") == 1 and "reconnecting" not in seen
        # The simulator closes with 4100 (key invalid): the reason from the one table, the code the detail.
        assert reasons["fatal"] == "closed_by_server"
        assert all(reason is None for kind, reason in reasons.items() if kind != "fatal")
        assert client.metrics()["reconnects"] == 0


def test_gap_and_reconnect_events_under_faults(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1])
        take(client, lambda xs: len(data(xs)) >= 1)
        sim.inject("drop")
        items = take(client, lambda xs: any(i.kind == "gap" for i in xs) and len(data(xs)) >= 2)
        kinds = [i.kind for i in items]
        assert "reconnecting" in kinds and "gap" in kinds
        gap = next(i for i in items if i.kind == "gap")
        assert gap.params == {"crypto_ids": 1} and gap.gap >= 0
        reconnecting = next(i for i in items if i.kind == "reconnecting")
        assert reconnecting.reason in streamkit.DISCONNECT_REASONS and gap.reason == reconnecting.reason
        first_data_after = next(n for n, i in enumerate(items) if i.kind == "data")
        assert kinds.index("gap") < first_data_after  # the gap marker precedes the data after it
        assert client.metrics()["reconnects"] == 1
        assert sim.counters()["connections"] == 2


def test_simulator_accepts_every_fault_name(sim):
    names = ["drop", "stall", "close", "error_5001", "malformed", "oversized", "duplicate", "pong_delay",
             "null_price", "holder_without_ts", "mistyped", "array_echo", "subscribe_error", "error_5001_then_ack",
             "ping_interval"]
    args = {"close": 1011, "oversized": 100, "ping_interval": 60000}
    for name in names:  # no connection is open: only ping_interval has an effect, reset below
        sim.inject(name, args.get(name, 0))
    sim.inject("array_echo", 3)
    sim.inject("subscribe_error", 2302)
    sim.inject("error_5001_then_ack", 2)
    sim.inject("ping_interval", 0)
    for name, arg in [("array_echo", -1), ("subscribe_error", 42), ("error_5001_then_ack", 1001),
                      ("ping_interval", -1), ("ping_interval", 86400001)]:
        with pytest.raises(streamkit.InvalidArgumentError, match="arg"):
            sim.inject(name, arg)
    with pytest.raises(streamkit.StreamKitError, match="fault"):
        sim.inject("subscribe-error")  # the CLI's spelling is not Python's
    with pytest.raises(streamkit.StreamKitError, match="fault"):
        sim.inject("earthquake")


def test_subscribe_error_fails_that_subscription_only(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1])
        take(client, lambda xs: len(data(xs)) >= 1)
        sim.inject("subscribe_error")
        with pytest.raises(streamkit.SubscriptionFailedError):
            client.subscribe("market@crypto_latest_price", crypto_ids=[1027], timeout=5)
        items = take(client, lambda xs: len(data(xs)) >= 2)
        assert all(m.data.cid == 1 for m in data(items))
        assert len(data(items)) >= 2
        assert sim.counters()["connections"] == 1


def test_decimal_is_exact(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
        msgs = data(take(client, lambda xs: len(data(xs)) >= 6))
    for m in msgs:
        text = json.loads(m.raw, parse_float=str)["data"]["p"]
        assert m.data.decimal("price") == Decimal(text)  # exactly as sent
        assert m.data.p == float(text)  # and the float correctly rounded
        assert m.json["data"]["p"] == Decimal(text)


def test_callback_delivery(sim):
    got = []
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.on_message(got.append)
        client.subscribe("market@crypto_latest_price", crypto_ids=[1])
        deadline = time.monotonic() + 20
        while len(data(got)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(data(got)) >= 3


def test_gc_while_streaming(sim):
    client = streamkit.Client(url=sim.url, api_key=sim.api_key)
    client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
    take(client, lambda xs: len(data(xs)) >= 2)
    ref = weakref.ref(client)
    del client
    gc.collect()
    assert ref() is None
    # The native client is gone: the simulator sees its connection close.
    deadline = time.monotonic() + 10
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as again:  # and everything still works
        again.subscribe("market@crypto_latest_price", crypto_ids=[1])
        assert data(take(again, lambda xs: len(data(xs)) >= 1))
    assert time.monotonic() < deadline


@pytest.mark.parametrize("mode", ["iterating", "callback", "abandoned"])
def test_exit_while_streaming(mode):
    script = textwrap.dedent(f"""
        import streamkit, sys
        sim = streamkit.Simulator(rate=2000)
        client = streamkit.Client(url=sim.url, api_key=sim.api_key)
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
        mode = {mode!r}
        if mode == "callback":
            client.on_message(lambda m: None)
            import time; time.sleep(0.5)
        n = 0
        for msg in client:
            n += 1
            if n > 500:
                break
        print("exiting with messages still arriving", flush=True)
        if mode == "abandoned":
            del client
        sys.exit(0)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert "exiting" in out.stdout


def test_ctypes_layout_matches_the_header(tmp_path):
    """The raw layer mirrors include/streamkit.h: compare sizes and offsets with the C compiler's."""
    from streamkit import _native, _payloads
    checks = {
        "sizeof(sk_message)": ctypes.sizeof(_native.sk_message),
        "offsetof(sk_message, data)": _native.sk_message.data.offset,
        "offsetof(sk_message, event)": _native.sk_message.event.offset,
        "offsetof(sk_message, text_outside_raw)": _native.sk_message.text_outside_raw.offset,
        "offsetof(sk_message, subscriptions)": _native.sk_message.subscriptions.offset,
        "offsetof(sk_message, reason)": _native.sk_message.reason.offset,
        "sizeof(sk_metrics)": ctypes.sizeof(_native.sk_metrics),
        "sizeof(sk_subscription_metrics)": ctypes.sizeof(_native.sk_subscription_metrics),
        "sizeof(sk_subscription)": ctypes.sizeof(_native.sk_subscription),
        "sizeof(sk_payload)": ctypes.sizeof(_payloads.sk_payload),
    }
    for number, (_, _, struct, _, _) in _payloads.CHANNELS.items():
        checks[f"sizeof({struct})"] = ctypes.sizeof(getattr(_payloads, struct))
        last = getattr(_payloads, struct)._fields_[-1][0]
        checks[f"offsetof({struct}, {last})"] = getattr(getattr(_payloads, struct), last).offset
    src = tmp_path / "layout.c"
    src.write_text('#include <stdio.h>\n#include <stddef.h>\n#include "streamkit.h"\nint main(void) {\n' +
                   "".join(f'    printf("%zu\\n", (size_t)({expr}));\n' for expr in checks) + "    return 0;\n}\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c99", "-I", os.path.join(REPO, "include"), str(src), "-o", str(exe)], check=True)
    values = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    assert dict(zip(checks, values)) == checks


def test_decode_single_frames():
    """streamkit.decode: one frame without a client, typed like a streamed one, with exact decimals."""
    price = streamkit.decode('{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},'
                             '"data":{"cid":1,"p":81187.93284788371,"p24h":"0.53","vu":null},"ts":1778663880111}')
    assert isinstance(price.data, streamkit.CryptoLatestPrice) and price.channel == "market@crypto_latest_price"
    assert price.params == {"crypto_ids": 1} and price.ts == 1778663880111
    assert price.data.p == 81187.93284788371 and price.data.decimal("p") == Decimal("81187.93284788371")
    # A quoted number is not a number: the field reads as None and says it was mistyped.
    assert price.data.p24h is None and price.data.decimal("p24h") is None and price.data.is_mistyped("p24h")
    assert not price.data.present("p24h") and price.data.mistyped == ("p24h",)
    assert price.data.vu is None and price.data.is_null("vu") and price.data.decimal("vu") is None
    assert not price.data.is_mistyped("vu") and not price.data.is_mistyped("p")
    assert price.raw.startswith(b'{"type":"data"')
    assert streamkit.decode(b'{"type":"pong","id":1,"code":0}') is None
    with pytest.raises(streamkit.InvalidFrameError, match="offset|byte"):
        streamkit.decode(b'{"type":"data","channel":')
    with pytest.raises(streamkit.InvalidArgumentError):
        streamkit.decode(12)


def test_null_and_mistyped_fields_read_as_none():
    """Issue #20: `p` may be null or absent, a holder push may lack `ts`, and a field of the wrong JSON type reads
    as None with its mistyped bit; the rest of the payload is intact."""
    price = streamkit.decode('{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},'
                             '"data":{"cid":1,"p":null,"vu":"12.5"},"ts":1}')
    assert price.data.cid == 1 and price.data.price is None and price.data.is_null("p")
    assert price.data.vu is None and price.data.mistyped == ("vu",)
    swap = streamkit.decode('{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"x"},'
                            '"data":{"pid":14,"tx":"0x1","ex":0,"txtp":"1","vu":2.5},"ts":1}')
    assert swap.data.ex is None and swap.data.txtp is None and swap.data.vu == 2.5
    assert swap.data.mistyped == ("ex", "txtp") and swap.data.is_mistyped("ex")
    holder = streamkit.decode('{"type":"data","channel":"onchain@holders_metrics","params":{"platform_id":16,'
                              '"address":"A"},"data":{"pid":16,"a":"A","tp":"holder_count"},"ts":1}')
    assert holder.data.ts is None and holder.data.pid == 16 and holder.data.mistyped == ()
    unattributed = streamkit.decode('{"type":"data","data":{"x":1},"ts":1}')
    assert unattributed.channel is None and unattributed.data is None


def test_repeated_keys_read_alike_in_fields_and_decimals():
    """Where a key is repeated the last value counts, in the typed fields and in decimal() alike."""
    metric = streamkit.decode('{"type":"data","channel":"onchain@token_metric","params":{},"data":{"pid":1,"a":"x",'
                              '"p":null,"p":0.5,"sts":[{"win":"1h","vu":1.25,"txs":4},{"win":"1h","vu":2.75}]},"ts":1}')
    assert metric.data.p == 0.5 and metric.data.decimal("p") == Decimal("0.5")
    h1 = metric.data.windows["1h"]
    assert h1.vu == 2.75 and h1.decimal("vu") == Decimal("2.75")
    assert h1.txs is None and h1.decimal("txs") is None
    pool = streamkit.decode('{"type":"data","channel":"onchain@pool_metric","params":{},"data":{"pid":1,"pa":"x",'
                            '"1h":{"bvu":1.5,"ut":3},"1h":{"bvu":2.5}},"ts":1}')
    w = pool.data.windows["1h"]
    assert (w.bvu, w.ut) == (2.5, 3) and (w.decimal("bvu"), w.decimal("ut")) == (Decimal("2.5"), Decimal(3))


def test_messages_are_plain_values_that_pickle_and_outlive_their_batch(sim):
    """Messages are built by one unpickler load per batch: they are values of their own (kept after later polls and
    after close), survive pickling (for multiprocessing) with their fields, windows and exact decimals, and a text
    with escapes reads decoded."""
    import pickle
    kept = []
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
        for msg in client:
            if msg.kind == "data":
                kept.append(msg)
                if len(kept) == 50:
                    break
    assert len({id(m) for m in kept}) == 50
    for msg in kept:
        assert msg.channel == "market@crypto_latest_price" and msg.data.cid in (1, 1027)
        assert msg.params == {"crypto_ids": msg.data.cid} and msg.data.price == msg.data.p
        assert json.loads(msg.raw)["data"]["cid"] == msg.data.cid
        back = pickle.loads(pickle.dumps(msg))
        assert type(back) is type(msg) and type(back.data) is type(msg.data)
        assert back.data.to_dict() == msg.data.to_dict() and back.raw == msg.raw and back.ts == msg.ts
        assert back.data.decimal("p") == msg.data.decimal("p") == Decimal(json.loads(msg.raw, parse_float=str)["data"]["p"])
    metric = streamkit.decode('{"type":"data","channel":"onchain@token_metric","params":{"platform_id":14,'
                              '"address":"0xab"},"data":{"pid":14,"a":"0x\\u0061b","sts":[{"win":"1h","vu":1.25}]},'
                              '"ts":1}')
    assert metric.data.a == "0xab" and metric.params == {"platform_id": 14, "address": "0xab"}
    back = pickle.loads(pickle.dumps(metric))
    assert back.data.windows["1h"].vu == 1.25 and back.data.windows["1h"].window == "1h"
    assert back.data.windows["1h"].decimal("vu") == Decimal("1.25") and back.data.present("a")
    assert not back.data.present("p") and back.data.p is None and back.data.unknown_keys == 0


def test_objects_compare_by_identity_and_read_their_bookkeeping_from_the_end():
    """Messages, payloads and events hash and compare as objects (a set of messages works, two decodes of one
    frame are two messages); a payload from a newer library with an appended field still reads right, and a class
    ID this version does not know resolves to the generic Payload."""
    from streamkit import _messages
    frame = ('{"type":"data","channel":"onchain@pool_metric","params":{"platform_id":14,"pool_address":"0xp"},'
             '"data":{"pid":14,"pa":"0xp","1h":{"bvu":2.5,"ut":3}},"ts":1}')
    a, b = streamkit.decode(frame), streamkit.decode(frame)
    assert a != b and a == a and len({a, b, a.data, b.data, a.data.windows["1h"]}) == 5
    n = len(type(a.data)._fields)
    newer = type(a.data)(tuple(a.data)[:n] + (7.5,) + tuple(a.data)[n:])
    assert newer.pid == 14 and newer.present("pid") and not newer.is_null("pid") and newer.unknown_keys == 0
    assert newer.to_dict() == a.data.to_dict() and newer.decimal("pid") == Decimal(14)
    assert newer.windows["1h"].ut == 3 and newer.windows["1h"].window == "1h"
    assert _messages._persistent(199) is streamkit.Payload


def test_batch_must_be_an_integer_in_range(sim):
    for bad in (0, 65537, 10.5, "512", None):
        with pytest.raises(streamkit.InvalidArgumentError):
            streamkit.Client(url=sim.url, api_key=sim.api_key, batch=bad)


def test_long_and_non_ascii_texts_arrive_whole():
    """Texts of 255, 256 and more bytes (the pickle's one-byte and four-byte length forms) and non-ASCII texts."""
    for text in ("a" * 255, "b" * 256, "c" * 70000, "é" * 200, "日本" * 100):
        frame = ('{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"0xab"},'
                 '"data":{"t0s":"' + text + '","tx":"0x1"},"ts":5}')
        m = streamkit.decode(frame)
        assert m.data.t0s == text and m.raw == frame.encode()


def test_a_number_beyond_decimal_spoils_no_other():
    """A number whose exponent no Decimal holds (the decoder reads it as inf) raises OverflowError from decimal()
    for its own key only; the frame's other numbers stay exact, and Message.json reads it as a float."""
    m = streamkit.decode('{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"0xab"},'
                         '"data":{"a0":1.25,"a1":0.9E9966381676894301156,"a2":"1e99999999999999999999"},"ts":5}')
    assert m.data.a0 == 1.25 and m.data.a1 == float("inf")
    assert m.data.decimal("a0") == Decimal("1.25")
    for key in ("a1", "amount1"):
        with pytest.raises(OverflowError):
            m.data.decimal(key)
    assert m.json["data"]["a1"] == float("inf") and m.json["data"]["a0"] == Decimal("1.25")


def test_the_pickle_read_in_place_reads_as_the_copied_one():
    """A batch's pickle is read where the native library wrote it (no copy); the copying reader, kept for
    interpreters without CPython's C API, must build the same objects from the same pickle."""
    from streamkit import _decode, _messages, _native
    if _messages._native_file is _messages._copied_file:
        pytest.skip("this interpreter has no PyMemoryView_FromMemory")
    frame = (b'{"type":"data","channel":"onchain@token_metric","params":{"platform_id":14},"data":{"pid":14,'
             b'"a":"0xab","p":0.5,"extra":[1,2],"sts":[{"win":"1h","vu":1.25,"txs":4}]},"ts":7}')
    d = _decode._Decoder()
    assert _native.lib.sk_decode_pickle(d.handle, frame, len(frame), ctypes.byref(d.pickle), ctypes.byref(d.length)) == 0

    def plain(value):  # the records compare by identity: compare their items, recursively
        if isinstance(value, tuple):
            return (type(value).__name__,) + tuple(plain(v) for v in value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    real = _messages.load
    built = []
    for reader in (_messages._mapped_file, _messages._copied_file):
        _messages._native_file = reader
        try:
            items, fatal = real(d.pickle.value, d.length.value)
            built.append(plain(items))
            assert fatal is None
        finally:
            _messages._native_file = _messages._mapped_file
    assert built[0] == built[1] and built[0][0][0] == "Message" and len(built[0]) == 1
    view = _messages._mapped_file(d.pickle.value, d.length.value)
    assert view.read(2)[0] == 0x80 and len(view.read()) == d.length.value - 2 and len(view.read(5)) == 0
    with pytest.raises(pickle.UnpicklingError):
        view.readline()


def test_price_messages_carry_their_subscription_in_subscriptions(sim):
    with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
        got = data(take(client, lambda items: len(data(items)) >= 4))
    assert len(got) >= 4
    for m in got:
        assert m.subscriptions == [m.params]


def test_a_swap_between_two_subscribed_tokens_reaches_both(tmp_path):
    """A hand-written server (not the simulator) pushes both legs of one swap: delivered once, carrying both
    subscriptions; the later leg is a duplicate."""
    script = tmp_path / "legs.py"
    script.write_text(textwrap.dedent("""
        import asyncio, json, sys
        import websockets
        A, B = "0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"
        def leg(echo):
            return json.dumps({"type": "data", "channel": "onchain@transaction",
                "params": {"platform_id": 14, "address": echo},
                "data": {"pid": 14, "tx": "0xfeed", "lgid": 3, "tp": "buy", "t0a": A, "t1a": B, "vu": 10.5},
                "ts": 1778663880111})
        async def serve(ws):
            await ws.send(json.dumps({"type": "welcome", "ping_interval_ms": 10000}))
            subscribed = set()
            async for text in ws:
                r = json.loads(text)
                if r.get("method") == "ping":
                    await ws.send(json.dumps({"type": "pong", "id": r.get("id"), "code": 0, "ts": 1}))
                    continue
                await ws.send(json.dumps({"type": "ack", "id": r.get("id"), "code": 0, "msg": "ok"}))
                if r.get("method") == "subscribe":
                    a = r["params"]["address"]
                    subscribed.update(a if isinstance(a, list) else [a])
                    if subscribed == {A, B}:
                        await ws.send(leg(A))
                        await ws.send(leg(B))
        async def main():
            async with websockets.serve(serve, "127.0.0.1", 0) as server:
                print(server.sockets[0].getsockname()[1], flush=True)
                await asyncio.sleep(60)
        asyncio.run(main())
    """))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        a, b = "0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"
        with streamkit.Client(url=f"ws://127.0.0.1:{port}/v1", api_key="legal-test-key") as client:
            client.subscribe("onchain@transaction", platform_id=14, address=a)
            client.subscribe("onchain@transaction", platform_id=14, address=b)
            got = data(take(client, lambda items: len(data(items)) >= 1))
            # A second delivery would come right behind the first: wait a second for it.
            got += data(client.poll(timeout=1.0))
        assert len(got) == 1
        assert sorted(s["address"] for s in got[0].subscriptions) == [a, b]
        assert got[0].params == got[0].subscriptions[0]
    finally:
        server.kill()
        server.wait()


# ---- captures --------------------------------------------------------------------------------------------------

_PRICE = ('{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},'
          '"data":{"cid":1,"p":%s,"vu":12.5},"ts":%d}')


def _capture_lines(prices):
    header = {"capture": "streamkit", "format": 1, "version": streamkit.__version__, "start": 1796000000000000000,
              "host": "test", "url": "ws://127.0.0.1:1/v1", "part": 0,
              "subscriptions": [{"channel": "market@crypto_latest_price", "crypto_ids": 1}]}
    lines = [json.dumps(header, separators=(",", ":")),
             '{"t":1796000000000000001,"c":0,"e":"connected"}',
             json.dumps({"t": 1796000000000000002, "c": 0, "f": '{"type":"welcome","ping_interval_ms":10000}'})]
    t = 1796000000000000010
    for i, p in enumerate(prices):
        if i == 2:
            lines.append('{"t":%d,"c":0,"e":"closed","code":1006,"text":"transport error"}' % t)
            lines.append('{"t":%d,"c":0,"e":"reconnecting","attempt":1,"delay_ms":250,"code":1006}' % t)
            lines.append('{"t":%d,"c":0,"e":"gap","sub":{"channel":"market@crypto_latest_price","crypto_ids":1},'
                         '"from":%d,"to":%d,"text":"transport error"}' % (t + 2_000_000_000, t - 500_000_000,
                                                                         t + 2_000_000_000))
            t += 2_000_000_000
        lines.append(json.dumps({"t": t, "c": 0, "f": _PRICE % (p, t // 1_000_000)}))
        t += 1_000_000
    return lines


def test_capture_reads_messages_and_the_story_in_order(tmp_path):
    prices = ["97000.5", "97000.25", "0.1", "1e-7", "3"]
    path = tmp_path / "c.ndjson"
    path.write_text("\n".join(_capture_lines(prices)) + "\n")
    with streamkit.Capture.open(str(path)) as capture:
        items = list(capture)
    kinds = [i.kind for i in items]
    assert kinds == ["connected", "data", "data", "closed", "reconnecting", "gap", "data", "data", "data"]
    data = [i for i in items if i.kind == "data"]
    assert [m.data.p for m in data] == [float(p) for p in prices]
    assert [m.data.decimal("p") for m in data] == [Decimal(p) for p in prices]  # exact, as sent
    for m in data:  # the same objects as a live or decoded message, plus the receive time
        decoded = streamkit.decode(m.raw)
        assert (m.channel, m.params, m.ts, m.data.to_dict()) == (decoded.channel, decoded.params, decoded.ts,
                                                                 decoded.data.to_dict())
        assert m.received // 1_000_000 == m.ts and m.subscriptions == [{"crypto_ids": 1}]
    gap = items[5]
    assert gap.params == {"crypto_ids": 1} and gap.gap == 2.5
    assert gap.gap_end - gap.gap_start == 2_500_000_000 and gap.time == gap.gap_end
    closed = items[3]
    assert closed.code == 1006 and closed.text == "transport error"
    assert items[4].delay == 0.25 and items[4].attempt == 1
    # The objects outlive the capture (they own their bytes).
    assert data[0].data.p == 97000.5 and data[-1].raw.startswith(b'{"type":"data"')


def test_capture_compressed_cut_and_globbed(tmp_path):
    lines = _capture_lines(["1.5", "2.5", "3.5", "4.5"])
    plain = tmp_path / "a.ndjson"
    plain.write_text("\n".join(lines) + "\n")
    subprocess.run(["zstd", "-q", str(plain), "-o", str(tmp_path / "a.ndjson.zst")], check=True, timeout=30)
    compressed = list(streamkit.Capture.open(tmp_path / "a.ndjson.zst"))
    uncompressed = list(streamkit.Capture.open(plain))
    assert [(i.kind, i.raw if i.kind == "data" else i.text) for i in compressed] == \
        [(i.kind, i.raw if i.kind == "data" else i.text) for i in uncompressed]
    # Cut mid-line: everything before the cut, then a "truncated" event saying so; nothing raised.
    text = plain.read_bytes()
    (tmp_path / "cut.ndjson").write_bytes(text[: len(text) - 40])
    cut = list(streamkit.Capture.open(tmp_path / "cut.ndjson"))
    assert cut[-1].kind == "truncated" and "cut mid-line" in cut[-1].text
    assert [i.kind for i in cut[:-1]] == [i.kind for i in uncompressed[:-1]]
    # Batches, a glob and a list of paths.
    with streamkit.Capture.open(str(tmp_path / "a.ndjson*"), batch=2) as capture:
        batches = list(capture.batches())
    assert all(1 <= len(b) <= 2 for b in batches) and sum(len(b) for b in batches) == 2 * len(uncompressed)
    assert len(list(streamkit.Capture.open([plain, tmp_path / "a.ndjson.zst"]))) == 2 * len(uncompressed)


def test_capture_wrong_calls_raise_clear_errors(tmp_path):
    with pytest.raises(streamkit.CaptureIOError, match="nonexistent"):
        streamkit.Capture.open(tmp_path / "nonexistent.ndjson")
    with pytest.raises(streamkit.CaptureIOError, match="no such file"):
        streamkit.Capture.open(str(tmp_path / "nothing-*.ndjson.zst"))
    with pytest.raises(streamkit.InvalidArgumentError):
        streamkit.Capture.open([])
    with pytest.raises(streamkit.InvalidArgumentError):
        streamkit.Capture.open(tmp_path / "x", batch=0)
    garbage = tmp_path / "garbage.ndjson.zst"
    garbage.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)  # zstd's magic, then nonsense
    items = list(streamkit.Capture.open(garbage))
    assert [i.kind for i in items] == ["truncated"] and "corrupt" in items[0].text
    capture = streamkit.Capture.open(garbage)
    capture.close()
    capture.close()  # twice: a no-op
    assert list(capture) == []
