"""Messages and events as Python objects, built in C by the unpickler.

A poll returns its batch as one pickle written by the native library (``sk_client_poll_pickle``, see
streamkit_python.h): one ``Unpickler.load()`` per batch builds every message, its payload and its values, with no Python
code running per message. Messages, events and payloads are tuple subclasses whose attributes read their items
(``operator.itemgetter``): field access runs in C too. Nothing is parsed in Python; ``decimal()`` and
``Message.json`` parse the frame's bytes (``raw``) when called.
"""

import ctypes
import gc
import io
import json
import pickle
import sys
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any, Dict, List, Optional, Tuple

from . import _payloads, _tables
from .errors import UnknownFieldError


class _Record(tuple):
    """What messages, events and payloads share: a tuple the unpickler builds, compared and hashed by identity (as
    objects, not by content), pickled as its class and items."""

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __reduce__(self):
        return (type(self), (tuple(self),))


class Payload(_Record):
    """The typed payload of a data message. Each field reads under its wire key (``p``) and, where its meaning
    is known, a descriptive name (``price``); ``None`` when the key was absent or null. ``decimal(key)`` gives
    any number exactly as sent.

    A tuple subclass: the items are the fields in the order of ``_fields`` (a newer library may append more),
    then the native library's bookkeeping, read from the end: mistyped, presence and null masks, unknown keys, the frame, and
    the windows (payloads) or the window's name (windows). Compared and hashed by identity, as objects."""

    _fields: Tuple = ()
    _bits: Dict[str, Tuple[int, str]] = {}
    _windows = None
    _container = None

    def present(self, key: str) -> bool:
        """True when the payload carried ``key`` (a wire key or descriptive name), null included."""
        return bool(self[-5] >> self._field(key)[0] & 1)

    def is_null(self, key: str) -> bool:
        """True when the payload carried ``key`` as null."""
        return bool(self[-4] >> self._field(key)[0] & 1)

    def is_mistyped(self, key: str) -> bool:
        """True when the payload carried ``key`` with a value of the wrong JSON type (a string for a number, ``0``
        for a boolean): the value is not read, and the field reads as None (``present`` is False)."""
        return bool(self[-6] >> self._field(key)[0] & 1)

    @property
    def mistyped(self) -> Tuple[str, ...]:
        """The wire keys whose value had the wrong JSON type (read as None), in field order."""
        mask = self[-6]
        return tuple(wire for i, (wire, *_) in enumerate(self._fields) if mask >> i & 1)

    def decimal(self, key: str) -> Optional[Decimal]:
        """The number under ``key`` exactly as the server sent it (no float rounding); None if absent or null.

        It reads the frame the way the typed fields do: where a key is repeated the last value counts, a window
        object repeated under its name (pool windows) is read over the earlier one, of two ``sts`` entries for
        the same window the last counts, and a value that is not a JSON number (a string) reads as None. Raises OverflowError
        for a number whose exponent is beyond what Decimal holds (about 10**18)."""
        wire = self._field(key)[1]
        data = _last(self._members, "data")
        if self._container is not None and isinstance(data, _Members):  # a window: in `sts[]`, or under its name
            win = self[-1]
            if self._container:
                entries = _last(data, self._container)
                found = [w for w in entries if isinstance(w, _Members) and _last(w, "win") == win] \
                    if isinstance(entries, list) and not isinstance(entries, _Members) else []
                data = found[-1] if found else None
            else:
                data = _Members(m for k, v in data if k == win and isinstance(v, _Members) for m in v)
        value = _last(data, wire) if isinstance(data, _Members) else None
        if isinstance(value, _BeyondDecimal):
            raise OverflowError(f"{key} is {value}: its exponent is beyond what decimal.Decimal can hold "
                                "(the typed field reads it as a float)")
        return value if isinstance(value, Decimal) else None

    @cached_property
    def _members(self) -> Any:
        return json.loads(self[-2], parse_float=_exact, parse_int=_exact, object_pairs_hook=_Members)

    @property
    def unknown_keys(self) -> int:
        """Keys this version of StreamKit does not know (read them from ``Message.json``)."""
        return self[-3]

    def to_dict(self) -> Dict[str, Any]:
        """Every field the payload carried, under its wire key (nulls as None)."""
        out = {}
        present = self[-5]
        for i, (wire, *_) in enumerate(self._fields):
            if present >> i & 1:
                out[wire] = self[i]
        if self._windows is not None:
            for name, w in self.windows.items():
                out.setdefault("windows", {})[name] = w.to_dict()
        return out

    def _field(self, key: str) -> Tuple[int, str]:
        try:
            return self._bits[key]
        except (KeyError, TypeError):
            raise UnknownFieldError(f"key: {type(self).__name__} has no field {key!r}") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class _Members(list):
    """A JSON object as the (key, value) pairs it was written with (repeated keys kept)."""


