"""The Swift face: the payload types and their decoders (Sources/StreamKit/Channels/Generated), the JSONDecoder
mirrors of test support, the benchmark's checksums, the Swift of the C ABI that fills the C structs
(Sources/CABI/Generated/CPayloads.swift) and the Swift of the tables (Sources/StreamKit/Generated/Tables.swift,
Sources/CABI/Generated/CTables.swift). Names shared with other faces come from the model."""

import os
import textwrap

from .model import c_channel_const, c_enum_const, c_struct_name, c_window_names, packed, union_member
from .output import CHANNELS_NOTICE, TABLES_NOTICE

LICENSE = "// This source file is part of StreamKit.\n// SPDX-License-Identifier: Apache-2.0\n//\n"
#: The opening of every Swift file written from the channel schema.
HEADER = LICENSE + "// " + CHANNELS_NOTICE + "\n"
#: The opening of every Swift file written from the tables.
SWIFT_HEADER = LICENSE + "// " + TABLES_NOTICE + "\n\n"

#: Per field kind: the Swift type of the stored value, its zero, the JSONCursor reader, the FieldValue case.
SWIFT_TYPE = {"int": "Int64", "double": "Double", "text": "TextSlice", "bool": "Bool"}
DEFAULT = {"int": "0", "double": "0", "text": "TextSlice(offset: 0, count: 0, hasEscapes: false)", "bool": "false"}
READER = {"int": "readInt", "double": "readDouble", "text": "readText", "bool": "readBool"}
VALUE_CASE = {"int": "int", "double": "double", "text": "text", "bool": "bool"}


def pack(key: str) -> str:
    """The model's packed key as a Swift literal."""
    return "0x%X" % packed(key)


# Swift keywords (and `close`, `Type`), escaped with backticks where a wire key, a descriptive name or a C member
# (which the importer keeps as C spells it) is a Swift identifier.
SWIFT_KEYWORDS = set("""
    associatedtype class deinit enum extension fileprivate func import init inout internal let open operator private
    precedencegroup protocol public rethrows static struct subscript typealias var break case catch continue default
    defer do else fallthrough for guard if in repeat return throw switch where while Any as await false is nil self
    Self super throws true try _ consume copy borrowing consuming close Type
""".split())


def ident(name: str) -> str:
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def case_name(wire: str) -> str:
    return wire if wire[0].isalpha() else "_" + wire


# MARK: - Payload types and their decoders (Sources/StreamKit/Channels/Generated)

