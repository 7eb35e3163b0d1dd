"""Messages and events as Python objects, built from the C structs a poll returns.

A poll's frames lie back to back in one native block (see ``sk_client_poll``): it is copied out once per batch,
and each message slices its own frame (``raw``) from that copy, so a message kept does not keep its batch alive.
Each data message also copies its channel's payload struct (a few hundred bytes). Fields are read from that struct
on access: nothing is parsed in Python, and text fields are sliced out of ``raw`` only when read.
"""

import ctypes
import json
import re
import struct
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

from . import _payloads
from . import _native
from ._native import DATA_OFFSET, EVENTS, MESSAGE_SIZE

_string_at = ctypes.string_at


class Payload:
    """The typed payload of a data message. Each field reads under its wire key (``p``) and, where its meaning
    is known, a descriptive name (``price``); ``None`` when the key was absent or null. ``decimal(key)`` gives
    any number exactly as sent."""

    __slots__ = ("_b", "_pn", "_raw", "_base", "_texts", "_json")
    _fields: Tuple = ()
    _windows = None
    _container = None
    _struct = None

    def __init__(self, b: bytes, raw: bytes, base: int, outside: bool):
        self._b = b  # a copy of the C struct's bytes
        self._pn = _PRESENT_NULLS(b, 0)
        self._raw = raw  # the frame; its native address was `base`
        self._base = base
        self._json = None
        self._texts = None
        if outside:
            # A string had escapes: its decoded text lives in native memory the next poll reuses. Copy them now.
            self._texts = {}
            for wire, _, kind, bit, member, _, _ in self._fields:
                if kind == "text" and self._pn[0] & (1 << bit) and not self._pn[1] & (1 << bit):
                    ptr, n = _STR(b, getattr(self._struct, member).offset)
                    self._texts[wire] = _string_at(ptr, n).decode() if n else ""
            if self._windows is not None:
                self._texts[_WINDOWS] = self._make_windows()  # their texts too, while the native memory is valid

    def present(self, key: str) -> bool:
        """True when the payload carried ``key`` (a wire key or descriptive name), null included."""
        return bool(self._pn[0] & (1 << self._field(key)[3]))

    def is_null(self, key: str) -> bool:
        """True when the payload carried ``key`` as null."""
        return bool(self._pn[1] & (1 << self._field(key)[3]))

    def decimal(self, key: str) -> Optional[Decimal]:
        """The number under ``key`` exactly as the server sent it (no float rounding); None if absent or null.

        It reads the frame the way the typed fields do: where a key is repeated the last value counts, a window
        object repeated under its name (pool windows) is read over the earlier one, of two ``sts`` entries for
        the same window the last counts, and a number sent as a string counts as that number."""
        wire = self._field(key)[0]
        if self._json is None:
            self._json = json.loads(self._raw, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_Members)
        data = _last(self._json, "data")
        if self._container is not None and isinstance(data, _Members):  # a window: in `sts[]`, or under its name
            win = self._win
            if self._container:
                entries = _last(data, self._container)
                found = [w for w in entries if isinstance(w, _Members) and _last(w, "win") == win] \
                    if isinstance(entries, list) and not isinstance(entries, _Members) else []
                data = found[-1] if found else None
            else:
                data = _Members(m for k, v in data if k == win and isinstance(v, _Members) for m in v)
        value = _last(data, wire) if isinstance(data, _Members) else None
        if isinstance(value, str) and _JSON_NUMBER.fullmatch(value):
            return Decimal(value)
        return value if isinstance(value, Decimal) else None

    @property
    def unknown_keys(self) -> int:
        """Keys this version of StreamKit does not know (read them from ``Message.json``)."""
        return _I32(self._b, self._struct.unknown_keys.offset)[0]

    def to_dict(self) -> Dict[str, Any]:
        """Every field the payload carried, under its wire key (nulls as None)."""
        out = {}
        for wire, *_ in self._fields:
            if self.present(wire):
                out[wire] = getattr(self, wire)
        if self._windows is not None:
            for name, w in self.windows.items():
                out.setdefault("windows", {})[name] = w.to_dict()
        return out

    def _field(self, key: str):
        for f in self._fields:
            if key == f[0] or key == f[1]:
                return f
        raise KeyError(f"{type(self).__name__} has no field {key!r}")

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


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")

#: Where an outside-text payload keeps its windows, built at once (a key no field has).
_WINDOWS = "\0windows"
_PRESENT_NULLS = struct.Struct("<QQ").unpack_from
_STR = struct.Struct("<QQ").unpack_from
_I32 = struct.Struct("<i").unpack_from
_UNPACK = {"int": struct.Struct("<q").unpack_from, "double": struct.Struct("<d").unpack_from,
           "bool": struct.Struct("<i").unpack_from}


