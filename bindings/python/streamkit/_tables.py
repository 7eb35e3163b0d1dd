# Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this.
"""The tables the package shares with the library: version, statuses, events, faults, disconnect reasons."""

#: The version of this package and of the C API it was written for (STREAMKIT_VERSION).
VERSION = "0.4.0"
#: STREAMKIT_VERSION_NUMBER: the package refuses a library of another minor version.
VERSION_NUMBER = 4000

SK_OK = 0
SK_MISUSE = 1
SK_INVALID_ARGUMENT = 2
SK_INVALID_KEY = 3
SK_INVALID_URL = 4
SK_TLS = 5
SK_CAPACITY = 6
SK_SUBSCRIPTION_FAILED = 7
SK_TIMEOUT = 8
SK_STOPPED = 9
SK_FATAL = 10
SK_INTERNAL = 11
SK_INVALID_FRAME = 12
SK_IO = 13

#: sk_event numbers -> the names streamkit.Event uses.
EVENTS = {
    1: "connecting",
    2: "connected",
    3: "subscribed",
    4: "unsubscribed",
    5: "subscription_failed",
    6: "stale",
    7: "reconnecting",
    8: "restored",
    9: "gap",
    10: "server_error",
    11: "fatal",
    12: "stopped",
    13: "dropped",
    14: "welcome",
    15: "closed",
    16: "truncated",
}

#: sk_fault numbers by name (the names of SimulatorFault.kinds, which the CLI spells with "-").
FAULTS = {
    "drop": 1,
    "stall": 2,
    "close": 3,
    "error_5001": 4,
    "malformed": 5,
    "oversized": 6,
    "duplicate": 7,
    "pong_delay": 8,
    "null_price": 9,
    "holder_without_ts": 10,
    "mistyped": 11,
    "array_echo": 12,
    "subscribe_error": 13,
    "error_5001_then_ack": 14,
    "ping_interval": 15,
}

#: sk_disconnect_reason numbers -> names: why a connection ended (0, SK_REASON_NONE, is no reason).
DISCONNECT_REASONS = {
    1: "closed_by_server",
    2: "transport_error",
    3: "pong_timeout",
    4: "silent",
    5: "connect_timeout",
    6: "protocol_error",
    7: "stopped",
    8: "refused",
}

#: Every default of streamkit.Client (and of the library's configuration), by name; the schema says why.
DEFAULTS = {
    "url": "wss://pro-stream.coinmarketcap.com/v1",
    "max_connections": 10,
    "subscriptions_per_connection": 100,
    "queue_capacity": 4096,
    "overflow": "drop_oldest",
    "batch": 512,
}
