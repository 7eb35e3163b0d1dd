"""StreamKit: a client for the CoinMarketCap Pro WebSocket stream, over the native libstreamkit.

>>> import streamkit
>>> with streamkit.Simulator() as sim, streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
...     client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
...     for msg in client:
...         if msg.kind == "data":
...             print(msg.channel, msg.params, msg.ts, msg.data.p, msg.data.price)

Decoding, keep-alive, reconnects, sharding and deduplication run in native code; Python receives messages in
batches, with the GIL released while it waits. Numbers are floats (correctly rounded); ``msg.data.decimal("p")``
gives any of them exactly as sent. ``streamkit.decode(frame)`` decodes a single frame (from a capture, say) the
same way, without a client.
"""

from ._capture import Capture
from ._client import DEFAULT_URL, Client
from ._decode import decode
from ._messages import PAYLOAD_CLASSES, Event, Message, Payload
from ._native import library_path, lib as _lib
from ._sim import Simulator
from .errors import (CaptureIOError, CapacityError, FatalError, InternalError, InvalidArgumentError, InvalidFrameError,
                     InvalidKeyError, InvalidURLError, MisuseError, StoppedError, StreamKitError,
                     SubscriptionFailedError, TimeoutError, TLSError)

from ._tables import VERSION as __version__  # noqa: E402
from ._tables import DISCONNECT_REASONS as _REASONS  # noqa: E402

#: The names Event.reason takes (why a connection ended), in the C ABI's order (sk_disconnect_reason).
DISCONNECT_REASONS: tuple = tuple(_REASONS.values())

#: The native library's version (the same as __version__ for a library of this release).
native_version: str = _lib.sk_version().decode()

globals().update(PAYLOAD_CLASSES)  # streamkit.CryptoLatestPrice, streamkit.Transaction, ...

__all__ = [
    "Client", "Simulator", "Capture", "decode", "Message", "Event", "Payload", "DEFAULT_URL", "library_path", "native_version",
    "DISCONNECT_REASONS",
    "StreamKitError", "MisuseError", "InvalidArgumentError", "InvalidKeyError", "InvalidURLError", "TLSError",
    "CapacityError", "SubscriptionFailedError", "TimeoutError", "StoppedError", "FatalError", "InternalError",
    "InvalidFrameError", "CaptureIOError",
    *PAYLOAD_CLASSES,
]