def _getter(wire, kind, bit, offset):
    mask = 1 << bit
    if kind == "text":
        def get(self):
            pn = self._pn
            if not pn[0] & mask or pn[1] & mask:
                return None
            if self._texts is not None:
                return self._texts[wire]
            ptr, n = _STR(self._b, offset)
            off = ptr - self._base
            return self._raw[off:off + n].decode()
    elif kind == "bool":
        unpack = _UNPACK["bool"]

        def get(self):
            pn = self._pn
            if not pn[0] & mask or pn[1] & mask:
                return None
            return bool(unpack(self._b, offset)[0])
    else:
        unpack = _UNPACK[kind]

        def get(self):
            pn = self._pn
            if not pn[0] & mask or pn[1] & mask:
                return None
            return unpack(self._b, offset)[0]
    get.__name__ = wire
    return property(get, doc=f"`{wire}`, or None when absent or null.")


def _payload_class(name: str, struct_name: str, windows=None, container=None):
    cstruct = getattr(_payloads, struct_name)
    fields = tuple(_payloads.FIELDS[struct_name])
    attrs: Dict[str, Any] = {"__slots__": (), "_fields": fields, "_struct": cstruct,
                             "__doc__": f"The payload of a {name} message."}
    if container is not None:
        attrs.update(__slots__=("_win",), _container=container, __doc__=f"One rolling window of a {name[:-6]} message.")
    for wire, pyname, kind, bit, member, _, _ in fields:
        prop = _getter(wire, kind, bit, getattr(cstruct, member).offset)
        attrs[wire] = prop
        if pyname != wire and pyname not in attrs:
            attrs[pyname] = prop
    if windows is not None:
        wire, names, window_struct = windows
        window_cls = _payload_class(name + "Window", window_struct, container=wire)
        base = cstruct.windows.offset
        size = ctypes.sizeof(getattr(_payloads, window_struct))
        masks = struct.Struct("<II").unpack_from
        masks_offset = cstruct.window_present.offset

        def make_windows(self, names=names, window_cls=window_cls):
            present, nulls = masks(self._b, masks_offset)
            out = {}
            for i, n in enumerate(names):
                if present & (1 << i) and not nulls & (1 << i):
                    at = base + i * size
                    w = out[n] = window_cls(self._b[at:at + size], self._raw, self._base, self._texts is not None)
                    w._win = n
            return out

        def get_windows(self):
            if self._texts is not None:
                return dict(self._texts[_WINDOWS])
            return make_windows(self)

        attrs["_make_windows"] = make_windows
        attrs["windows"] = property(get_windows, doc="The rolling windows the push carried, by name ('1h', ...).")
        attrs["_windows"] = names
    return type(name, (Payload,), attrs)


#: channel number -> (wire name, payload struct size, payload class)
CHANNELS: Dict[int, Tuple[str, int, Any]] = {}
for _number, (_wire, _member, _struct, _cls, _windows) in _payloads.CHANNELS.items():
    CHANNELS[_number] = (_wire, ctypes.sizeof(getattr(_payloads, _struct)), _payload_class(_cls, _struct, _windows))
CHANNEL_NUMBERS = {wire: number for number, (wire, _, _) in CHANNELS.items()}
PAYLOAD_CLASSES = {cls.__name__: cls for _, _, cls in CHANNELS.values()}
#: The params key of the channels whose target is not a token `address`.
_TARGET_KEY = {CHANNEL_NUMBERS["onchain@pool_metric"]: "pool_address",
               CHANNEL_NUMBERS["onchain@holder_wallet_update"]: "wallet_address"}


def _subscription_params(view) -> Dict[str, Any]:
    if view.channel == 1:
        return {"crypto_ids": view.crypto_id}
    if view.channel == 0:
        return {}
    p: Dict[str, Any] = {"platform_id": view.platform_id}
    key = _TARGET_KEY.get(view.channel, "address")
    p[key] = _string_at(view.address.ptr, view.address.len).decode() if view.address.len else None
    if view.interval.len:
        p["interval"] = _string_at(view.interval.ptr, view.interval.len).decode()
    return p


class Message:
    """A data push: ``channel`` (wire name), ``params`` (the subscription's params), ``ts`` (server time, epoch
    ms, or None), ``data`` (the typed payload), ``raw`` (the frame's bytes as received)."""

    __slots__ = ("channel", "params", "ts", "data", "raw", "connection", "_json")
    kind = "data"

    def __init__(self, channel, params, ts, data, raw, connection):
        self.channel = channel
        self.params = params
        self.ts = ts
        self.data = data
        self.raw = raw
        self.connection = connection
        self._json = None

    @property
    def json(self) -> Dict[str, Any]:
        """The whole frame parsed with numbers as Decimal (exact), for keys this version does not type."""
        if self._json is None:
            self._json = json.loads(self.raw, parse_float=Decimal)
        return self._json

    def __repr__(self) -> str:
        return f"Message(channel={self.channel!r}, params={self.params!r}, ts={self.ts!r}, data={self.data!r})"


