"""The model every renderer reads: both schemas loaded and checked, and every name, number and type mapping that
more than one language uses, derived here once.

scripts/channels_schema.py gives the payloads (fields, enums, windows); scripts/tables_schema.py the version, the
statuses, events, fault kinds, disconnect reasons and defaults. From them this module derives, for instance, the C name and layout of
each payload struct and the name of each of its members (the C header declares them, the Swift of the C ABI fills
them, Python's ctypes mirrors them, the benchmark's peers read them), the `SK_*` constant of every channel, enum
case, window, status, event, fault and disconnect reason, and the packed form of each wire key. A renderer (swift.py, c.py,
python.py) spells these in its language and derives nothing another renderer needs."""

import importlib.util
import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(SCRIPTS)


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(SCRIPTS, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fail(message):
    raise SystemExit(message)


# MARK: - Names

#: The JSON kinds a field may have (channels_schema.Field.kind).
KINDS = ("int", "double", "text", "bool")


def snake(name: str) -> str:
    """`CryptoLatestPrice` -> `crypto_latest_price`, `tagDistribution` -> `tag_distribution`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def packed(key: str) -> int:
    """A wire key of 1 to 8 bytes as one little-endian 64-bit integer: how the Swift decoder and the benchmark's
    peers match keys."""
    b = key.encode()
    assert 1 <= len(b) <= 8, key
    return int.from_bytes(b, "little")


# C and C++ keywords (C23 and C++20 included, with C++'s alternative tokens), plus names a C program may see as
# object-like macros: libc's `errno`, `stdin`, ..., and what GNU modes (`-std=gnu99`) predefine (`linux`, `unix`).
C_KEYWORDS = set("""
    auto break case char const continue default do double else enum extern float for goto if inline int long
    register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local
    alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class co_await co_return co_yield compl concept
    const_cast consteval constinit decltype delete dynamic_cast explicit export friend mutable namespace new
    noexcept not not_eq operator or or_eq private protected public reinterpret_cast requires static_cast
    template this throw try typeid typename using virtual wchar_t xor xor_eq final override import module
    errno stdin stdout stderr linux unix i386 NULL EOF
""".split())
# Members every payload struct has besides its fields: a wire key equal to one of these gets a trailing `_`.
C_FIXED_MEMBERS = {"present", "nulls", "mistyped", "unknown_keys", "windows", "window_present", "window_nulls", "unknown_windows"}
#: The C type of a field of each kind (the C header declares it; Python's ctypes mirrors it).
C_TYPE = {"int": "int64_t", "double": "double", "text": "sk_str", "bool": "int"}


def c_channel_const(p):
    """The `SK_CHANNEL_*` constant of a payload's channel."""
    return "SK_CHANNEL_" + snake(p.channel_case).upper()


def union_member(p):
    """The member of `sk_payload` (and of Python's ctypes union) that holds a payload's channel."""
    return snake(p.channel_case)


def c_enum_const(e, case=None):
    """The C constant of an enum case (`SK_SWAP_SIDE_BUY`), or of its unknown value without `case`."""
    prefix = "SK_" + snake(e.name).upper()
    return f"{prefix}_{snake(case).upper()}" if case else f"{prefix}_UNKNOWN"


def c_window_names(w):
    """(constant, wire name) per window of `w`, in `Name.rawValue` order, and the count macro."""
    prefix = "SK_" + snake(w.type).upper()
    for _, wire in w.names:
        assert re.fullmatch(r"[A-Za-z0-9_]+", wire), wire
    return [(f"{prefix}_{wire.upper()}", wire) for _, wire in w.names], f"{prefix}_COUNT"


@dataclass(frozen=True)
class CMember:
    """One member of a C payload or window struct, in layout order."""
    name: str
    c_type: str  # a C type name (C_TYPE's, the fixed members' or a window struct's)
    role: str  # present, nulls, mistyped, field, kind (an enum field's constant), window_present, window_nulls,
    #            unknown_windows, windows, unknown_keys
    field: object = None  # the schema field, for the roles field and kind
    count: int = 0  # for windows: the array's length


def c_struct_name(type_name):
    """The C name of a payload or window struct: `sk_crypto_latest_price`."""
    return "sk_" + snake(type_name)


class CStruct:
    """The C ABI's view of one payload or window struct: its names, members (the layout) and bit macros, as the
    C header declares them and the Swift of the C ABI, Python's ctypes and the benchmark's peers use them."""

    def __init__(self, type_name, doc, fields, windows=None, channel=None):
        self.type = type_name
        self.doc = doc
        self.fields = fields
        self.windows = windows
        self.channel = channel
        self.name = c_struct_name(type_name)
        self.macro = self.name.upper()
        used = set(C_FIXED_MEMBERS)
        self.member = {}
        for f in fields:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", f.wire), f"wire key {f.wire!r} is not a C identifier"
            m = f.wire
            while m in C_KEYWORDS or m in used:
                m += "_"
            used.add(m)
            self.member[f.wire] = m
        self.kind_member = {}
        for f in fields:
            if f.enum:
                m = self.member[f.wire] + "_kind"
                while m in C_KEYWORDS or m in used:
                    m += "_"
                used.add(m)
                self.kind_member[f.wire] = m
        #: The layout, in order: the bit sets, each field (an enum field followed by its constant), the windows, the
        #: count of unknown keys.
        self.members = [CMember("present", "uint64_t", "present"), CMember("nulls", "uint64_t", "nulls"),
                        CMember("mistyped", "uint64_t", "mistyped")]
        for f in fields:
            self.members.append(CMember(self.member[f.wire], C_TYPE[f.kind], "field", f))
            if f.enum:
                self.members.append(CMember(self.kind_member[f.wire], "int", "kind", f))
        if windows:
            self.members += [CMember("window_present", "uint32_t", "window_present"),
                             CMember("window_nulls", "uint32_t", "window_nulls"),
                             CMember("unknown_windows", "int32_t", "unknown_windows"),
                             CMember("windows", c_struct_name(windows.type), "windows", count=len(windows.names))]
        self.members.append(CMember("unknown_keys", "int32_t", "unknown_keys"))

    def bit_macro(self, f):
        return f"{self.macro}_{self.member[f.wire].upper()}"


# MARK: - Tables

@dataclass(frozen=True)
class Status:
    c_name: str  # SK_OK, ...: C's constant and Python's
    number: int
    swift_case: str
    text: str  # sk_status_string
    doc: str
    py_class: Optional[str]
    py_bases: Tuple[str, ...]
    py_doc: Optional[str]


@dataclass(frozen=True)
class Event:
    c_name: str
    number: int
    name: Optional[str]  # Python's streamkit.Event.kind, the capture format's "e"; None for SK_EVENT_NONE
    doc: str


@dataclass(frozen=True)
class Fault:
    name: str  # Python's, SimulatorFault.kinds'; the CLI spells it with "-"
    number: int
    c_name: str
    doc: str


@dataclass(frozen=True)
class Reason:
    swift_case: Optional[str]  # the case of DisconnectReason
    number: int
    name: Optional[str]  # snake_case: Python's DISCONNECT_REASONS
    c_name: str
    doc: str


#: What no disconnect reason reads as in C: not a case of DisconnectReason, not in Python's table.
REASON_NONE = Reason(None, 0, None, "SK_REASON_NONE", "No reason: not about a connection that ended.")


@dataclass(frozen=True)
class Default:
    name: str
    kind: str  # int, double, text, seconds
    value: object
    faces: frozenset  # "c", "py"
    reason: str
    c_name: str


OVERFLOW_NAMES = ("block", "drop_oldest", "conflate")


def swift_enum_cases(path, name):
    """The case names of `public enum NAME` in a Swift source file (one `case` per line, as StreamKit writes them)."""
    with open(path) as fh:
        text = fh.read()
    m = re.search(rf"^public enum {name}\b[^{{]*\{{\n(.*?)^\}}", text, re.S | re.M)
    if not m:
        fail(f"{os.path.relpath(path, ROOT)}: no `public enum {name}`")
    return re.findall(r"^    case (\w+)", m.group(1), re.M)


class Model:
    """Both schemas, checked, with what every face derives from them."""

    def __init__(self, root=ROOT):
        self.root = root
        channels = _load("channels_schema")
        tables = _load("tables_schema")

        # Channels.
        self.enums = channels.ENUMS
        self.payloads = channels.PAYLOADS
        self.token_window = channels.TOKEN_WINDOW
        self.pool_window = channels.POOL_WINDOW
        #: The window structs, each with the `Windowed` of the one payload that embeds it.
        self.window_structs = [(w, self.windowed_of(w)) for w in (self.token_window, self.pool_window)]
        self.check_channels()
        #: Window structs first (payloads embed them), then the payloads in schema order (channel numbers 1, 2, ...).
        self.c_windows = [CStruct(w.type, w.doc, w.fields) for w, _ in self.window_structs]
        self.c_payloads = [CStruct(p.type, p.doc, p.fields, p.windows, p.channel) for p in self.payloads]
        self.c_by_type = {s.type: s for s in self.c_windows + self.c_payloads}

        # Tables.
        self.version = tables.VERSION
        self.version_string = ".".join(map(str, self.version))
        self.version_number = self.version[0] * 1_000_000 + self.version[1] * 1000 + self.version[2]
        self.statuses = [Status(f"SK_{s[0]}", *s[1:]) for s in tables.STATUSES]
        self.events = [Event(f"SK_EVENT_{e[0]}", e[1], e[2], e[3]) for e in tables.EVENTS]
        self.faults = [Fault(f[0], f[1], f"SK_FAULT_{f[0].upper()}", f[2]) for f in tables.FAULTS]
        #: DisconnectReason's cases, numbered from 1 (REASON_NONE is 0).
        self.reasons = [Reason(r[0], r[1], r[2], f"SK_REASON_{r[2].upper()}", r[3])
                        for r in tables.DISCONNECT_REASONS]
        self.defaults = [Default(d[0], d[1], d[2], frozenset(d[3].split()), d[4], f"SK_DEFAULT_{d[0].upper()}")
                         for d in tables.DEFAULTS]
        self.check_tables()

    def windowed_of(self, struct):
        users = [p.windows for p in self.payloads if p.windows and p.windows.type == struct.type]
        if len(users) != 1:
            fail(f"channels_schema: {struct.type} must be the windows of exactly one payload")
        return users[0]

    def enum(self, name):
        return next(e for e in self.enums if e.name == name)

    def defaults_for(self, face):
        return [d for d in self.defaults if face in d.faces]

    def check_channels(self):
        enums = {e.name for e in self.enums}
        for s in [w for w, _ in self.window_structs] + self.payloads:
            if len(s.fields) > 64:
                fail(f"channels_schema: {s.type} has more than 64 fields (its bit sets are 64 bits)")
            for f in s.fields:
                if f.kind not in KINDS:
                    fail(f"channels_schema: {s.type}.{f.wire}: kind {f.kind!r} is not one of {KINDS}")
                if f.enum and f.enum not in enums:
                    fail(f"channels_schema: {s.type}.{f.wire}: no enum {f.enum}")
        types = {p.windows.type for p in self.payloads if p.windows}
        if types != {w.type for w, _ in self.window_structs}:
            fail("channels_schema: the payloads' window types are not TOKEN_WINDOW's and POOL_WINDOW's")

    def check_tables(self):
        overflow = [d.value for d in self.defaults if d.name == "overflow"]
        if overflow and overflow[0] not in OVERFLOW_NAMES:
            fail(f"tables_schema.DEFAULTS: overflow must be one of {OVERFLOW_NAMES}")
        if [e.number for e in self.events] != list(range(len(self.events))):
            fail("tables_schema.EVENTS: numbers must run 0, 1, 2, ... (they index sk_event's names)")
        for name, rows in (("STATUSES", self.statuses), ("EVENTS", self.events), ("FAULTS", self.faults),
                           ("DISCONNECT_REASONS", self.reasons)):
            numbers = [r.number for r in rows]
            if len(set(numbers)) != len(numbers):
                fail(f"tables_schema.{name}: a number appears twice")
        self.check_reasons()

    def check_reasons(self):
        for r in self.reasons:
            if r.number < 1:
                fail(f"tables_schema.DISCONNECT_REASONS: {r.name} = {r.number}: numbers start at 1 (0 is none)")
            if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", r.name):
                fail(f"tables_schema.DISCONNECT_REASONS: {r.name!r} is not a snake_case name")
        if len({r.name for r in self.reasons}) != len(self.reasons):
            fail("tables_schema.DISCONNECT_REASONS: a name appears twice")
        # The generated Swift switches over DisconnectReason: the table names each case exactly once (checked
        # here too, so that a mismatch shows without a Swift build).
        swift = os.path.join(self.root, "Sources", "StreamKit", "Session", "SessionTypes.swift")
        cases = swift_enum_cases(swift, "DisconnectReason")
        listed = [r.swift_case for r in self.reasons]
        if sorted(cases) != sorted(listed):
            missing = sorted(set(cases) - set(listed))
            wrong = sorted({c for c in listed if c not in cases or listed.count(c) > 1})
            fail(f"tables_schema.DISCONNECT_REASONS must name each case of DisconnectReason "
                 f"({os.path.relpath(swift, self.root)}) exactly once: missing {missing or 'none'}, unknown or "
                 f"repeated {wrong or 'none'}")
