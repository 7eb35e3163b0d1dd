"""The tables every face shares, written by hand here only: the version, the status codes, the event kinds, the
simulator's fault kinds and the reasons a connection ends. scripts/gen_channels.py (the generator is
scripts/streamkit_gen/) writes them into the C header, Swift and Python. Numbers are only ever appended: the
generator refuses a table that drops or renumbers one."""

#: The library's version (MAJOR, MINOR, PATCH). Before 1.0 a minor bump may break the API or ABI; the Python
#: package refuses a library of another minor version.
VERSION = (0, 4, 0)

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

#: The reasons a connection ends: Swift's DisconnectReason (Sources/StreamKit/Session/SessionTypes.swift), C's
#: sk_disconnect_reason (numbers from 1; SK_REASON_NONE = 0 is no reason), Python's DISCONNECT_REASONS. Each: (Swift
#: case, number, name (snake_case: Python's, and C's SK_REASON_<NAME>), C comment). The generator checks that it
#: names each case of DisconnectReason exactly once.
DISCONNECT_REASONS = [
    ("closedByServer", 1, "closed_by_server", "The server closed it: close code and reason (0: an AUTH error frame)."),
    ("transportError", 2, "transport_error", "The transport failed (connect refused, TLS, reset, ...)."),
    ("pongTimeout", 3, "pong_timeout", "No pong within the pong timeout."),
    ("silent", 4, "silent", "No frame at all within the liveness timeout: the connection went silent."),
    ("connectTimeout", 5, "connect_timeout", "Connecting (TCP, TLS, upgrade) took longer than the connect timeout."),
    ("protocolError", 6, "protocol_error", "Undecodable frames, several in a row: the client recycles the connection."),
    ("stopped", 7, "stopped", "The user stopped the client."),
    ("refused", 8, "refused",
     "The server answered the WebSocket upgrade with an HTTP status, not 101 (401/403: the key; 429: a rate limit)."),
]

#: Every default of the configuration, with the reason for it. Each: (name, kind, value, faces, reason). kind: "int",
#: "double", "text" or "seconds" (a Duration in Swift). faces: "c" puts an SK_DEFAULT_* macro in the C header
#: (what sk_config_new starts from), "py" a keyword default of streamkit.Client; Swift has every one in
#: StreamKitDefaults, which the configuration types start from.
DEFAULTS = [
    ("url", "text", "wss://pro-stream.coinmarketcap.com/v1", "c py", "The real service (the provider's overview page)."),
    ("max_connections", "int", 10, "c py", "The documented limit of concurrent connections per API key."),
    ("subscriptions_per_connection", "int", 100, "c py",
     "The documented sub_limit (the server's ack may lower it)."),
    ("queue_capacity", "int", 4096, "c py",
     "Messages of one subscription waiting for the consumer before its overflow policy applies: seconds of the "
     "busiest channel, in bounded memory."),
    ("overflow", "text", "drop_oldest", "c py",
     "The overflow policy: drop the subscription's oldest waiting message (and say so in order), so a slow consumer "
     "neither stops the sockets nor grows without bound."),
    ("max_frame_size", "int", 1 << 20, "",
     "Largest frame accepted: real frames are a few KiB; 1 MiB leaves room for any batch while bounding memory "
     "(WebSocket libraries often default to 16 KiB, which real frames can exceed)."),
    ("credits_per_message", "double", 0.025, "c",
     "Credit price of one data message (the provider's marketing page and guide)."),
    ("credits_per_subscription", "double", 0.1, "c",
     "Credit price of one subscription (the overview: \"0.1 credit per subscription\"; whether a re-subscription "
     "after a reconnect is billed again is not documented: the meter counts it)."),
    ("pool_dedupe_window", "int", 8192, "",
     "Swaps and liquidity events a client remembers across its connections to drop the second leg: both legs "
     "arrive within milliseconds, so 8192 recent events is ample and bounded."),
    ("ping_interval", "seconds", 10, "",
     "Application ping interval until the welcome says otherwise: the reference's \"typically 10s\"."),
    ("pong_timeout", "seconds", 5, "",
     "How long a pong may take before the connection is declared dead: a live server answers in milliseconds; 5 s "
     "tolerates a slow network without trusting a stalled socket for long."),
    ("liveness_timeout", "seconds", 30, "",
     "Silence (no frame of any kind) after which a connection is dead, whatever the pings say, or three ping "
     "intervals when longer: three of the reference's \"typically 10s\" intervals."),
    ("request_timeout", "seconds", 10, "", "How long a request may wait for its ack or error."),
    ("connect_timeout", "seconds", 15, "", "How long connecting (TCP, TLS, upgrade) may take before it counts as failed."),
    ("close_timeout", "seconds", 5, "",
     "How long a connection the session closed may take to be reported closed before the session goes on."),
    ("backoff_initial", "seconds", 1, "",
     "First reconnect delay bound (full jitter: the delay is uniform in [0, bound])."),
    ("backoff_cap", "seconds", 60, "", "Largest reconnect delay bound: the reference's client evidence backs off \"up to 60 s\"."),
    ("connection_limit_delay", "seconds", 60, "",
     "The wait after close 4004 (too many connections) or an HTTP 429 refusal: long, so other connections can end "
     "first and a rate limit can pass."),
    ("healthy_after", "seconds", 30, "",
     "A connection resets the backoff once open this long and proved alive (a pong, an ack or data): a server "
     "that accepts and closes at once never resets it."),
    ("refusals_before_fatal", "int", 3, "",
     "Consecutive HTTP 401/403 refusals of the upgrade before the session fails for good: one can be a proxy's or a "
     "deploy's hiccup; three in a row, over growing delays, is the key."),
    ("request_retries", "int", 4, "",
     "Retries of a subscribe a retryable error answered (5001, unknown codes), before it is reported failed: "
     "1 + 2 + 4 + 8 s rides out a transient fault without retrying for ever."),
    ("price_stale_after", "seconds", 45, "",
     "Quiet time after which a price subscription is stale: three of the documented ~15 s pushes."),
    ("stale_resubscribes", "int", 3, "",
     "Re-subscriptions of a stale subscription (each billed) before it is only reported: a lost subscription comes "
     "back at the first; an id acked but never pushed costs three, not one every 45 s for ever."),
    ("stale_cap", "seconds", 360, "",
     "The longest quiet period between two stale reports: eight times the price channel's 45 s, so a dead id is "
     "still reported a few times an hour."),
    ("session_dedupe_window", "int", 4096, "",
     "Swaps and liquidity events one session remembers (a pool deduplicates across its sessions instead)."),
    ("max_targets_per_request", "int", 50, "", "Most targets sent in one subscribe request."),
    ("batch", "int", 512, "py",
     "Messages the Python binding takes from the library per call (one native call per batch, with the GIL "
     "released while it waits)."),
]
