"""StreamKit's exceptions: one class per status code of the C API (generated from the one status table,
scripts/tables_schema.py, into _errors.py), all under StreamKitError."""

from ._errors import (BY_STATUS, CapacityError, CaptureIOError, FatalError, InternalError,  # noqa: F401
                      InvalidArgumentError, InvalidFrameError, InvalidKeyError, InvalidURLError, MisuseError,
                      StoppedError, StreamKitError, SubscriptionFailedError, TimeoutError, TLSError)


class UnknownFieldError(InvalidArgumentError, KeyError):
    """A payload has no field by that name (``present``, ``is_null``, ``decimal``): an InvalidArgumentError, and a
    KeyError as it always was."""

    __str__ = Exception.__str__  # KeyError's would quote the message


def error_for(status: int, message: str) -> StreamKitError:
    """The exception for a status code of the C API."""
    return BY_STATUS.get(status, StreamKitError)(message)
