// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// The JSON type the reference gives a payload field.
public enum FieldKind: String, Sendable, Hashable {
    /// An integer, read as `Int64` (ids, counts, epoch-ms times, indexes).
    case int
    /// A number, read as a correctly rounded `Double`. The exact decimal text stays in the frame.
    case double
    /// A string, kept as a ``TextSlice`` into the frame.
    case text
    /// `true` or `false`.
    case bool
}

/// One field's value, with absent and `null` told apart.
public enum FieldValue: Sendable, Hashable {
    /// The payload did not carry the key.
    case absent
    /// The payload carried the key with `null`.
    case null
    case int(Int64)
    case double(Double)
    case text(TextSlice)
    case bool(Bool)
}

/// A payload's field list: wire key, descriptive name and type of each field.
public protocol PayloadField: CaseIterable, Sendable, Hashable, RawRepresentable where RawValue == Int {
    /// The key on the wire (`p`).
    var wireKey: String { get }
    /// The descriptive Swift name (`price`); the wire key where the meaning is unknown.
    var name: String { get }
    /// The JSON type the reference gives the field.
    var kind: FieldKind { get }
    /// True when routing needs the field (only `cid` of a price): a payload without it is delivered as
    /// ``Payload/unknown``.
    var isRequired: Bool { get }
}

/// Generic, allocation-free access to any payload's fields (what the CLI, the C ABI and tests use).
public protocol PayloadFields: Sendable {
    associatedtype Field: PayloadField
    /// The field's value, with absent and `null` told apart (a value of the wrong JSON type reads as absent).
    subscript(field: Field) -> FieldValue { get }
    /// Bit `1 << field.rawValue` for each field whose value had the wrong JSON type (read as absent).
    var mistypedFields: UInt64 { get }
    /// Payload keys this version of StreamKit does not know (kept in the frame).
    var unknownKeyCount: Int { get }
}
