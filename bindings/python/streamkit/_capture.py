"""Reading captures (the files ``streamkit record`` writes) as the live client delivered them."""

import ctypes
import glob as _glob
import os
from typing import Iterable, Iterator, List, Optional, Union

from . import _native
from ._messages import Event, Message, load
from .errors import InvalidArgumentError, error_for

lib = _native.lib

PathLike = Union[str, "os.PathLike[str]"]


class Capture:
    """A capture read back: data messages (the same :class:`Message` objects as a live client's, decoded by the
    same native decoder, each with ``received``, its local receive time in ns) and lifecycle events (the same
    :class:`Event` objects: connected, closed, reconnecting, gap with ``gap_start``/``gap_end``, stale, ..., and
    ``truncated`` where a file was cut short), in the order they happened. Iterate it::

        with streamkit.Capture.open("prices-2026-12-*.ndjson.zst") as capture:
            for item in capture:
                if item.kind == "gap":
                    print("outage", item.params, (item.gap_end - item.gap_start) / 1e9, "s")
                elif item.kind == "data":
                    print(item.received, item.channel, item.data.p)

    Files are plain NDJSON or zstd (told by content), given as paths, glob patterns or a list of both, and read
    in the order of their headers' start times. Messages are attributed to the recorded subscriptions, and the
    second leg of a swap or liquidity event is dropped, as live; acks, pongs and invalid frames are skipped.
    The native reader does the reading, decompression and decoding; Python receives batches of objects."""

    def __init__(self, handle: ctypes.c_void_p, paths: List[str], batch: int) -> None:
        self._handle = handle
        self.paths = paths
        self._batch = batch
        self._pickle = ctypes.c_void_p()
        self._length = ctypes.c_size_t()
        self._count = ctypes.c_size_t()
        self._free = lib.sk_capture_free  # kept: at interpreter exit the module's globals may be gone

    @classmethod
    def open(cls, paths: Union[PathLike, Iterable[PathLike]], batch: int = 4096) -> "Capture":
        """Opens one path or glob pattern, or several. Raises :class:`CaptureIOError` when one matches nothing or
        cannot be read, :class:`InvalidArgumentError` for no paths or a batch size outside 1..65536."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        names = [os.fspath(p) for p in paths]
        if not names:
            raise InvalidArgumentError("Capture.open: no paths given")
        if not all(isinstance(n, str) for n in names):
            raise InvalidArgumentError("Capture.open: paths must be str or os.PathLike")
        if not 1 <= batch <= 65536:
            raise InvalidArgumentError(f"Capture.open: batch must be 1..65536, not {batch}")
        array = (ctypes.c_char_p * len(names))(*[os.fsencode(n) for n in names])
        handle = ctypes.c_void_p()
        status = lib.sk_capture_open(array, len(names), ctypes.byref(handle))
        if status != 0:
            raise error_for(status, (lib.sk_capture_errmsg(None) or b"").decode())
        expanded = [m for n in names for m in (sorted(_glob.glob(n)) if not os.path.exists(n) else [n])]
        return cls(handle, expanded, batch)

    def batches(self) -> Iterator[List[Union[Message, Event]]]:
        """The records in batches (lists) of up to ``batch``: the cheapest way through a large capture."""
        while self._handle:
            status = lib.sk_capture_next_pickle(self._handle, self._batch, ctypes.byref(self._pickle),
                                                ctypes.byref(self._length), ctypes.byref(self._count))
            if status == 9:  # SK_STOPPED: the end
                return
            if status != 0:
                raise error_for(status, (lib.sk_capture_errmsg(self._handle) or b"").decode())
            items, _ = load(self._pickle.value, self._length.value)
            yield items

    def __iter__(self) -> Iterator[Union[Message, Event]]:
        for items in self.batches():
            yield from items

    def close(self) -> None:
        """Frees the native reader (objects already read stay valid: they own their data)."""
        if self._handle:
            self._free(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._free(handle)
            self._handle = ctypes.c_void_p()