def gen_enum(e) -> str:
    lines = [HEADER, f"/// {e.doc}", f"public enum {e.name}: String, Sendable, Hashable, CaseIterable {{"]
    for case, wire, doc in e.cases:
        lines.append(f"    /// {doc}")
        lines.append(f'    case {case} = "{wire}"')
    lines.append("    /// A value this version of StreamKit does not know; the wire text stays in the payload.")
    lines.append('    case other = ""')
    lines.append("")
    lines.append("    @inlinable")
    lines.append("    init(_ s: TextSlice, in c: JSONCursor) {")
    for i, (case, wire, _) in enumerate(e.cases):
        kw = "if" if i == 0 else "} else if"
        lines.append(f'        {kw} c.slice(s, equals: "{wire}") {{')
        lines.append(f"            self = .{case}")
    lines.append("        } else {")
    lines.append("            self = .other")
    lines.append("        }")
    lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def gen_struct(type_name, doc, fields, windows=None, channel=None) -> str:
    assert len(fields) <= 64
    L = [HEADER]
    L.append(f"/// {doc}")
    if channel:
        L.append("///")
        L.append(f"/// The payload (`data`) of `{channel}`. Every field is readable under its wire key (`p`) and, where")
        L.append("/// its meaning is known, a descriptive name (`price`); absent and `null` fields read as `nil`, and")
        L.append("/// ``contains(_:)`` / ``isNull(_:)`` tell them apart. Text fields are ``TextSlice``s into the frame.")
    L.append(f"public struct {type_name}: PayloadFields, Sendable {{")
    # Field enum
    L.append("    /// The documented fields, in the reference's order.")
    L.append("    public enum Field: Int, PayloadField {")
    for i, f in enumerate(fields):
        L.append(f"        /// `{f.wire}`: {f.doc}")
        L.append(f"        case {case_name(f.wire)} = {i}")
    L.append("")
    L.append("        /// The key on the wire.")
    L.append("        public var wireKey: String {")
    L.append("            switch self {")
    for f in fields:
        L.append(f'            case .{case_name(f.wire)}: "{f.wire}"')
    L.append("            }")
    L.append("        }")
    L.append("")
    L.append("        /// The descriptive Swift name (the wire key where the meaning is unknown).")
    L.append("        public var name: String {")
    L.append("            switch self {")
    for f in fields:
        L.append(f'            case .{case_name(f.wire)}: "{f.name}"')
    L.append("            }")
    L.append("        }")
    L.append("")
    L.append("        /// The JSON type the reference gives the field.")
    L.append("        public var kind: FieldKind {")
    L.append("            switch self {")
    for f in fields:
        L.append(f"            case .{case_name(f.wire)}: .{f.kind}")
    L.append("            }")
    L.append("        }")
    L.append("")
    L.append("        /// True when routing needs the field: a payload without it (absent, null or mistyped) is delivered as")
    L.append("        /// ``Payload/unknown``, with no channel.")
    L.append("        public var isRequired: Bool {")
    req = [f for f in fields if f.req]
    if req:
        L.append("            switch self {")
        L.append("            case " + ", ".join("." + case_name(f.wire) for f in req) + ": true")
        L.append("            default: false")
        L.append("            }")
    else:
        L.append("            false")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    /// Bit `1 << field.rawValue` is set for each field the payload carried, `null` included (a value of the")
    L.append("    /// wrong JSON type is not included: see ``mistypedFields``).")
    L.append("    @inlinable public var presentFields: UInt64 { self._present }")
    L.append("    /// Bit `1 << field.rawValue` is set for each field that was `null`.")
    L.append("    @inlinable public var nullFields: UInt64 { self._nulls & self._present }")
    L.append("    /// Bit `1 << field.rawValue` is set for each field whose value had another JSON type than the field's")
    L.append("    /// (`ex: 0` for a boolean, a string for a number, ...). The value is not read: the field reads as absent")
    L.append("    /// (`nil`, and clear in ``presentFields``); the raw payload still holds it.")
    L.append("    @inlinable public var mistypedFields: UInt64 { self._nulls & ~self._present }")
    L.append("    /// How many payload keys this version of StreamKit does not know. They are not lost: read them from")
    L.append("    /// the frame's raw payload (``Message/payloadJSON``).")
    L.append("    @inlinable public var unknownKeyCount: Int { self._unknownKeys }")
    L.append("    @usableFromInline var _present: UInt64 = 0")
    L.append("    /// A field's bit with its `_present` bit: `null`; without it: a value of the wrong JSON type.")
    L.append("    @usableFromInline var _nulls: UInt64 = 0")
    L.append("    @usableFromInline var _unknownKeys: Int = 0")
    for f in fields:
        L.append(f"    @usableFromInline var _{f.wire}: {SWIFT_TYPE[f.kind]} = {DEFAULT[f.kind]}")
        if f.enum:
            L.append(f"    @usableFromInline var _{f.wire}Enum: {f.enum} = .other")
    if windows:
        wt = windows.type
        for case, _ in windows.names:
            L.append(f"    @usableFromInline var _window_{case} = {wt}()")
        L.append(f"    /// Bit `1 << name.rawValue` is set for each window the payload carried.")
        L.append(f"    @inlinable public var windowMask: UInt8 {{ self._windowMask }}")
        L.append(f"    /// Bit `1 << name.rawValue` is set for each window that was `null`.")
        L.append(f"    @inlinable public var nullWindowMask: UInt8 {{ self._nullWindowMask }}")
        mis_doc = (f"a `{windows.wire}` that is not an array sets every bit (0xFF)" if windows.style == "array"
                   else "a window key whose value is not an object")
        L.append(f"    /// Bits of windows whose value had the wrong JSON type ({mis_doc}); such a window reads as absent.")
        L.append(f"    @inlinable public var mistypedWindowMask: UInt8 {{ self._mistypedWindowMask }}")
        L.append(f"    /// Windows whose name this version of StreamKit does not know (kept in the raw payload).")
        L.append(f"    @inlinable public var unknownWindowCount: Int {{ self._unknownWindows }}")
        L.append("    @usableFromInline var _windowMask: UInt8 = 0")
        L.append("    @usableFromInline var _nullWindowMask: UInt8 = 0")
        L.append("    @usableFromInline var _mistypedWindowMask: UInt8 = 0")
        L.append("    @usableFromInline var _unknownWindows: Int = 0")
    L.append("")
    L.append("    /// An empty payload (every field absent).")
    L.append("    public init() {}")
    L.append("")
    L.append("    // MARK: - Fields")
    for i, f in enumerate(fields):
        bit = "0x%X" % (1 << i)
        st = SWIFT_TYPE[f.kind]
        L.append("")
        L.append(f"    /// {f.doc}")
        L.append("    ///")
        if f.req:
            L.append(f"    /// Wire key `{f.wire}`. Required: a payload without it (absent, null or mistyped) is delivered as")
            L.append("    /// ``Payload/unknown``, with no channel.")
            L.append(f"    @inlinable public var {ident(f.wire)}: {st} {{ self._{f.wire} }}")
        else:
            L.append(f"    /// Wire key `{f.wire}`. `nil` when absent, `null` or of the wrong JSON type.")
            L.append(f"    @inlinable public var {ident(f.wire)}: {st}? {{")
            L.append(f"        self.presentFields & {bit} != 0 && self.nullFields & {bit} == 0 ? self._{f.wire} : nil")
            L.append("    }")
        if f.enum:
            L.append("")
            L.append(f"    /// ``{f.wire}`` as a ``{f.enum}`` (`.other` for a value this version does not know).")
            if f.req:
                L.append(f"    @inlinable public var {ident(f.name)}: {f.enum} {{ self._{f.wire}Enum }}")
            else:
                L.append(f"    @inlinable public var {ident(f.name)}: {f.enum}? {{")
                L.append(f"        self.presentFields & {bit} != 0 && self.nullFields & {bit} == 0 ? self._{f.wire}Enum : nil")
                L.append("    }")
        elif f.name != f.wire:
            L.append("")
            L.append(f"    /// {f.doc} Same as ``{f.wire}``.")
            opt = "" if f.req else "?"
            L.append(f"    @inlinable public var {ident(f.name)}: {st}{opt} {{ self.{ident(f.wire)} }}")
    L.append("")
    L.append("    // MARK: - Generic access")
    L.append("")
    L.append("    /// True when the payload carried the field (possibly as `null`).")
    L.append("    @inlinable public func contains(_ field: Field) -> Bool { self.presentFields & (1 << field.rawValue) != 0 }")
    L.append("")
    L.append("    /// True when the payload carried the field as `null`.")
    L.append("    @inlinable public func isNull(_ field: Field) -> Bool { self.nullFields & (1 << field.rawValue) != 0 }")
    L.append("")
    L.append("    /// True when the payload carried the field with a value of the wrong JSON type (read as absent).")
    L.append("    @inlinable public func isMistyped(_ field: Field) -> Bool { self.mistypedFields & (1 << field.rawValue) != 0 }")
    L.append("")
    L.append("    /// The field's value, with absent and `null` told apart (a mistyped field is `.absent`).")
    L.append("    public subscript(field: Field) -> FieldValue {")
    L.append("        guard self.contains(field) else { return .absent }")
    L.append("        guard !self.isNull(field) else { return .null }")
    L.append("        switch field {")
    for f in fields:
        L.append(f"        case .{case_name(f.wire)}: return .{VALUE_CASE[f.kind]}(self._{f.wire})")
    L.append("        }")
    L.append("    }")
    if windows:
        L += gen_window_access(windows)
    L.append("}")
    L.append("")
    L += gen_decoder(type_name, fields, windows)
    return "\n".join(L) + "\n"


