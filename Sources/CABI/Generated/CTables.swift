// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this.

import StreamKit

@_cdecl("sk_version")
public func skVersion() -> UnsafePointer<CChar> { staticCString(StreamKitVersion.staticString) }

@_cdecl("sk_status_string")
public func skStatusString(_ status: Int32) -> UnsafePointer<CChar> {
    staticCString(StreamKitStatus(rawValue: status)?.text ?? "unknown status")
}

/// sk_event's names by number (Python's `Event.kind`, the capture format's `"e"`); "" for SK_EVENT_NONE.
let skEventNames: [StaticString] = ["", "connecting", "connected", "subscribed", "unsubscribed", "subscription_failed", "stale", "reconnecting", "restored", "gap", "server_error", "fatal", "stopped", "dropped", "welcome", "closed", "truncated"]

/// sk_event by name (a capture's event kinds; a name this version lacks has none).
let skEventsByName: [String: Int32] = ["connecting": 1, "connected": 2, "subscribed": 3, "unsubscribed": 4, "subscription_failed": 5, "stale": 6, "reconnecting": 7, "restored": 8, "gap": 9, "server_error": 10, "fatal": 11, "stopped": 12, "dropped": 13, "welcome": 14, "closed": 15, "truncated": 16]