def _last(members: Any, key: str) -> Any:
    """The last value of ``key`` in a ``_Members`` (None when absent)."""
    for k, v in reversed(members):
        if k == key:
            return v
    return None


class _BeyondDecimal(str):
    """A number whose exponent no ``decimal.Decimal`` holds (beyond about 10**18), kept as its text."""


def _exact(text: str) -> Any:
    """A JSON number as a Decimal, exactly; as a ``_BeyondDecimal`` when its exponent is beyond Decimal's range
    (the frame is still valid: one absurd number must not make the others unreadable)."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return _BeyondDecimal(text)


def _exact_or_float(text: str) -> Any:
    value = _exact(text)
    return float(value) if isinstance(value, _BeyondDecimal) else value


def _payload_class(name: str, struct_name: str, windows=None, container=None):
    fields = tuple(_payloads.FIELDS[struct_name])
    attrs: Dict[str, Any] = {"_fields": fields, "__doc__": f"The payload of a {name} message."}
    bits: Dict[str, Tuple[int, str]] = {}
    for i, (wire, pyname, *_) in enumerate(fields):
        assert i == fields[i][3], "a field's bit is its index"
        prop = property(itemgetter(i), doc=f"`{wire}`, or None when absent or null.")
        attrs[wire] = prop
        bits[wire] = (i, wire)
        if pyname != wire and pyname not in attrs:
            attrs[pyname] = prop
            bits[pyname] = (i, wire)
    attrs["_bits"] = bits
    if container is not None:
        attrs.update(_container=container, __doc__=f"One rolling window of a {name[:-6]} message.")
        attrs["window"] = property(itemgetter(-1), doc="The window's name ('1h', ...).")
    window_cls = None
    if windows is not None:
        wire, names, window_struct = windows
        window_cls, _ = _payload_class(name + "Window", window_struct, container=wire)

        def get_windows(self):
            return dict(self[-1])
        attrs["windows"] = property(get_windows, doc="The rolling windows the push carried, by name ('1h', ...).")
        attrs["_windows"] = names
    cls = type(name, (Payload,), attrs)
    return cls, window_cls


class Message(_Record):
    """A data push: ``channel`` (wire name), ``params`` (the subscription's params), ``ts`` (server time, epoch
    ms, or None), ``data`` (the typed payload), ``raw`` (the frame's bytes as received), ``connection``,
    ``subscriptions`` (every subscription it belongs to, as params dicts: ``params`` first; both tokens' for a
    swap or liquidity event between two subscribed tokens, which is delivered once), ``received`` (local receive
    time in ns, from a capture).

    A tuple subclass of those eight items, built by the unpickler; compared and hashed by identity, as objects."""

    kind = "data"
    channel = property(itemgetter(0), doc="The channel's wire name (None for a channel this version lacks).")
    params = property(itemgetter(1), doc="The subscription's params, as the server echoes them.")
    ts = property(itemgetter(2), doc="Server time of the push, epoch ms, or None.")
    data = property(itemgetter(3), doc="The typed payload (None for a channel this version lacks).")
    raw = property(itemgetter(4), doc="The frame's bytes as received.")
    connection = property(itemgetter(5), doc="The connection it arrived on (0-based).")
    subscriptions = property(itemgetter(6), doc="Every subscription it belongs to, as params dicts (params first).")
    received = property(itemgetter(7), doc="Local receive time, ns since the Unix epoch (read from a capture; None "
                                           "for live messages, for now).")

    @cached_property
    def json(self) -> Dict[str, Any]:
        """The whole frame parsed with numbers as Decimal (exact), for keys this version does not type. A number
        whose exponent is beyond Decimal's range (about 10**18) reads as a float, as the typed fields do."""
        return json.loads(self.raw, parse_float=_exact_or_float)

    def __repr__(self) -> str:
        return f"Message(channel={self.channel!r}, params={self.params!r}, ts={self.ts!r}, data={self.data!r})"


class Event(_Record):
    """A lifecycle event, in order with the data: ``kind`` is one of connecting, connected, welcome, subscribed,
    unsubscribed, subscription_failed, stale, reconnecting, restored, gap, server_error, fatal, stopped,
    dropped; read from a capture also closed (a connection ended: code, text) and truncated (a file cut short:
    text names it). ``params`` names the subscription it is about (if any); ``attempt``, ``delay`` (s), ``gap`` (s),
    ``count``, ``code``, ``text`` and ``reason`` are set where they apply. A tuple subclass, compared and hashed by identity."""

    channel = None
    data = None
    kind = property(itemgetter(0))
    connection = property(itemgetter(1))
    params = property(itemgetter(2))
    attempt = property(itemgetter(3))
    delay = property(itemgetter(4))
    gap = property(itemgetter(5))
    count = property(itemgetter(6))
    code = property(itemgetter(7))
    text = property(itemgetter(8))
    time = property(itemgetter(9), doc="When it happened, ns since the Unix epoch (captures; None live, for now).")
    gap_start = property(itemgetter(10), doc="gap: the interruption's start, ns since the Unix epoch (captures).")
    gap_end = property(itemgetter(11), doc="gap: the interruption's end, ns since the Unix epoch (captures).")
    reason = property(lambda self: _tables.DISCONNECT_REASONS.get(self[12]), doc=(
        "reconnecting, gap, fatal: why the connection ended, one of streamkit.DISCONNECT_REASONS' names "
        "(closed_by_server, transport_error, pong_timeout, silent, connect_timeout, protocol_error, stopped, "
        "refused); None otherwise. code and text give the detail."))

    def __repr__(self) -> str:
        extra = {k: getattr(self, k) for k in ("params", "attempt", "delay", "gap", "count", "code", "text", "reason")
                 if getattr(self, k)}
        return f"Event({self.kind!r}, {extra})"


#: channel number -> (wire name, payload class)
CHANNELS: Dict[int, Tuple[str, Any]] = {}
#: The classes a pickle names by persistent ID (see sk_client_poll_pickle in streamkit_python.h).
_CLASSES: Dict[int, Any] = {0: Message, 1: Event}
for _number, (_wire, _member, _struct, _cls, _windows) in _payloads.CHANNELS.items():
    _payload_cls, _window_cls = _payload_class(_cls, _struct, _windows)
    CHANNELS[_number] = (_wire, _payload_cls)
    _CLASSES[100 + _number] = _payload_cls
    if _window_cls is not None:
        _CLASSES[200 + _number] = _window_cls
# Every class is a module attribute, so messages pickle by reference (for multiprocessing, say).
globals().update({cls.__name__: cls for cls in _CLASSES.values()})
CHANNEL_NUMBERS = {wire: number for number, (wire, _) in CHANNELS.items()}
PAYLOAD_CLASSES = {cls.__name__: cls for _, cls in CHANNELS.values()}
_class = _CLASSES.get


def _persistent(pid: int) -> Any:
    # A channel this version lacks (a newer library) reads as a payload without named fields.
    return _class(pid, Payload)


class _Unpickler(pickle.Unpickler):
    """The C unpickler with the payload classes as persistent ids. A subclass's method, not an attribute set on
    the instance: that is read-only from Python 3.13 on."""

    persistent_load = staticmethod(_persistent)


class _NativeFile:
    """The pickle in native memory as a file for the unpickler, read without copying: ``read`` hands out
    ``memoryview`` slices of it, and the unpickler reads its one frame in place. (Copying it into ``bytes`` first
    cost two copies of every batch, into fresh memory the kernel had to fault in: 0.2 µs per message.) Valid only
    while the memory is, that is during ``load``."""

    __slots__ = ("_view", "_at")

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._at = 0

    def read(self, n: int = -1) -> memoryview:
        at = self._at
        end = len(self._view) if n < 0 else min(at + n, len(self._view))
        self._at = end
        return self._view[at:end]

    def readline(self) -> bytes:
        raise pickle.UnpicklingError("the native pickle has no line-based opcodes")


def _copied_file(address: int, length: int) -> Any:
    """The pickle copied into ``bytes``: for an interpreter without CPython's C API."""
    return io.BytesIO(ctypes.string_at(address, length))


try:
    _memory_view = ctypes.pythonapi.PyMemoryView_FromMemory
    _memory_view.restype = ctypes.py_object
    _memory_view.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)

    def _mapped_file(address: int, length: int) -> Any:
        """The pickle read in place (a read-only view of the native memory)."""
        return _NativeFile(_memory_view(address, length, 0x100))  # 0x100: PyBUF_READ

    _native_file = _mapped_file
except AttributeError:
    _native_file = _copied_file


_gc_isenabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
_gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)


def load(address: int, length: int) -> Tuple[List[Any], Optional[Event]]:
    """The objects of a pickle the native library wrote (at ``address``, valid during the call): the batch's
    messages and events in order, and its last fatal event or None.

    With the GIL, the cyclic garbage collector is off during the load, one C call: left on, it would run about
    twice per batch over objects that are all alive (the batch holds them) and promote them, for nothing (0.28 µs
    per message of 0.9 measured). The load runs no Python code but the class lookups and holds the GIL, so no other
    thread sees the collector off, except in the instant between these calls: a thread that turns it off in exactly
    that instant finds it back on. Without the GIL (free-threaded builds) other threads run meanwhile: the
    collector is left alone."""
    unpickler = _Unpickler(_native_file(address, length))
    if not _gc_isenabled() or not _gil_enabled():
        return unpickler.load()
    _gc_disable()
    try:
        return unpickler.load()
    finally:
        _gc_enable()