def gen_window_access(w):
    L = [""]
    L.append("    // MARK: - Windows")
    L.append("")
    L.append(f"    /// The window called `name`, or `nil` when this push did not carry it (or carried `null`).")
    L.append(f"    @inlinable public func window(_ name: {w.type}.Name) -> {w.type}? {{")
    L.append("        guard self.windowMask & (1 << name.rawValue) != 0, self.nullWindowMask & (1 << name.rawValue) == 0 else {")
    L.append("            return nil")
    L.append("        }")
    L.append("        switch name {")
    for case, _ in w.names:
        L.append(f"        case .{case}: return self._window_{case}")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    /// Calls `body` with each window this push carried, shortest first. Allocates nothing.")
    L.append(f"    @inlinable public func forEachWindow(_ body: ({w.type}.Name, {w.type}) throws -> Void) rethrows {{")
    L.append(f"        for name in {w.type}.Name.allCases {{")
    L.append("            if let window = self.window(name) { try body(name, window) }")
    L.append("        }")
    L.append("    }")
    return L


def member_pattern(key: str):
    """The bytes an ordered decoder expects after a member's opening quote: the key, `"` and `:`, packed
    little-endian (None when they do not fit in one word)."""
    b = key.encode() + b'":'
    if len(b) > 8:
        return None
    return "0x%X" % int.from_bytes(b, "little"), len(b)


def member_reads(fields, windows):
    """Each member a payload decoder knows, in schema order (windows last), as (wire key, the call that reads its
    value at `v`): the ordered fast path and the general loop's switch read a member with the same call."""
    reads = []
    for i, f in enumerate(fields):
        reads.append((f.wire, f"c.{READER[f.kind]}(v, into: &p._{f.wire}, bit: 0x{1 << i:X}, present: &p._present, nulls: &p._nulls, depth: depth &+ 1)"))
    if windows and windows.style == "array":
        reads.append((windows.wire, "p.decodeWindowArray(c, v, depth: depth &+ 1)"))
    if windows and windows.style == "keys":
        for idx, (case, wire) in enumerate(windows.names):
            reads.append((wire, f"Self.decodeWindow(c, v, depth: depth &+ 1, bit: {1 << idx}, mask: &p._windowMask, nullMask: &p._nullWindowMask, mistypedMask: &p._mistypedWindowMask, into: &p._window_{case})"))
    return reads


def gen_ordered(reads):
    """The fast path for members in the expected order (the reference's examples list keys in schema order,
    windows last): each expected key is checked with one comparison and its value read directly; a key that is
    not there (an absent field) costs one failed comparison. Whatever is left (keys out of order, unknown keys,
    whitespace, escapes) goes to the general loop (`members(continuing:in:)`) from where the fast path stopped."""
    L = ["        guard depth <= c.maxDepth else { throw DecodeError(.tooDeep, at: start) }"]
    L.append("        var i = start &+ 1")
    L.append("        ordered: do {")
    for wire, call in reads:
        pat = member_pattern(wire)
        if pat is None:
            break
        L.append(f"            if let v = c.expectMember(i, {pat[0]}, {pat[1]}) {{  // \"{wire}\":")
        L.append(f"                i = try {call}")
        L.append("                guard c.pastComma(&i) else { break ordered }")
        L.append("            }")
    L.append("        }")
    return L


def gen_decoder(type_name, fields, windows):
    reads = member_reads(fields, windows)
    L = [f"extension {type_name} {{"]
    L.append("    /// Decodes the object whose `{` is at `start` into `p`; returns the offset just past its `}`.")
    L.append(f"    static func decode(_ c: JSONCursor, _ start: Int, depth: Int, into p: inout {type_name}) throws(DecodeError) -> Int {{")
    L.append("        guard start < c.count, c.base[start] == UInt8(ascii: \"{\") else {")
    L.append("            throw DecodeError(.typeMismatch, at: start)")
    L.append("        }")
    L += gen_ordered(reads)
    L.append("        let end = try c.members(continuing: i, in: start) { (k, v) throws(DecodeError) -> Int in")
    L.append("            switch k.packed {")
    for wire, call in reads:
        L.append(f"            case {pack(wire)}:  // \"{wire}\"")
        L.append(f"                return try {call}")
    L.append("            default:")
    L.append("                p._unknownKeys &+= 1")
    L.append("                return try c.skipValue(v, depth: depth &+ 1)")
    L.append("            }")
    L.append("        }")
    for i, f in enumerate(fields):
        if f.enum:
            bit = "0x%X" % (1 << i)
            L.append(f"        if p._present & {bit} != 0 && p._nulls & {bit} == 0 {{")
            L.append(f"            p._{f.wire}Enum = {f.enum}(p._{f.wire}, in: c)")
            L.append("        }")
    req_bits = 0
    for i, f in enumerate(fields):
        if f.req:
            req_bits |= 1 << i
    L.append("        return end")
    L.append("    }")
    L.append("")
    L.append("    /// True when every field routing needs (``Field/isRequired``) carried a value of its type.")
    L.append("    @inlinable var hasRequiredFields: Bool {")
    if req_bits:
        L.append(f"        self._present & 0x{req_bits:X} == 0x{req_bits:X} && self._nulls & 0x{req_bits:X} == 0")
    else:
        L.append("        true")
    L.append("    }")
    if windows and windows.style == "array":
        wt = windows.type
        L.append("")
        L.append("    mutating func decodeWindowArray(_ c: JSONCursor, _ v: Int, depth: Int) throws(DecodeError) -> Int {")
        L.append("        switch c.base[v] {")
        L.append("        case UInt8(ascii: \"n\"):")
        L.append("            self._nullWindowMask = 0xFF")
        L.append("            self._mistypedWindowMask = 0")
        L.append("            return try c.literal(v, \"null\")")
        L.append("        case UInt8(ascii: \"[\"):")
        L.append("            // A repeated key: the last array wins, whole.")
        L.append("            self._windowMask = 0")
        L.append("            self._nullWindowMask = 0")
        L.append("            self._mistypedWindowMask = 0")
        L.append("            return try c.forEachElement(v, depth: depth) { (e) throws(DecodeError) -> Int in")
        L.append("                guard c.base[e] == UInt8(ascii: \"{\") else {")
        L.append("                    // Not a window object: nameless, so counted with the unknown windows.")
        L.append("                    self._unknownWindows &+= 1")
        L.append("                    return try c.skipValue(e, depth: depth &+ 1)")
        L.append("                }")
        L.append(f"                var w = {wt}()")
        L.append(f"                let end = try {wt}.decode(c, e, depth: depth &+ 1, into: &w)")
        L.append(f"                guard let name = w.window.flatMap({{ {wt}.Name($0, in: c) }}) else {{")
        L.append("                    self._unknownWindows &+= 1")
        L.append("                    return end")
        L.append("                }")
        L.append("                self._windowMask |= 1 << name.rawValue")
        L.append("                switch name {")
        for case, _ in windows.names:
            L.append(f"                case .{case}: self._window_{case} = w")
        L.append("                }")
        L.append("                return end")
        L.append("            }")
        L.append("        default:")
        L.append("            // Not an array: every window reads as absent, and the mask says why.")
        L.append("            self._windowMask = 0")
        L.append("            self._nullWindowMask = 0")
        L.append("            self._mistypedWindowMask = 0xFF")
        L.append("            return try c.skipValue(v, depth: depth)")
        L.append("        }")
        L.append("    }")
    if windows and windows.style == "keys":
        wt = windows.type
        L.append("")
        L.append(f"    static func decodeWindow(_ c: JSONCursor, _ v: Int, depth: Int, bit: UInt8, mask: inout UInt8, nullMask: inout UInt8, mistypedMask: inout UInt8, into w: inout {wt}) throws(DecodeError) -> Int {{")
        L.append("        if c.base[v] == UInt8(ascii: \"n\") {")
        L.append("            mask |= bit")
        L.append("            nullMask |= bit")
        L.append("            mistypedMask &= ~bit")
        L.append("            return try c.literal(v, \"null\")")
        L.append("        }")
        L.append("        guard c.base[v] == UInt8(ascii: \"{\") else {")
        L.append("            // Not an object: the window reads as absent.")
        L.append("            mask &= ~bit")
        L.append("            nullMask &= ~bit")
        L.append("            mistypedMask |= bit")
        L.append("            return try c.skipValue(v, depth: depth)")
        L.append("        }")
        L.append("        mask |= bit")
        L.append("        mistypedMask &= ~bit")
        L.append("        nullMask &= ~bit  // a repeated key: a later object is decoded over the earlier one")
        L.append(f"        return try {wt}.decode(c, v, depth: depth, into: &w)")
        L.append("    }")
    L.append("}")
    return L


