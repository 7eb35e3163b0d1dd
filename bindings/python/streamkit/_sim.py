"""streamkit.Simulator: the protocol-faithful stream server, in-process, for tests."""

import asyncio
import ctypes
import math
import weakref
from typing import Dict, Optional

from . import _args, _native
from ._native import lib
from .errors import InvalidArgumentError, StoppedError, error_for


class Simulator:
    """A simulator of the stream server, running in this process on 127.0.0.1 (its own threads; no GIL held).

    >>> with streamkit.Simulator(speed=20) as sim:
    ...     with streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
    ...         client.subscribe("market@crypto_latest_price", crypto_ids=[1])
    ...         sim.inject("drop")          # every connection dies: the client reconnects, with a gap event

    ``speed`` is the rate of the simulated clock (every ``ts``, ``ot`` and window, the ping interval); ``rate`` switches to load mode (data frames per second per
    connection, or ``"max"``: as fast as each client reads). Any key but ``api_key`` is refused with close 4100.
    ``with`` and ``async with`` close it. Argument errors are :class:`InvalidArgumentError`, naming the argument.
    """

    def __init__(self, api_key: str = "test", *, port: int = 0, speed: float = 1.0,
                 rate: Optional[object] = None, seed: int = 42):
        if isinstance(rate, str) and rate == "max":
            native_rate = -1.0
        elif rate is None:
            native_rate = 0.0
        elif not isinstance(rate, bool) and isinstance(rate, (int, float)) and rate > 0 and math.isfinite(rate):
            native_rate = float(rate)
        else:
            raise InvalidArgumentError(f"rate must be a positive number or 'max'; got {rate!r}")
        key = _args.text("api_key", api_key)
        port = _args.integer("port", port, 0, 65535)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (math.isfinite(speed) and speed > 0):
            raise InvalidArgumentError(f"speed must be a finite number above 0; got {speed!r}")
        seed = _args.integer("seed", seed, *_args.UINT64)
        handle = ctypes.c_void_p()
        status = lib.sk_sim_start(key, port, float(speed), native_rate, seed, ctypes.byref(handle))
        if status != _native.SK_OK:
            # Every argument was checked above: what is left is the port (taken, or no loopback interface).
            raise error_for(status, f"port: the simulator could not listen on 127.0.0.1:{port} (taken?)")
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.sk_sim_free, handle)
        #: The key the simulator accepts.
        self.api_key = api_key
        #: ``ws://127.0.0.1:PORT/v1``.
        self.url: str = lib.sk_sim_url(handle).decode()

    def inject(self, fault: str, arg: int = 0) -> None:
        """Injects a fault into every live connection.

        ``drop``, ``stall``, ``close`` (arg: the close code), ``error_5001``, ``malformed``, ``oversized`` (arg:
        bytes), ``duplicate``, ``pong_delay`` (arg: ms); payloads a client must take, each pushed once:
        ``null_price`` (``"p": null``), ``holder_without_ts``, ``mistyped`` (``"vu":"12.5"`` on a price, else
        ``"ex":0`` on a swap); requests: ``array_echo`` (arg: price pushes echoing ``"crypto_ids"`` as the array
        of their subscribe's ids, 0 for every later one), ``subscribe_error`` (the next subscribe answered with an
        error carrying its id; arg: the code, 0 for 1006), ``error_5001_then_ack`` (5001 for the next subscribe and
        its retries, arg times in all, 0 for once; then the ack); ``ping_interval`` (arg: ms, announced in the
        welcome of connections opened from now on; 0 restores 10000).

        >>> sim.inject("subscribe_error")   # the next subscribe fails with 1006; the connection stays up
        """
        number = _args.choice("fault", fault, _native.FAULTS)
        arg = _args.integer("arg", arg, *_args.INT64)
        status = lib.sk_sim_inject(self._live(), number, arg)
        if status != _native.SK_OK:
            raise error_for(status, f"arg: {arg} is out of range for {fault} (close: a close code from 1000; "
                                    "oversized: 1 to 64 MiB; pong_delay: 0 or more ms; array_echo: 0 or more; "
                                    "subscribe_error: 0 or a code 1000 to 9999; error_5001_then_ack: 0 to 1000; "
                                    "ping_interval: 0 to 86400000 ms)")

    def counters(self) -> Dict[str, int]:
        """Frames sent (all kinds), data frames sent, and connections accepted so far."""
        frames, data, connections = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        lib.sk_sim_counters(self._live(), ctypes.byref(frames), ctypes.byref(data), ctypes.byref(connections))
        return {"frames_sent": frames.value, "data_sent": data.value, "connections": connections.value}

    def close(self) -> None:
        """Stops the simulator and closes every connection. Idempotent."""
        self._finalizer()

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> "Simulator":
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)  # closing waits for its connections

    def _live(self) -> ctypes.c_void_p:
        if not self._finalizer.alive:
            raise StoppedError("the simulator is closed")
        return self._handle
