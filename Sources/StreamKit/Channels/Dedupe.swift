// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

extension Transaction {
    /// With ``tx``, what identifies this swap across both token legs: `lgid` (EVM log index), or `iix` (Solana
    /// instruction index) when there is no `lgid`. `nil` when the push carries neither (seen on real frames);
    /// such a push can only be deduplicated on `tx` alone.
    @inlinable public var dedupeIndex: Int64? { self.lgid ?? self.iix }
}

extension LiquidityEvent {
    /// With ``tx``, what identifies this event across both token legs: `lgid`, else `iix`. `nil` when the push
    /// carries neither (seen on a real frame).
    @inlinable public var dedupeIndex: Int64? { self.lgid ?? self.iix }
}