def gen_window_name(w):
    L = ["", f"extension {w.type} {{"]
    L.append("    /// The windows StreamKit knows, shortest first.")
    L.append("    public enum Name: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {")
    for i, (case, wire) in enumerate(w.names):
        L.append(f"        /// `{wire}`")
        L.append(f"        case {case} = {i}")
    L.append("")
    L.append("        /// The window's name on the wire.")
    L.append("        public var description: String {")
    L.append("            switch self {")
    for case, wire in w.names:
        L.append(f'            case .{case}: "{wire}"')
    L.append("            }")
    L.append("        }")
    L.append("")
    L.append("        /// Looks a window up by its wire name.")
    L.append("        public init?(wireName: String) {")
    L.append("            guard let name = Self.allCases.first(where: { $0.description == wireName }) else { return nil }")
    L.append("            self = name")
    L.append("        }")
    L.append("")
    L.append("        @inlinable")
    L.append("        init?(_ s: TextSlice, in c: JSONCursor) {")
    for i, (case, wire) in enumerate(w.names):
        kw = "if" if i == 0 else "} else if"
        L.append(f'            {kw} c.slice(s, equals: "{wire}") {{')
        L.append(f"                self = .{case}")
    L.append("            } else {")
    L.append("                return nil")
    L.append("            }")
    L.append("        }")
    L.append("    }")
    L.append("}")
    return L


def gen_payload_enum(m):
    L = [HEADER]
    L.append("/// The typed payload of a data frame, one case per channel.")
    L.append("public enum Payload: Sendable {")
    for p in m.payloads:
        L.append(f"    /// `{p.channel}`")
        if p.windows:
            # Boxed: its windows make it several times larger than any other payload, and every message of every
            # channel would copy that size where frames are passed by value (ServerFrame, Message, StreamEvent).
            L.append(f"    indirect case {p.channel_case}({p.type})")
        else:
            L.append(f"    case {p.channel_case}({p.type})")
    L.append("    /// A channel this version of StreamKit does not know, a data frame whose channel is unknown (none sent, and")
    L.append("    /// its shape fits no one channel), or a payload without what routing needs (a price without `cid`, a")
    L.append("    /// `data` that is not an object); every key is in the raw payload.")
    L.append("    case unknown")
    L.append("")
    L.append("    /// The channel the payload belongs to, or `nil` for ``unknown``.")
    L.append("    public var channel: Channel? {")
    L.append("        switch self {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}: .{p.channel_case}")
    L.append("        case .unknown: nil")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    /// Keys of the payload object this version of StreamKit does not know.")
    L.append("    public var unknownKeyCount: Int {")
    L.append("        switch self {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}(let x): x.unknownKeyCount")
    L.append("        case .unknown: 0")
    L.append("        }")
    L.append("    }")
    L.append("}")
    L.append("")
    L.append("/// One payload slot per channel, so a frame decodes into its channel's struct in place.")
    L.append("@usableFromInline")
    L.append("struct PayloadSlots: Sendable {")
    for p in m.payloads:
        L.append(f"    @usableFromInline var {p.channel_case} = {p.type}()")
    L.append("")
    L.append("    @usableFromInline init() {}")
    L.append("")
    L.append("    /// Resets the slot of `channel` and decodes the payload object at `start` into it. Returns the offset")
    L.append("    /// just past the object; `complete` says whether it carried every field routing needs.")
    L.append("    mutating func decode(_ channel: Channel, _ c: JSONCursor, _ start: Int, depth: Int, complete: inout Bool) throws(DecodeError) -> Int {")
    L.append("        switch channel {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}:")
        L.append(f"            self.{p.channel_case} = {p.type}()")
        L.append(f"            let end = try {p.type}.decode(c, start, depth: depth, into: &self.{p.channel_case})")
        L.append(f"            complete = self.{p.channel_case}.hasRequiredFields")
        L.append("            return end")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    /// The slot of `channel` as a ``Payload``.")
    L.append("    func payload(_ channel: Channel?) -> Payload {")
    L.append("        switch channel {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}: .{p.channel_case}(self.{p.channel_case})")
    L.append("        case nil: .unknown")
    L.append("        }")
    L.append("    }")
    L.append("}")
    L.append("")
    L.append("extension DecodedFrame {")
    L.append("    /// Fields of this data frame's payload that were sent with an unexpected JSON type and read as absent")
    L.append("    /// (``PayloadFields/mistypedFields``), plus, for the channels with rolling windows, windows sent as")
    L.append("    /// something other than an object; 0 for anything but a data frame of a known channel. The client counts")
    L.append("    /// them per subscription (``SubscriptionMetrics/degradedFields``).")
    L.append("    @inlinable public var degradedFieldCount: Int {")
    L.append("        guard self.kind == .data else { return 0 }")
    L.append("        switch self.channel {")
    for p in m.payloads:
        extra = f" + self.slots.{p.channel_case}.mistypedWindowMask.nonzeroBitCount" if p.windows else ""
        L.append(f"        case .{p.channel_case}: return self.slots.{p.channel_case}.mistypedFields.nonzeroBitCount{extra}")
    L.append("        case nil: return 0")
    L.append("        }")
    L.append("    }")
    L.append("")
    for p in m.payloads:
        L.append(f"    /// The `{p.channel}` payload, when this is a data frame of that channel.")
        L.append(f"    @inlinable public var {p.channel_case}: {p.type}? {{")
        L.append(f"        self.kind == .data && self.channel == .{p.channel_case} ? self.slots.{p.channel_case} : nil")
        L.append("    }")
        L.append("")
    L[-1:] = []
    L.append("}")
    return "\n".join(L) + "\n"


