"""The tables every face shares, written by hand here only: the version, the status codes, the event kinds and the
simulator's fault kinds. scripts/gen_tables.py (run by scripts/gen_channels.py) writes them into the C header,
Swift and Python. Numbers are only ever appended: the generator refuses a table that drops or renumbers one."""

#: The library's version (MAJOR, MINOR, PATCH). Before 1.0 a minor bump may break the API or ABI; the Python
#: package refuses a library of another minor version.
VERSION = (0, 3, 0)

#: sk_status. Each: (C suffix, number, Swift case, short text (sk_status_string), C comment, Python class, Python
#: bases after StreamKitError, Python docstring). Python's class is None for SK_OK.
STATUSES = [
    ("OK", 0, "ok", "ok", "Success.", None, (), None),
    ("MISUSE", 1, "misuse", "misuse",
     "NULL/invalid/freed handle, NULL out-pointer, or a call in the wrong state.",
     "MisuseError", (), "A call in the wrong state, or on a closed client."),
    ("INVALID_ARGUMENT", 2, "invalidArgument", "invalid argument",
     "An argument is out of range (see the errmsg).",
     "InvalidArgumentError", ("ValueError",), "An argument out of range: an unknown channel, a bad interval, a missing address, ..."),
    ("INVALID_KEY", 3, "invalidKey", "invalid API key",
     "The API key is empty or has a byte not allowed in an HTTP header.",
     "InvalidKeyError", ("ValueError",),
     "The API key is missing, empty, or has a byte not allowed in an HTTP header. Never contains the key."),
    ("INVALID_URL", 4, "invalidURL", "invalid URL",
     "The URL is not ws://host[:port]/path or wss://...",
     "InvalidURLError", ("ValueError",), "The URL is not ws://host[:port]/path or wss://..."),
    ("TLS", 5, "tls", "TLS setup failed",
     "TLS could not be set up (CA file unreadable, ...).",
     "TLSError", (), "TLS could not be set up (an unreadable CA file, ...)."),
    ("CAPACITY", 6, "capacity", "over capacity",
     "The subscriptions would not fit the allowed connections; nothing was sent.",
     "CapacityError", (), "The subscriptions would not fit the allowed connections; nothing was sent."),
    ("SUBSCRIPTION_FAILED", 7, "subscriptionFailed", "subscription failed",
     "The server refused a subscription (the errmsg has its error code and detail).",
     "SubscriptionFailedError", (), "The server refused a subscription; the message has its error code and detail."),
    ("TIMEOUT", 8, "timeout", "timeout",
     "Nothing arrived, or no acknowledgement, within the timeout.",
     "TimeoutError", ("builtins.TimeoutError",), "No acknowledgement (or no answer) in time. The subscription stays pending."),
    ("STOPPED", 9, "stopped", "stopped",
     "The client has stopped (sk_client_stop, or a fatal close): nothing more will come.",
     "StoppedError", (), "The client has stopped."),
    ("FATAL", 10, "fatal", "fatal: key or plan refused",
     "The service refused the key or plan (close 4100/4101/4102, AUTH error).",
     "FatalError", (), "The service refused the key or the plan (close 4100/4101/4102, an AUTH error): stopped for good."),
    ("INTERNAL", 11, "internalError", "internal error",
     "A bug in StreamKit: please report it with the errmsg.",
     "InternalError", (), "A bug in StreamKit: please report it with the message."),
    ("INVALID_FRAME", 12, "invalidFrame", "invalid frame",
     "sk_decode: not a valid frame (the errmsg has the reason and the byte offset).",
     "InvalidFrameError", ("ValueError",),
     "Bytes that are not a valid frame (malformed, truncated, wrong types, too deep): the message has the offset."),
    ("IO", 13, "io", "i/o error",
     "A file could not be read, or compressed data is corrupt or needs a missing libzstd.so.1 (the errmsg has the "
     "path and the reason).",
     "CaptureIOError", ("OSError",),
     "A capture file could not be read (no such file, a glob matching nothing, unreadable), or is zstd and\n"
     "    libzstd.so.1 is missing: the message has the path and the reason."),
]

