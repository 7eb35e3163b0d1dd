"""Decoding single frames without a client (``sk_decode``): a capture's lines, frames from another transport,
test fixtures."""

import ctypes
import threading
from typing import Optional, Union

from . import _native
from ._messages import Message, load
from .errors import InvalidArgumentError, error_for

lib = _native.lib


class _Decoder:
    """A native decoder and the message it decodes into; one per thread (``sk_decoder`` is not shared)."""

    def __init__(self) -> None:
        self.handle = ctypes.c_void_p()
        status = lib.sk_decoder_new(ctypes.byref(self.handle))
        if status != 0:
            raise error_for(status, "sk_decoder_new failed")
        self.pickle = ctypes.c_void_p()
        self.length = ctypes.c_size_t()
        self._free = lib.sk_decoder_free  # kept: at interpreter exit the module's globals may be gone

    def __del__(self) -> None:
        if self.handle:
            self._free(self.handle)
            self.handle = ctypes.c_void_p()


_local = threading.local()


def decode(frame: Union[bytes, bytearray, memoryview, str]) -> Optional[Message]:
    """Decodes one frame as received (a line of a ``streamkit record`` capture's ``frame``, bytes from another
    transport) into a :class:`Message`, with the same typed payload, exact ``decimal()`` and ``raw`` as a
    streamed one (``params`` is the frame's own echo, as sent). Returns None for a valid frame that is not a data
    push (welcome, ack, pong, error); raises :class:`InvalidFrameError` for anything else, with the reason and
    the byte offset. Each thread uses a native decoder of its own."""
    if isinstance(frame, str):
        frame = frame.encode()
    elif isinstance(frame, (bytearray, memoryview)):
        frame = bytes(frame)
    elif not isinstance(frame, bytes):
        raise InvalidArgumentError(f"frame must be bytes, bytearray, memoryview or str, not {type(frame).__name__}")
    d = getattr(_local, "decoder", None)
    if d is None:
        d = _local.decoder = _Decoder()
    status = lib.sk_decode_pickle(d.handle, frame, len(frame), ctypes.byref(d.pickle), ctypes.byref(d.length))
    if status != 0:
        raise error_for(status, (lib.sk_decoder_errmsg(d.handle) or b"").decode())
    (message,), _ = load(d.pickle.value, d.length.value)
    return message
