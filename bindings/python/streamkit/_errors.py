# Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this.
"""The exception of each status code of the C API, all under StreamKitError (see streamkit.errors)."""

import builtins


class StreamKitError(Exception):
    """Base class of every StreamKit error. ``status`` is the C API's sk_status code."""

    status = -1


class MisuseError(StreamKitError):
    """A call in the wrong state, or on a closed client."""
    status = 1


class InvalidArgumentError(StreamKitError, ValueError):
    """An argument out of range: an unknown channel, a bad interval, a missing address, ..."""
    status = 2


class InvalidKeyError(StreamKitError, ValueError):
    """The API key is missing, empty, or has a byte not allowed in an HTTP header. Never contains the key."""
    status = 3


class InvalidURLError(StreamKitError, ValueError):
    """The URL is not ws://host[:port]/path or wss://..."""
    status = 4


class TLSError(StreamKitError):
    """TLS could not be set up (an unreadable CA file, ...)."""
    status = 5


class CapacityError(StreamKitError):
    """The subscriptions would not fit the allowed connections; nothing was sent."""
    status = 6


class SubscriptionFailedError(StreamKitError):
    """The server refused a subscription; the message has its error code and detail."""
    status = 7


class TimeoutError(StreamKitError, builtins.TimeoutError):
    """No acknowledgement (or no answer) in time. The subscription stays pending."""
    status = 8


class StoppedError(StreamKitError):
    """The client has stopped."""
    status = 9


class FatalError(StreamKitError):
    """The service refused the key or the plan (close 4100/4101/4102, an AUTH error): stopped for good."""
    status = 10


class InternalError(StreamKitError):
    """A bug in StreamKit: please report it with the message."""
    status = 11


class InvalidFrameError(StreamKitError, ValueError):
    """Bytes that are not a valid frame (malformed, truncated, wrong types, too deep): the message has the offset."""
    status = 12


class CaptureIOError(StreamKitError, OSError):
    """A capture file could not be read (no such file, a glob matching nothing, unreadable), or is zstd and
    libzstd.so.1 is missing: the message has the path and the reason."""
    status = 13


#: The class of each status.
BY_STATUS = {cls.status: cls for cls in (MisuseError, InvalidArgumentError, InvalidKeyError, InvalidURLError, TLSError, CapacityError, SubscriptionFailedError, TimeoutError, StoppedError, FatalError, InternalError, InvalidFrameError, CaptureIOError)}
