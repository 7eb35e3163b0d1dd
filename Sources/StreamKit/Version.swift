// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// The library version. The C header's `SK_VERSION_*` macros and `sk_version_number()` mirror it.
public enum StreamKitVersion {
    public static let major = 0
    public static let minor = 3
    public static let patch = 0
    /// `major * 1_000_000 + minor * 1_000 + patch`, as sqlite's version number.
    public static let number = major * 1_000_000 + minor * 1_000 + patch
    /// `"major.minor.patch"`.
    public static let string = "\(major).\(minor).\(patch)"
}
