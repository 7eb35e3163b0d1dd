// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// An order-independent checksum over decoded fields, computed the same way for every decoder in a benchmark,
/// so that no decoder is measured doing less work than another and all must agree on every value.
///
/// Each present value contributes `mix(fieldIndex, bits)`; absent and null contribute nothing; text contributes
/// its UTF-8 length (the corpus's benchmark strings have no escapes, so raw and decoded lengths agree).
package enum Checksum {
    @inline(__always)
    package static func mix(_ index: Int, _ bits: UInt64) -> UInt64 {
        var z = bits &+ UInt64(index &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return z ^ (z >> 29)
    }

    @inline(__always) package static func mix(_ i: Int, _ v: Double?) -> UInt64 { v.map { mix(i, $0.bitPattern) } ?? 0 }
    @inline(__always) package static func mix(_ i: Int, _ v: Int64?) -> UInt64 {
        v.map { mix(i, UInt64(bitPattern: $0)) } ?? 0
    }
    @inline(__always) package static func mix(_ i: Int, _ v: Bool?) -> UInt64 { v.map { mix(i, $0 ? 1 : 2) } ?? 0 }
    @inline(__always) package static func mix(_ i: Int, _ v: String?) -> UInt64 {
        v.map { mix(i, UInt64($0.utf8.count)) } ?? 0
    }
    @inline(__always) package static func mixLength(_ i: Int, _ count: Int?) -> UInt64 {
        count.map { mix(i, UInt64($0)) } ?? 0
    }
}