def generate(m):
    """The files of Sources/StreamKit/Channels/Generated, by name."""
    files = {}
    for e in m.enums:
        files[f"{e.name}.swift"] = gen_enum(e)
    for w, windows in m.window_structs:
        text = gen_struct(w.type, w.doc, w.fields)
        text += "\n".join(gen_window_name(windows)) + "\n"
        files[f"{w.type}.swift"] = text
    for p in m.payloads:
        files[f"{p.type}.swift"] = gen_struct(p.type, p.doc, p.fields, p.windows, p.channel)
    files["Payload.swift"] = gen_payload_enum(m)
    return files


# MARK: - JSONDecoder mirrors (test support and benchmarks)

#: Per field kind: the type of a JSONDecoder mirror's property.
MIRROR_TYPE = {"int": "Int64", "double": "Double", "text": "String", "bool": "Bool"}


def mirror_struct(name, fields, windows=None):
    """An idiomatic Decodable struct, as a user of JSONDecoder would write it."""
    L = [f"/// `{name}` as a JSONDecoder user would write it: optionals, synthesized `Decodable`.",
         f"package struct {name}DTO: Decodable, Sendable {{"]
    keys = []
    for f in fields:
        opt = "" if f.req else "?"
        L.append(f"    package let {ident(f.wire)}: {MIRROR_TYPE[f.kind]}{opt}")
        keys.append((f.wire, f.wire))
    if windows and windows.style == "array":
        L.append(f"    package let {windows.wire}: [{windows.type}DTO?]?")
        keys.append((windows.wire, windows.wire))
    if windows and windows.style == "keys":
        for case, wire in windows.names:
            L.append(f"    package let {case}: {windows.type}DTO?")
            keys.append((case, wire))
    L.append("")
    L.append("    enum CodingKeys: String, CodingKey {")
    for prop, wire in keys:
        L.append(f'        case {ident(prop)} = "{wire}"')
    L.append("    }")
    L.append("")
    L.append("    /// ``Checksum`` of every field (windows included), for benchmarks.")
    L.append("    package var checksum: UInt64 {")
    L.append("        var h: UInt64 = 0")
    for i, f in enumerate(fields):
        L.append(f"        h &+= Checksum.mix({i}, self.{ident(f.wire)})")
    if windows and windows.style == "array":
        L.append(f"        if let list = self.{windows.wire} {{ for w in list {{ h &+= w?.checksum ?? 0 }} }}")
    if windows and windows.style == "keys":
        for case, _ in windows.names:
            L.append(f"        h &+= self.{case}?.checksum ?? 0")
    L.append("        return h")
    L.append("    }")
    L.append("")
    L.append("    /// The field under its wire key; absent and null both read as `.none`.")
    L.append("    package subscript(wire key: String) -> MirrorValue {")
    L.append("        switch key {")
    for f in fields:
        L.append(f'        case "{f.wire}": MirrorValue(self.{ident(f.wire)})')
    L.append("        default: .none")
    L.append("        }")
    L.append("    }")
    L.append("}")
    return L


