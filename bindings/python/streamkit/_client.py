"""streamkit.Client: the stream, as a Python iterator."""

import asyncio
import ctypes
import os
import threading
import weakref
from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, List, Optional, Union

from . import _args, _native
from ._messages import CHANNEL_NUMBERS, Event, Message, load
from ._native import lib
from ._tables import DEFAULTS
from .errors import FatalError, InvalidArgumentError, InvalidKeyError, InvalidURLError, StoppedError, error_for

DEFAULT_URL = DEFAULTS["url"]

_OVERFLOW = {None: _native.SK_OVERFLOW_DEFAULT, "block": _native.SK_OVERFLOW_BLOCK,
             "drop_oldest": _native.SK_OVERFLOW_DROP_OLDEST, "conflate": _native.SK_OVERFLOW_CONFLATE}
_OVERFLOW_SET = {k: v for k, v in _OVERFLOW.items() if k is not None}


def _free(handle: ctypes.c_void_p) -> None:
    # Called once: by close(), by the garbage collector, or at interpreter exit (weakref.finalize's atexit hook),
    # before the interpreter tears down. It returns only when the native client has stopped.
    lib.sk_client_free(handle)


class Client:
    """A client of the stream: keep-alive, reconnects with re-subscription, sharding over connections, duplicate
    swaps dropped, gap markers, all in the native library.

    ``url`` defaults to the real endpoint and ``api_key`` to the ``CMC_API_KEY`` environment variable. ``batch``
    (1 to 65536) is the most messages one native call hands over; ``queue_capacity`` and ``overflow`` say how many
    may wait per subscription and what happens beyond (see ``subscribe``).

    >>> with streamkit.Client(url="ws://127.0.0.1:8765/v1", api_key="test") as client:
    ...     client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
    ...     for msg in client:
    ...         if msg.kind == "data":
    ...             print(msg.channel, msg.params, msg.ts, msg.data.p, msg.data.price)

    Iteration yields :class:`Message` (``kind == "data"``) and :class:`Event` objects (gap, stale, reconnecting,
    ...) in order, many per native call, waiting with the GIL released. It ends when the client is closed, and
    raises :class:`FatalError` after a fatal event (a refused key or plan). ``async with`` and ``async for``
    work too (``async for msg in client`` is ``client.stream()``).

    Every argument error is a :class:`StreamKitError` subclass naming the argument: :class:`InvalidArgumentError`
    (also a ``ValueError``), :class:`InvalidKeyError` for the key (never repeated), :class:`InvalidURLError`.
    """

    def __init__(self, url: str = DEFAULT_URL, api_key: Optional[str] = None, *,
                 max_connections: int = DEFAULTS["max_connections"],
                 subscriptions_per_connection: int = DEFAULTS["subscriptions_per_connection"],
                 queue_capacity: int = DEFAULTS["queue_capacity"], overflow: str = DEFAULTS["overflow"],
                 tls_verify: bool = True, ca_file: Optional[str] = None, seed: Optional[int] = None,
                 batch: int = DEFAULTS["batch"]):
        batch = _args.integer("batch", batch, 1, 65536)
        key_name = "api_key" if api_key is not None else "CMC_API_KEY"
        key = api_key if api_key is not None else os.environ.get("CMC_API_KEY")
        if not key:
            raise InvalidKeyError("no API key: pass api_key= or set CMC_API_KEY")
        key_bytes = _args.text(key_name, key, error=InvalidKeyError, secret=True)
        url_bytes = _args.text("url", url, error=InvalidURLError)
        counts = [(name, _args.integer(name, value, *_args.INT32), setter) for name, value, setter in (
            ("max_connections", max_connections, lib.sk_config_set_max_connections),
            ("subscriptions_per_connection", subscriptions_per_connection,
             lib.sk_config_set_subscriptions_per_connection),
            ("queue_capacity", queue_capacity, lib.sk_config_set_queue_capacity))]
        policy = _args.choice("overflow", overflow, _OVERFLOW_SET)
        ca = None if ca_file is None else _args.path("ca_file", ca_file)
        seed = None if seed is None else _args.integer("seed", seed, *_args.UINT64)
        cfg = ctypes.c_void_p()
        _check_config(lib.sk_config_new(ctypes.byref(cfg)), cfg)
        try:
            _check_config(lib.sk_config_set_url(cfg, url_bytes), cfg, "url")
            _check_config(lib.sk_config_set_api_key(cfg, key_bytes), cfg, key_name)
            for name, value, setter in counts:
                _check_config(setter(cfg, value), cfg, name)
            _check_config(lib.sk_config_set_overflow(cfg, policy), cfg, "overflow")
            _check_config(lib.sk_config_set_tls_verify(cfg, 1 if tls_verify else 0), cfg, "tls_verify")
            if ca is not None:
                _check_config(lib.sk_config_set_ca_file(cfg, ca), cfg, "ca_file")
            if seed is not None:
                _check_config(lib.sk_config_set_seed(cfg, seed), cfg, "seed")
            handle = ctypes.c_void_p()
            status = lib.sk_client_new(cfg, ctypes.byref(handle))
            # The URL and the key are checked here, as a whole configuration: name the one refused.
            _check_config(status, cfg, {_native.SK_INVALID_URL: "url", _native.SK_INVALID_KEY: key_name}.get(status))
        finally:
            lib.sk_config_free(cfg)
        self._handle = handle
        self._finalizer = weakref.finalize(self, _free, handle)
        self._batch_size = batch
        self._pickle = ctypes.c_void_p()
        self._length = ctypes.c_size_t()
        self._count = ctypes.c_size_t()
        self._out = (ctypes.byref(self._pickle), ctypes.byref(self._length), ctypes.byref(self._count))
        self._started = False
        self._fatal: Optional[Event] = None
        self._poll_lock = threading.Lock()
        self._callback_thread: Optional[threading.Thread] = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts connecting. ``subscribe`` starts the client if needed."""
        if not self._started:
            self._check(lib.sk_client_start(self._live()))
            self._started = True

    def close(self) -> None:
        """Stops every connection and frees the native client. Idempotent; also done by ``with``, by the
        garbage collector, and at interpreter exit."""
        self._finalizer()
        thread = self._callback_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        # close() waits for the native client to stop (its connections closed, its threads done): in a worker
        # thread, so the event loop goes on meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    # -- subscriptions -----------------------------------------------------------------------------------------

    def subscribe(self, channel: str, crypto_ids: Union[int, Iterable[int], None] = None, *,
                  platform_id: Optional[int] = None, address: Union[str, Iterable[str], None] = None,
                  pool: Union[str, Iterable[str], None] = None, wallet: Union[str, Iterable[str], None] = None,
                  interval: Optional[str] = None, overflow: Optional[str] = None, timeout: float = 10.0) -> None:
        """Subscribes and returns once the server acknowledged every target; raises otherwise
        (:class:`SubscriptionFailedError`, :class:`CapacityError`, :class:`TimeoutError`, ...).

        ``crypto_ids`` for ``market@crypto_latest_price``; ``platform_id`` and ``address`` (or ``pool`` for
        ``onchain@pool_metric``, ``wallet`` for ``onchain@holder_wallet_update``) for the on-chain channels;
        ``interval`` for klines and unique traders. ``overflow`` (block, drop_oldest, conflate) applies to these
        subscriptions when the consumer falls behind.
        """
        subs = self._subscriptions(channel, crypto_ids, platform_id, address, pool, wallet, interval)
        policy = _args.choice("overflow", overflow, _OVERFLOW)
        ms = _args.milliseconds("timeout", timeout, positive=True)
        self.start()
        arr = (_native.sk_subscription * len(subs))(*subs)
        self._check(lib.sk_client_subscribe(self._live(), arr, len(subs), policy, ms))

    def unsubscribe(self, channel: str, crypto_ids: Union[int, Iterable[int], None] = None, *,
                    platform_id: Optional[int] = None, address: Union[str, Iterable[str], None] = None,
                    pool: Union[str, Iterable[str], None] = None, wallet: Union[str, Iterable[str], None] = None,
                    interval: Optional[str] = None) -> None:
        """Unsubscribes (same arguments as ``subscribe``), without waiting for the acknowledgements."""
        subs = self._subscriptions(channel, crypto_ids, platform_id, address, pool, wallet, interval)
        arr = (_native.sk_subscription * len(subs))(*subs)
        self._check(lib.sk_client_unsubscribe(self._live(), arr, len(subs)))

    def unsubscribe_all(self) -> None:
        """Unsubscribes from everything."""
        self._check(lib.sk_client_unsubscribe_all(self._live()))

    # -- receiving ---------------------------------------------------------------------------------------------

    def poll(self, timeout: Optional[float] = None) -> List[Union[Message, Event]]:
        """Everything that arrived, up to the batch size, waiting up to ``timeout`` seconds (None: until
        something arrives) for the first. Raises :class:`StoppedError` once the client has stopped and
        everything was taken (:class:`FatalError` if it stopped on a fatal event)."""
        ms = -1 if timeout is None else _args.milliseconds("timeout", timeout)
        with self._poll_lock:
            status = lib.sk_client_poll_pickle(self._live(), self._batch_size, ms, *self._out)
            if status == _native.SK_STOPPED:
                if self._fatal is not None:
                    raise FatalError(self._fatal.text)
                raise StoppedError("the client has stopped")
            self._check(status)
            items, fatal = load(self._pickle.value, self._length.value)
        if fatal is not None:
            self._fatal = fatal
        return items

    def __iter__(self) -> Iterator[Union[Message, Event]]:
        """Messages and events, in order, until the client stops (then the iteration ends, or raises
        :class:`FatalError` after a fatal event). Ctrl-C interrupts it within a quarter of a second."""
        self.start()
        while True:
            try:
                items = self.poll(0.25)
            except StoppedError:
                return
            yield from items

    async def stream(self) -> AsyncIterator[Union[Message, Event]]:
        """The same as iterating, for asyncio: ``async for msg in client.stream()``. Polls in a worker thread
        (the GIL released while it waits), so the event loop never blocks."""
        self.start()
        loop = asyncio.get_running_loop()
        while True:
            try:
                items = await loop.run_in_executor(None, self.poll, 0.25)
            except StoppedError:
                return
            for item in items:
                yield item

    def __aiter__(self) -> AsyncIterator[Union[Message, Event]]:
        """``async for msg in client``: the same as ``client.stream()``."""
        return self.stream()

    def on_message(self, callback: Callable[[Union[Message, Event]], Any]) -> None:
        """Calls ``callback`` for every message and event from a Python thread of the client's own, a batch at a
        time (one GIL acquisition per batch, not per message). Exceptions in the callback are printed and
        delivery goes on. Use either the callback or iteration, not both."""
        if not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, not {type(callback).__name__}")
        if self._callback_thread is not None:
            raise InvalidArgumentError("callback: a callback is already set")
        self.start()

        def run(client_ref=weakref.ref(self)):
            while True:
                client = client_ref()
                if client is None or client.closed:
                    return
                try:
                    items = client.poll(0.25)
                except (StoppedError, FatalError):
                    return
                except Exception:  # the client was closed under us
                    return
                del client
                for item in items:
                    try:
                        callback(item)
                    except Exception:
                        import traceback
                        traceback.print_exc()

        self._callback_thread = threading.Thread(target=run, name="streamkit-callback", daemon=True)
        self._callback_thread.start()

    # -- metrics -----------------------------------------------------------------------------------------------

    def metrics(self) -> Dict[str, Any]:
        """Counters: open connections, reconnects, duplicates suppressed, invalid frames, billable messages and
        subscriptions, credits (the meter), queued, messages, dropped, coalesced, subscriptions."""
        m = _native.sk_metrics()
        self._check(lib.sk_client_metrics(self._live(), ctypes.byref(m)))
        return {name: getattr(m, name) for name, _ in m._fields_}

    def subscription_metrics(self, channel: str, crypto_id: Optional[int] = None, *, platform_id: Optional[int] = None,
                             address: Optional[str] = None, interval: Optional[str] = None) -> Dict[str, Any]:
        """One subscription's counters: messages, last update age (ms, -1 before the first), receive latency
        (local receive minus server ts, ms), queued, dropped, coalesced, degraded_fields (payload fields sent with
        an unexpected JSON type, read as None)."""
        if crypto_id is not None and not _args._is_index(crypto_id):
            raise InvalidArgumentError(f"crypto_id must be one integer, not {crypto_id!r}")
        if address is not None and not isinstance(address, str):
            raise InvalidArgumentError(f"address must be one str, not {address!r}")
        (sub,) = self._subscriptions(channel, crypto_id, platform_id, address, None, None, interval,
                                     names=("crypto_id", "address"))
        m = _native.sk_subscription_metrics()
        self._check(lib.sk_client_subscription_metrics(self._live(), ctypes.byref(sub), ctypes.byref(m)))
        return {name: getattr(m, name) for name, _ in m._fields_}

    # -- internals ---------------------------------------------------------------------------------------------

    def _live(self) -> ctypes.c_void_p:
        if not self._finalizer.alive:
            raise StoppedError("the client is closed")
        return self._handle

    def _check(self, status: int) -> None:
        if status != _native.SK_OK:
            message = lib.sk_client_errmsg(self._handle) if self._finalizer.alive else b""
            raise error_for(status, (message or lib.sk_status_string(status)).decode())

    @staticmethod
    def _subscriptions(channel, crypto_ids, platform_id, address, pool, wallet, interval,
                       names=("crypto_ids", "address")) -> List[Any]:
        """The C subscriptions for these arguments, each checked here (types, what the channel takes) or, for
        what the channel's rules decide (intervals, address formats), by the library, whose message names it."""
        ids_name, address_name = names
        if not isinstance(channel, str):
            raise InvalidArgumentError(f"channel must be a str, not {type(channel).__name__}")
        number = _args.choice("channel", channel, CHANNEL_NUMBERS)
        iv = None if interval is None else _args.text("interval", interval)
        ids = _args.items(_args.integer, ids_name, _args.one_or_many(ids_name, crypto_ids, int), 1, _args.INT64[1])
        targets = []
        for name, group in ((address_name, address), ("pool", pool), ("wallet", wallet)):
            targets += _args.items(_args.text, name, _args.one_or_many(name, group, str))
        if number == 1:
            if platform_id is not None or targets:
                raise InvalidArgumentError(f"{channel} takes {ids_name}, not platform_id or an address")
            if not ids:
                raise InvalidArgumentError(f"{channel} needs {ids_name}")
            return [_native.sk_subscription(number, i, 0, None, iv) for i in ids]
        if ids:
            raise InvalidArgumentError(f"{channel} takes platform_id and an address, not {ids_name}")
        if platform_id is None or not targets:
            raise InvalidArgumentError(f"{channel} needs platform_id and an address ({address_name}=, pool= "
                                       "or wallet=)")
        platform = _args.integer("platform_id", platform_id, 1, _args.INT64[1])
        return [_native.sk_subscription(number, 0, platform, t, iv) for t in targets]


def _check_config(status: int, cfg: ctypes.c_void_p, name: Optional[str] = None) -> None:
    """Raises for a failed configuration call, the message naming the argument ``name`` when one was refused."""
    if status != _native.SK_OK:
        message = (lib.sk_config_errmsg(cfg) or lib.sk_status_string(status)).decode()
        raise error_for(status, f"{name}: {message}" if name else message)