class Event:
    """A lifecycle event, in order with the data: ``kind`` is one of connecting, connected, welcome, subscribed,
    unsubscribed, subscription_failed, stale, reconnecting, restored, gap, server_error, fatal, stopped,
    dropped. ``params`` names the subscription it is about (if any); ``attempt``, ``delay`` (s), ``gap`` (s),
    ``count``, ``code`` and ``text`` are set where they apply."""

    __slots__ = ("kind", "connection", "params", "attempt", "delay", "gap", "count", "code", "text")
    channel = None
    data = None

    def __init__(self, m):
        self.kind = EVENTS.get(m.event, f"event {m.event}")
        self.connection = m.connection
        self.params = _subscription_params(m.subscription) if m.subscription.channel else None
        self.attempt = m.attempt
        self.delay = m.delay_ms / 1000
        self.gap = m.gap_ms / 1000
        self.count = m.count
        self.code = m.code
        self.text = _string_at(m.text.ptr, m.text.len).decode() if m.text.len else ""

    def __repr__(self) -> str:
        extra = {k: getattr(self, k) for k in ("params", "attempt", "delay", "gap", "count", "code", "text")
                 if getattr(self, k)}
        return f"Event({self.kind!r}, {extra})"


def _envelope():
    """One unpack per sk_message of everything convert() needs before its payload (``iter_unpack`` over the
    batch: one C loop)."""
    M = _native.sk_message
    V = _native.sk_subscription_view
    sub = M.subscription.offset
    parts = [("kind", M.kind.offset, "i"), ("connection", M.connection.offset, "i"),
             ("sub_channel", sub + V.channel.offset, "i"), ("crypto_id", sub + V.crypto_id.offset, "q"),
             ("channel", M.channel.offset, "i"), ("has_ts", M.has_ts.offset, "i"), ("ts", M.ts.offset, "q"),
             ("raw_ptr", M.raw.offset, "Q"), ("raw_len", M.raw.offset + 8, "Q"),
             ("outside", M.text_outside_raw.offset, "i")]
    parts.sort(key=lambda p: p[1])
    assert [p[0] for p in parts] == ["kind", "connection", "sub_channel", "crypto_id", "channel", "has_ts", "ts",
                                     "raw_ptr", "raw_len", "outside"], "sk_message's layout changed: reorder"
    fmt, at = "<", 0
    for _, offset, code in parts:
        assert offset >= at
        fmt += "x" * (offset - at) + code
        at = offset + struct.calcsize(code)
    fmt += "x" * (MESSAGE_SIZE - at)
    return struct.Struct(fmt).iter_unpack


_ENVELOPES = _envelope()


def convert(batch, n: int) -> Tuple[List[Any], Optional["Event"]]:
    """Python objects for the first ``n`` messages of a polled batch (called with the batch still valid), and
    the batch's last fatal event if it had one.

    One unpack of each envelope and one copy of the batch's frames block; then per data message a slice of its
    frame, a copy of its payload struct and two objects. Fields are read from those copies on access.
    """
    if n == 0:
        return [], None
    mv = memoryview(batch).cast("B")
    size = MESSAGE_SIZE
    envelopes = list(_ENVELOPES(mv[:n * size]))
    # The frames block: from the first data message's frame to the end of the last one's.
    first = last = None
    for e in envelopes:
        if e[0] == 1:
            if first is None:
                first = e
            last = e
    if first is not None:
        block = first[7]
        frames = _string_at(block, last[7] + last[8] - block)
    out = []
    append = out.append
    channels = CHANNELS
    fatal = None
    at = DATA_OFFSET - size
    for i, (kind, connection, sub_channel, crypto_id, channel, has_ts, ts, raw_ptr, raw_len, outside) in \
            enumerate(envelopes):
        at += size
        if kind != 1:
            event = Event(batch[i])
            if event.kind == "fatal":
                fatal = event
            append(event)
            continue
        params = {"crypto_ids": crypto_id} if sub_channel == 1 else _subscription_params(batch[i].subscription)
        start = raw_ptr - block
        raw = frames[start:start + raw_len]
        entry = channels.get(channel)
        if entry is None:
            append(Message(None, params, ts if has_ts else None, None, raw, connection))
            continue
        wire, payload_size, payload_cls = entry
        data = payload_cls(mv[at:at + payload_size].tobytes(), raw, raw_ptr, outside)
        append(Message(wire, params, ts if has_ts else None, data, raw, connection))
    return out, fatal