def gen_mirrors(m):
    L = [HEADER, "import Foundation", ""]
    L.append("/// A field value as Foundation decoded it.")
    L.append("package enum MirrorValue: Equatable, Sendable {")
    L.append("    case none, int(Int64), double(Double), text(String), bool(Bool)")
    L.append("    init(_ v: Int64?) { self = v.map { .int($0) } ?? .none }")
    L.append("    init(_ v: Double?) { self = v.map { .double($0) } ?? .none }")
    L.append("    init(_ v: String?) { self = v.map { .text($0) } ?? .none }")
    L.append("    init(_ v: Bool?) { self = v.map { .bool($0) } ?? .none }")
    L.append("}")
    L.append("")
    L += mirror_struct("TokenMetricWindow", m.token_window.fields)
    L.append("")
    L += mirror_struct("PoolMetricWindow", m.pool_window.fields)
    for p in m.payloads:
        L.append("")
        L += mirror_struct(p.type, p.fields, p.windows)
    L.append("")
    L.append("/// The `params` echo of a data push.")
    L.append("package struct ParamsDTO: Decodable, Sendable {")
    L.append("    package let platform_id: Int64?")
    L.append("    package let crypto_ids: Int64?")
    L.append("    package let address: String?")
    L.append("    package let pool_address: String?")
    L.append("    package let wallet_address: String?")
    L.append("    package let interval: String?")
    L.append("}")
    L.append("")
    L.append("/// A data frame decoded with JSONDecoder: the envelope, then the payload chosen by `channel`.")
    L.append("package struct DataFrameDTO: Decodable, Sendable {")
    L.append("    package let type: String")
    L.append("    package let channel: String")
    L.append("    package let params: ParamsDTO")
    L.append("    package let ts: Int64?")
    L.append("    package let payload: PayloadDTO")
    L.append("")
    L.append("    enum CodingKeys: String, CodingKey { case type, channel, params, ts, data }")
    L.append("")
    L.append("    package init(from decoder: any Decoder) throws {")
    L.append("        let c = try decoder.container(keyedBy: CodingKeys.self)")
    L.append("        self.type = try c.decode(String.self, forKey: .type)")
    L.append("        self.channel = try c.decode(String.self, forKey: .channel)")
    L.append("        self.params = try c.decode(ParamsDTO.self, forKey: .params)")
    L.append("        self.ts = try c.decodeIfPresent(Int64.self, forKey: .ts)")
    L.append("        switch self.channel {")
    for p in m.payloads:
        L.append(f'        case "{p.channel}": self.payload = .{p.channel_case}(try c.decode({p.type}DTO.self, forKey: .data))')
    L.append("        default: self.payload = .unknown")
    L.append("        }")
    L.append("    }")
    L.append("}")
    L.append("")
    L.append("/// The payload of a ``DataFrameDTO``.")
    L.append("package enum PayloadDTO: Sendable {")
    for p in m.payloads:
        L.append(f"    case {p.channel_case}({p.type}DTO)")
    L.append("    case unknown")
    L.append("")
    L.append("    /// ``Checksum`` of every payload field.")
    L.append("    package var checksum: UInt64 {")
    L.append("        switch self {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}(let x): x.checksum")
    L.append("        case .unknown: 0")
    L.append("        }")
    L.append("    }")
    L.append("}")
    return "\n".join(L) + "\n"


# MARK: - The benchmark's checksums through the typed getters

def gen_bench_checksums(m):
    """Checksums over StreamKit payloads through their typed getters, as a user reads them; the same fold as
    the JSONDecoder mirrors' `checksum`, so the benchmark compares like with like."""
    L = [HEADER, "import CStreamKit", "import StreamKit", "import StreamKitTestSupport", ""]

    def body(type_name, fields, windows=None):
        out = [f"@inline(__always) func checksum(_ p: {type_name}) -> UInt64 {{", "    var h: UInt64 = 0"]
        for i, f in enumerate(fields):
            if f.kind == "text":
                opt = "" if f.req else "?"
                out.append(f"    h &+= Checksum.mixLength({i}, p.{ident(f.wire)}{opt}.count)")
            else:
                out.append(f"    h &+= Checksum.mix({i}, p.{ident(f.wire)})")
        if windows:
            out.append("    p.forEachWindow { _, w in h &+= checksum(w) }")
        out.append("    return h")
        out.append("}")
        return out

    L += body("TokenMetricWindow", m.token_window.fields)
    L.append("")
    L += body("PoolMetricWindow", m.pool_window.fields)
    for p in m.payloads:
        L.append("")
        L += body(p.type, p.fields, p.windows)
    L.append("")
    L += gen_member_size(m)
    return "\n".join(L) + "\n"


def gen_member_size(m):
    """`cPayloadMemberSize`: for the C ABI's poll (which copies only the member a message uses) and the benchmark
    (which reads what a C consumer reads)."""
    L = ["/// Bytes of `sk_payload`'s member for a channel (0 for `SK_CHANNEL_UNKNOWN` and unknown numbers): what a",
         "/// message of the channel uses; the rest of the union is the room of larger channels.",
         "func cPayloadMemberSize(_ channel: sk_channel) -> Int {",
         "    switch channel {"]
    for p in m.payloads:
        L.append(f"    case {c_channel_const(p)}: MemoryLayout<{c_struct_name(p.type)}>.size")
    L += ["    default: 0", "    }", "}"]
    return L


# MARK: - The Swift of the C ABI: filling the C payload structs