#: sk_event. Each: (C suffix, number, Python's name (streamkit.Event.kind), C comment).
EVENTS = [
    ("NONE", 0, None, "(A data message.)"),
    ("CONNECTING", 1, "connecting", "attempt: 0 for a first connection."),
    ("CONNECTED", 2, "connected", "The WebSocket is up."),
    ("SUBSCRIBED", 3, "subscribed", "subscription acknowledged; code 1 when the server already had it."),
    ("UNSUBSCRIBED", 4, "unsubscribed", "subscription removed."),
    ("SUBSCRIPTION_FAILED", 5, "subscription_failed", "subscription refused or timed out; text says why. Not retried."),
    ("STALE", 6, "stale", "subscription quiet too long; it is being re-subscribed on its own."),
    ("RECONNECTING", 7, "reconnecting", "The connection ended (text: why); retry number attempt in delay_ms."),
    ("RESTORED", 8, "restored", "After a reconnect, every subscription is active again."),
    ("GAP", 9, "gap", "subscription's data was interrupted for gap_ms: anything sent then is lost."),
    ("SERVER_ERROR", 10, "server_error", "An error frame not tied to a request: code, text."),
    ("FATAL", 11, "fatal", "Stopped for good (bad key, plan): text says why. Nothing more comes."),
    ("STOPPED", 12, "stopped", "Stopped because sk_client_stop was called. Nothing more comes."),
    ("DROPPED", 13, "dropped", "count messages of subscription dropped (SK_OVERFLOW_DROP_OLDEST)."),
    ("WELCOME", 14, "welcome", "The server's welcome: delay_ms is the ping interval in force."),
    ("CLOSED", 15, "closed",
     "Capture readers: a connection ended; code (close code, HTTP status of a refused upgrade, 1006 when it just "
     "ended), text. The live client reports the same within SK_EVENT_RECONNECTING or SK_EVENT_FATAL."),
    ("TRUNCATED", 16, "truncated",
     "Capture readers: a file ends mid-line or mid-block (a crash, a copy in progress): text names it; count is the "
     "NDJSON bytes read from it. Reading goes on with the next file."),
]

#: sk_fault: the simulator's fault kinds. Each: (name (Python's; the CLI's with "-" for "_"), number, C comment).
#: Swift's SimulatorFault.kinds builds each from its name; the generator checks that it names each exactly once.
FAULTS = [
    ("drop", 1, "Close the TCP connection abruptly (no close frame)."),
    ("stall", 2, "Keep the socket open and send nothing more, not even pongs."),
    ("close", 3, "Close with the WebSocket close code `arg` (1000..1014, 4004, 4100, ...)."),
    ("error_5001", 4, "Send an `error` frame with code 5001."),
    ("malformed", 5, "Send a truncated JSON frame."),
    ("oversized", 6, "Send a frame of `arg` bytes."),
    ("duplicate", 7, "Send the last swap or liquidity event again (else the last data frame)."),
    ("pong_delay", 8, "Delay every later pong by `arg` milliseconds."),
    ("null_price", 9, "Push the first price subscription once with \"p\": null."),
    ("holder_without_ts", 10, "Push the first onchain@holders_metrics subscription once without `ts`."),
    ("mistyped", 11, "Push once with an optional field of the wrong JSON type (\"vu\":\"12.5\" on a price, else "
     "\"ex\":0 on a swap)."),
    ("array_echo", 12, "The next `arg` price pushes (0: every later one on the connection) echo \"crypto_ids\" as the "
     "array of all ids of the subscribe that made the subscription."),
    ("subscribe_error", 13, "Answer the next subscribe with an `error` frame carrying its id: code `arg` (1000..9999; "
     "0: 1006, \"Your plan does not support this endpoint.\"); the connection stays open and nothing is subscribed."),
    ("error_5001_then_ack", 14, "Answer the next subscribe, and its retries for the same subscriptions, with 5001 "
     "carrying its id, `arg` times in all (1..1000; 0: once); the retry after that is acked."),
    ("ping_interval", 15, "Welcome connections opened from now on with \"ping_interval_ms\": `arg` (1..86400000; 0: the "
     "simulator's 10000 again). Open connections are unchanged: the interval is only announced in the welcome."),
]