def gen_cabi_swift(m):
    """Swift that fills the C structs from the Swift payloads: no String, no Array, no allocation."""
    windows, payloads = m.c_windows, m.c_payloads
    by_type = {s.type: s for s in windows}
    L = [HEADER, "import CStreamKit", "import StreamKit", ""]
    L.append("extension Channel {")
    L.append("    /// The channel's `SK_CHANNEL_*` constant.")
    L.append("    var cChannel: sk_channel {")
    L.append("        switch self {")
    for p in m.payloads:
        L.append(f"        case .{p.channel_case}: {c_channel_const(p)}")
    L.append("        }")
    L.append("    }")
    L.append("")
    L.append("    /// The channel of an `SK_CHANNEL_*` constant; `nil` for `SK_CHANNEL_UNKNOWN` and unknown numbers.")
    L.append("    init?(cChannel: sk_channel) {")
    L.append("        switch cChannel {")
    for p in m.payloads:
        L.append(f"        case {c_channel_const(p)}: self = .{p.channel_case}")
    L.append("        default: return nil")
    L.append("        }")
    L.append("    }")
    L.append("}")
    for e in m.enums:
        L.append("")
        L.append(f"extension {e.name} {{")
        L.append(f"    /// The case's `{c_enum_const(e)[:-len('UNKNOWN')]}*` constant (`{c_enum_const(e)}` for ``other``).")
        L.append("    var cKind: Int32 {")
        L.append("        switch self {")
        for case, _, _ in e.cases:
            L.append(f"        case .{case}: Int32({c_enum_const(e, case)}.rawValue)")
        L.append(f"        case .other: Int32({c_enum_const(e)}.rawValue)")
        L.append("        }")
        L.append("    }")
        L.append("}")
    for s in windows + payloads:
        L.append("")
        L += gen_cabi_init(s, by_type)
    L.append("")
    L.append("/// Fills the union member for the payload's channel and returns the channel constant; returns")
    L.append("/// `SK_CHANNEL_UNKNOWN` and leaves `out` untouched for ``Payload/unknown``. Allocates nothing. Each member is")
    L.append("/// built in place (every member of a C union starts at its address): assigning the union's member would")
    L.append("/// build it aside and copy it.")
    L.append("func fillCPayload(")
    L.append("    _ payload: borrowing Payload, into out: UnsafeMutablePointer<sk_payload>, text: inout CText")
    L.append(") -> sk_channel {")
    L.append("    let member = UnsafeMutableRawPointer(out)")
    L.append("    switch payload {")
    for p, s in zip(m.payloads, payloads):
        L.append(f"    case .{p.channel_case}(let x):")
        L.append(f"        member.assumingMemoryBound(to: {s.name}.self).initialize(to: {s.name}(x, text: &text))")
        L.append(f"        return {c_channel_const(p)}")
    L.append("    case .unknown:")
    L.append("        return SK_CHANNEL_UNKNOWN")
    L.append("    }")
    L.append("}")
    L.append("")
    L.append("/// Fills the union member for the frame's channel straight from the frame's payload slot (no ``Payload``")
    L.append("/// enum is built; the frame read through its pointer, as passing it by value copies its 2.5 KB) and returns")
    L.append("/// the channel constant; returns `SK_CHANNEL_UNKNOWN` and leaves `out` untouched")
    L.append("/// unless the frame is a data frame of a known channel. Allocates nothing; each member built in place.")
    L.append("func fillCPayload(")
    L.append("    _ frame: UnsafePointer<DecodedFrame>, into out: UnsafeMutablePointer<sk_payload>, text: inout CText")
    L.append(") -> sk_channel {")
    L.append("    guard let channel = frame.pointee.channel else { return SK_CHANNEL_UNKNOWN }")
    L.append("    let member = UnsafeMutableRawPointer(out)")
    L.append("    switch channel {")
    for p, s in zip(m.payloads, payloads):
        L.append(f"    case .{p.channel_case}:")
        L.append(f"        guard let x = frame.pointee.{p.channel_case} else {{ return SK_CHANNEL_UNKNOWN }}")
        L.append(f"        member.assumingMemoryBound(to: {s.name}.self).initialize(to: {s.name}(x, text: &text))")
        L.append(f"        return {c_channel_const(p)}")
    L.append("    }")
    L.append("}")
    L.append("")
    L += gen_member_size(m)
    L += gen_pickle_layouts(windows, payloads, by_type)
    return "\n".join(L) + "\n"


PICKLE_KIND = {"int": ".int", "double": ".double", "bool": ".bool", "text": ".text"}


def gen_pickle_layouts(windows, payloads, by_type):
    """Where the pickle writer (Sources/CABI/Pickle.swift) finds each field of a C payload struct, in the order of
    the Python package's field tables (`_payloads.FIELDS`: a field's index is its bit)."""
    def layout(s, indent):
        pad = " " * indent
        out = [f"CStructLayout("]
        out.append(f"{pad}    fields: [")
        for f in s.fields:
            out.append(f"{pad}        CFieldLayout(kind: {PICKLE_KIND[f.kind]}, "
                       f"offset: MemoryLayout<{s.name}>.offset(of: \\{s.name}.{ident(s.member[f.wire])})!),")
        out.append(f"{pad}    ],")
        out.append(f"{pad}    unknownKeys: MemoryLayout<{s.name}>.offset(of: \\{s.name}.unknown_keys)!,")
        if s.windows:
            w = by_type[s.windows.type]
            names = ", ".join(f'"{wire}"' for _, wire in c_window_names(s.windows)[0])
            out.append(f"{pad}    windows: CWindowsLayout(")
            out.append(f"{pad}        names: [{names}],")
            out.append(f"{pad}        present: MemoryLayout<{s.name}>.offset(of: \\{s.name}.window_present)!,")
            out.append(f"{pad}        nulls: MemoryLayout<{s.name}>.offset(of: \\{s.name}.window_nulls)!,")
            out.append(f"{pad}        base: MemoryLayout<{s.name}>.offset(of: \\{s.name}.windows)!,")
            out.append(f"{pad}        stride: MemoryLayout<{w.name}>.stride,")
            out.append(f"{pad}        layout: " + "\n".join(layout(w, indent + 8)))
            out.append(f"{pad}    )")
        else:
            out.append(f"{pad}    windows: nil")
        out.append(f"{pad})")
        return out
    L = ["", "/// The pickle writer's view of each payload struct, by `sk_channel` number (index 0, `SK_CHANNEL_UNKNOWN`, is nil):",
         "/// per field its kind and offset, in the order of the Python package's field tables.",
         "let cPayloadLayouts: [CStructLayout?] = ["]
    L.append("    nil,")
    for s in payloads:
        body = layout(s, 4)
        L.append("    " + body[0])
        L += body[1:-1]
        L.append(body[-1] + ",")
    L.append("]")
    return L


def gen_cabi_init(s, by_type):
    L = [f"extension {s.name} {{"]
    parts = ["the bit sets"] + (["the enum kinds"] if s.kind_member else []) + (["the windows"] if s.windows else [])
    L.append("    /// The C view of `x`: every field (0, or an empty `sk_str`, when absent or null), "
             + ", ".join(parts) + ",")
    L.append("    /// and the unknown-key count. Allocates nothing; `text` makes the `sk_str` of each text field.")
    L.append(f"    init(_ x: borrowing {s.type}, text: inout CText) {{")
    L.append("        self.init()")
    L.append("        self.present = x.presentFields")
    L.append("        self.nulls = x.nullFields")
    L.append("        self.mistyped = x.mistypedFields")
    for f in s.fields:
        get = f"x.{ident(f.wire)}"
        mem = "self." + ident(s.member[f.wire])
        conv = {"int": "{}", "double": "{}", "text": "text({})", "bool": "{} ? 1 : 0"}[f.kind]
        if f.req:
            L.append(f"        {mem} = {conv.format(get)}")
        else:
            L.append(f"        if let v = {get} {{ {mem} = {conv.format('v')} }}")
        if f.enum:
            kind = "self." + ident(s.kind_member[f.wire])
            if f.req:
                L.append(f"        {kind} = x.{ident(f.name)}.cKind")
            else:
                L.append(f"        if let v = x.{ident(f.name)} {{ {kind} = v.cKind }}")
    if s.windows:
        w = s.windows
        ws = by_type[w.type]
        L.append("        self.window_present = UInt32(x.windowMask)")
        L.append("        self.window_nulls = UInt32(x.nullWindowMask)")
        L.append("        self.unknown_windows = Int32(clamping: x.unknownWindowCount)")
        for i, (case, _) in enumerate(w.names):
            L.append(f"        if let w = x.window(.{case}) {{ self.windows.{i} = {ws.name}(w, text: &text) }}")
    L.append("        self.unknown_keys = Int32(clamping: x.unknownKeyCount)")
    L.append("    }")
    L.append("}")
    return L


# MARK: - Tables (scripts/tables_schema.py)

def camel(name):
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def swift_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gen_swift_tables(m):
    v = m.version_string
    out = [SWIFT_HEADER]
    out.append(f"""/// The library version, as `STREAMKIT_VERSION*` in the C header and `streamkit.__version__` in Python.
public enum StreamKitVersion {{
    public static let major = {m.version[0]}
    public static let minor = {m.version[1]}
    public static let patch = {m.version[2]}
    /// `major * 1_000_000 + minor * 1_000 + patch`, as sqlite's version number.
    public static let number = {m.version_number}
    /// `"major.minor.patch"`.
    public static let string = "{v}"
    /// ``string`` in static storage, for C (`sk_version`).
    public static let staticString: StaticString = "{v}"
}}

/// The status table shared by every face: `sk_status` in C, the exception classes in Python
/// (`StreamKitError.status`), ``rawValue`` in Swift (`StreamClientError.status`). Numbers are only ever appended.
public enum StreamKitStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {{
""")
    for s in m.statuses:
        out.append(f"    /// {s.doc}\n    case {s.swift_case} = {s.number}\n")
    out.append("""
    /// The short text of `sk_status_string` ("misuse", ...).
    public var description: String { String(describing: self.text) }

    /// ``description`` in static storage, for C.
    public var text: StaticString {
        switch self {
""")
    for s in m.statuses:
        out.append(f"        case .{s.swift_case}: {swift_string(s.text)}\n")
    out.append("""        }
    }
}

/// The simulator's fault kinds by name (`sk_fault` in C, `Simulator.inject` in Python, `--fault` on the command
/// line); `SimulatorFault.kinds` builds each kind from its name.
public enum FaultNumbers {
    public static let byName: [String: Int32] = [
""")
    for f in m.faults:
        out.append(f"        {swift_string(f.name)}: {f.number},\n")
    out.append("""    ]
}

/// The reasons' numbers and names, the same in every face: `sk_disconnect_reason` in C (`SK_REASON_*`; 0,
/// `SK_REASON_NONE`, is no reason), `DISCONNECT_REASONS` in Python. Numbers are only ever appended.
extension DisconnectReason {
    /// The reason's `SK_REASON_*` number (never 0).
    public var number: Int32 {
        switch self {
""")
    for r in m.reasons:
        out.append(f"        case .{r.swift_case}: {r.number}\n")
    out.append("""        }
    }

    /// The reason's name (`"closed_by_server"`, ...), as Python's `DISCONNECT_REASONS` has it.
    public var name: String {
        switch self {
""")
    for r in m.reasons:
        out.append(f"        case .{r.swift_case}: {swift_string(r.name)}\n")
    out.append("""        }
    }
}

/// Every default of the configuration (`SessionConfiguration`, `SessionPool.Configuration`,
/// `StreamClientConfiguration`, `DeliveryConfiguration`, the C `sk_config_new`, Python's `Client`), with the
/// reason for each.
public enum StreamKitDefaults {
""")
    for d in m.defaults:  # every one: the configuration types start from them
        for line in textwrap.wrap(d.reason, width=112):
            out.append(f"    /// {line}\n")
        if d.kind == "seconds":
            literal = f": Duration = .seconds({d.value})"
        elif d.kind == "text":
            literal = f" = {swift_string(d.value)}"
        elif d.kind == "double":
            literal = f": Double = {d.value!r}"
        else:
            literal = f" = {d.value}"
        out.append(f"    public static let {camel(d.name)}{literal}\n")
    out.append("}\n")
    return "".join(out)


def gen_cabi_tables(m):
    return SWIFT_HEADER + """import StreamKit

@_cdecl("sk_version")
public func skVersion() -> UnsafePointer<CChar> { staticCString(StreamKitVersion.staticString) }

@_cdecl("sk_status_string")
public func skStatusString(_ status: Int32) -> UnsafePointer<CChar> {
    staticCString(StreamKitStatus(rawValue: status)?.text ?? "unknown status")
}

/// sk_event's names by number (Python's `Event.kind`, the capture format's `"e"`); "" for SK_EVENT_NONE.
let skEventNames: [StaticString] = [""" + ", ".join(swift_string(e.name or "") for e in m.events) + """]

/// sk_event by name (a capture's event kinds; a name this version lacks has none).
let skEventsByName: [String: Int32] = [""" + ", ".join(f"{swift_string(e.name)}: {e.number}" for e in m.events if e.name) + """]
"""


# MARK: - Files

def render(m, out):
    """Every Swift file, into `out` (an output.Outputs)."""
    channels = os.path.join("Sources", "StreamKit", "Channels", "Generated")
    out.own(channels)
    for name, text in generate(m).items():
        out.file(os.path.join(channels, name), text)
    out.file("Sources/StreamKitTestSupport/Generated/FoundationMirrors.swift", gen_mirrors(m))
    out.file("Benchmarks/streamkit-bench/Generated/PayloadChecksums.swift", gen_bench_checksums(m))
    out.file("Sources/CABI/Generated/CPayloads.swift", gen_cabi_swift(m))
    out.file("Sources/StreamKit/Generated/Tables.swift", gen_swift_tables(m))
    out.file("Sources/CABI/Generated/CTables.swift", gen_cabi_tables(m))
