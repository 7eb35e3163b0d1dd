/*
** This source file is part of StreamKit.
** SPDX-License-Identifier: Apache-2.0
**
** streamkit.h: the C interface to StreamKit, a client for the CoinMarketCap Pro WebSocket stream.
**
** A client keeps its subscriptions alive across reconnects (keep-alive pings, backoff with jitter, re-subscribe,
** gap markers), shards them over connections (100 per connection, 10 connections per key by default), drops
** duplicate swaps, and hands you each message as a typed C struct (streamkit_payloads.h) plus the raw frame.
**
**     sk_config *cfg;  sk_client *client;
**     sk_config_new(&cfg);
**     sk_config_set_url(cfg, "ws://127.0.0.1:8765/v1");
**     sk_config_set_api_key(cfg, getenv("CMC_API_KEY"));
**     if (sk_client_new(cfg, &client) != SK_OK) { ... }     (the config may be freed from here on)
**     sk_config_free(cfg);
**     sk_client_start(client);
**     sk_subscription s = { SK_CHANNEL_CRYPTO_LATEST_PRICE, 1, 0, NULL, NULL };
**     sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 10000);
**     sk_message batch[64];  size_t n;
**     while (sk_client_poll(client, batch, 64, &n, 1000) == SK_OK)
**         for (size_t i = 0; i < n; i++)
**             if (batch[i].kind == SK_MESSAGE_DATA && batch[i].channel == SK_CHANNEL_CRYPTO_LATEST_PRICE)
**                 printf("%lld %.8g\n", (long long)batch[i].data.crypto_latest_price.cid,
**                        batch[i].data.crypto_latest_price.p);
**     sk_client_free(client);
**
** Conventions (as in sqlite3.h and curl):
** - Every function returns an sk_status, except the version, string and errmsg functions, sk_sim_url(), and the
**   *_free() functions, which return nothing. A NULL, freed or otherwise invalid handle, a NULL out-pointer, or a
**   call in the wrong state returns SK_MISUSE: never a crash. Every *_free() accepts NULL, and ignores a freed or
**   invalid handle. (A freed handle's address may be reused by a later handle of the same type: drop it.)
** - Error messages: after a failure, the errmsg function of the handle (sk_config_errmsg, sk_client_errmsg,
**   sk_decoder_errmsg, sk_capture_errmsg) says why in one line. Every failing call on a valid handle records one;
**   an invalid handle cannot (its errmsg is a static "invalid handle" text), and SK_STOPPED, the end of a stream,
**   is not a failure. The message is per handle, not per thread: it is the handle's latest failure, from whichever
**   thread; a successful call does not clear it; "" before the first. The string returned stays valid until 8
**   more failures have been recorded on the same handle, or the handle is freed: copy it if you keep it. The API
**   key never appears in any message.
** - Strings passed in are NUL-terminated UTF-8 (sk_decode: a length), copied or only read during the call: the
**   caller keeps ownership. Strings handed out are sk_str views (pointer + length, not NUL-terminated) or C strings
**   valid for the time stated at each function.
** - Every constant is append-only: numbers never change meaning in later versions.
** - Never unload the library (dlclose): it carries the Swift runtime, which cannot be unloaded.
**
** Every function, and the callback type, states in these slots, in this order:
**   Returns:   each status, and when (nothing, for a void function).
**   Ownership: what it takes (copied; only read during the call; or borrowed: used after it returns, so it must
**              stay valid as long as stated) and what it hands out (who frees it). "None": no memory either way.
**   Lifetime:  how long what it hands out stays valid. "None": it hands out only values.
**   Threads:   from which threads it may be called, and whether concurrently. "Any thread" means from any thread,
**              concurrently with any call, but not with the *_free() of the same handle; "one thread at a time"
**              means the calls on one handle must not overlap (different handles run in parallel).
**   Blocks:    "no" (it waits for no network, file, timer or other thread), or until what, and for how long at
**              most.
*/
#ifndef STREAMKIT_H
#define STREAMKIT_H

#include <stddef.h>
#include <stdint.h>

#include "streamkit_payloads.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------------
** Version
*/

/* <tables:version> */
/* The version of this header. Compare with sk_version_number() to detect a header/library mismatch. */
#define STREAMKIT_VERSION "0.4.0"
#define STREAMKIT_VERSION_MAJOR 0
#define STREAMKIT_VERSION_MINOR 4
#define STREAMKIT_VERSION_PATCH 0
/* MAJOR * 1000000 + MINOR * 1000 + PATCH. */
#define STREAMKIT_VERSION_NUMBER 4000
/* </tables:version> */

/* The library's version number (same encoding as STREAMKIT_VERSION_NUMBER).
** Returns:   the number: compare it with STREAMKIT_VERSION_NUMBER to detect a header/library mismatch.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    no.
*/
int sk_version_number(void);

/* The library's version as text, e.g. "0.1.0".
** Returns:   the text, NUL-terminated.
** Ownership: static storage: never free it.
** Lifetime:  the process.
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_version(void);

/* ---------------------------------------------------------------------------------------------------------------
** Status codes. Append-only; the Swift API's errors map onto the same table (StreamClientError.status).
*/
/* <tables:sk_status> */
typedef enum sk_status {
    SK_OK = 0,                  /* Success. */
    SK_MISUSE = 1,              /* NULL/invalid/freed handle, NULL out-pointer, or a call in the wrong state. */
    SK_INVALID_ARGUMENT = 2,    /* An argument is out of range (see the errmsg). */
    SK_INVALID_KEY = 3,         /* The API key is empty or has a byte not allowed in an HTTP header. */
    SK_INVALID_URL = 4,         /* The URL is not ws://host[:port]/path or wss://... */
    SK_TLS = 5,                 /* TLS could not be set up (CA file unreadable, ...). */
    SK_CAPACITY = 6,            /* The subscriptions would not fit the allowed connections; nothing was sent. */
    SK_SUBSCRIPTION_FAILED = 7, /* The server refused a subscription (the errmsg has its error code and detail). */
    SK_TIMEOUT = 8,             /* Nothing arrived, or no acknowledgement, within the timeout. */
    SK_STOPPED = 9,             /* The client has stopped (sk_client_stop, or a fatal close): nothing more will come. */
    SK_FATAL = 10,              /* The service refused the key or plan (close 4100/4101/4102, AUTH error). */
    SK_INTERNAL = 11,           /* A bug in StreamKit: please report it with the errmsg. */
    SK_INVALID_FRAME = 12,      /* sk_decode: not a valid frame (the errmsg has the reason and the byte offset). */
    SK_IO = 13                  /* A file could not be read, or compressed data is corrupt or needs a missing
                                ** libzstd.so.1 (the errmsg has the path and the reason). */
} sk_status;
/* </tables:sk_status> */

/* A short English description of a status code ("misuse", ...).
** Returns:   the description, NUL-terminated; "unknown status" for a code not in sk_status.
** Ownership: static storage: never free it.
** Lifetime:  the process.
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_status_string(int status);

/* ---------------------------------------------------------------------------------------------------------------
** Configuration. Create, set, pass to sk_client_new (which copies it), free. Setters return SK_MISUSE for a NULL
** config and SK_INVALID_ARGUMENT for a value out of range; nothing is validated against the network here.
*/
typedef struct sk_config sk_config;

/* What happens when a subscription's messages arrive faster than the consumer takes them. */
typedef enum sk_overflow {
    SK_OVERFLOW_DEFAULT = 0,     /* The config's policy (sk_client_subscribe); in a config: SK_DEFAULT_OVERFLOW. */
    SK_OVERFLOW_BLOCK = 1,       /* Stop reading the sockets until the consumer catches up. Nothing dropped. */
    SK_OVERFLOW_DROP_OLDEST = 2, /* Drop the subscription's oldest waiting message; an SK_EVENT_DROPPED says so. */
    SK_OVERFLOW_CONFLATE = 3     /* Keep only the latest waiting message per subscription (prices). */
} sk_overflow;

/* <tables:defaults> */
/* What sk_config_new starts from; each with the reason for it (scripts/tables_schema.py). */
/* The real service (the provider's overview page). */
#define SK_DEFAULT_URL "wss://pro-stream.coinmarketcap.com/v1"
/* The documented limit of concurrent connections per API key. */
#define SK_DEFAULT_MAX_CONNECTIONS 10
/* The documented sub_limit (the server's ack may lower it). */
#define SK_DEFAULT_SUBSCRIPTIONS_PER_CONNECTION 100
/* Messages of one subscription waiting for the consumer before its overflow policy applies: seconds of the busiest
** channel, in bounded memory. */
#define SK_DEFAULT_QUEUE_CAPACITY 4096
/* The overflow policy: drop the subscription's oldest waiting message (and say so in order), so a slow consumer
** neither stops the sockets nor grows without bound. */
#define SK_DEFAULT_OVERFLOW SK_OVERFLOW_DROP_OLDEST
/* Credit price of one data message (the provider's marketing page and guide). */
#define SK_DEFAULT_CREDITS_PER_MESSAGE 0.025
/* Credit price of one subscription (the overview: "0.1 credit per subscription"; whether a re-subscription after a
** reconnect is billed again is not documented: the meter counts it). */
#define SK_DEFAULT_CREDITS_PER_SUBSCRIPTION 0.1
/* </tables:defaults> */

/* A new configuration with every default (SK_DEFAULT_*): the real endpoint, the API key from the CMC_API_KEY
** environment variable if set, certificate verification on, SK_DEFAULT_MAX_CONNECTIONS connections of
** SK_DEFAULT_SUBSCRIPTIONS_PER_CONNECTION subscriptions, SK_DEFAULT_QUEUE_CAPACITY waiting messages per
** subscription, SK_DEFAULT_OVERFLOW.
** Returns:   SK_OK with *out set; SK_MISUSE for a NULL out.
** Ownership: the caller owns *out: free it with sk_config_free().
** Lifetime:  until sk_config_free().
** Threads:   any thread.
** Blocks:    no (it reads the environment).
*/
sk_status sk_config_new(sk_config **out);

/* Frees a configuration. A client made from it is not affected: it has its own copy.
** Returns:   nothing. NULL, a freed or an invalid handle: ignored.
** Ownership: takes the config back, with its sk_config_errmsg() strings.
** Lifetime:  the handle and its errmsg strings are invalid from the call on.
** Threads:   any thread, not concurrently with another call on the same config.
** Blocks:    no.
*/
void sk_config_free(sk_config *config);

/* The stream URL: ws:// (a simulator) or wss://. Checked by sk_client_new, not here.
** Returns:   SK_OK; SK_INVALID_ARGUMENT for a NULL url; SK_MISUSE for an invalid config.
** Ownership: url is copied.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_url(sk_config *config, const char *url);

/* The API key, sent in the X-CMC_PRO_API_KEY header. Checked (no CR, LF, space or control bytes) by
** sk_client_new, not here.
** Returns:   SK_OK; SK_INVALID_ARGUMENT for a NULL key; SK_MISUSE for an invalid config.
** Ownership: api_key is copied.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_api_key(sk_config *config, const char *api_key);

/* Most connections the client opens (default SK_DEFAULT_MAX_CONNECTIONS, the documented per-key limit).
** Returns:   SK_OK; SK_INVALID_ARGUMENT outside 1..1000; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_max_connections(sk_config *config, int connections);

/* Subscriptions per connection (default SK_DEFAULT_SUBSCRIPTIONS_PER_CONNECTION; the server's ack may lower it).
** Returns:   SK_OK; SK_INVALID_ARGUMENT outside 1..10000; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_subscriptions_per_connection(sk_config *config, int subscriptions);

/* Messages of one subscription waiting in sk_client_poll()'s queue before its overflow policy applies (default
** SK_DEFAULT_QUEUE_CAPACITY). A client with a callback queues nothing.
** Returns:   SK_OK; SK_INVALID_ARGUMENT outside 1..1048576; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_queue_capacity(sk_config *config, int messages);

/* The overflow policy of subscriptions subscribed with SK_OVERFLOW_DEFAULT (SK_OVERFLOW_DEFAULT here:
** SK_DEFAULT_OVERFLOW).
** Returns:   SK_OK; SK_INVALID_ARGUMENT for a value not in sk_overflow; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_overflow(sk_config *config, sk_overflow policy);

/* Verify the server's TLS certificate (1, the default; any non-zero value) or not (0: only for a test server you
** control).
** Returns:   SK_OK; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_tls_verify(sk_config *config, int verify);

/* Trust the PEM certificates in this file (instead of the system's roots) for wss://. NULL: the system's. The file
** is read by sk_client_new, not here.
** Returns:   SK_OK; SK_MISUSE for an invalid config.
** Ownership: pem_path is copied.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_ca_file(sk_config *config, const char *pem_path);

/* Seed of the reconnect jitter (default: random per client, so a fleet does not reconnect in step).
** Returns:   SK_OK; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_seed(sk_config *config, uint64_t seed);

/* Prices of the credit meter in sk_metrics: per data message (default SK_DEFAULT_CREDITS_PER_MESSAGE) and per
** subscription (SK_DEFAULT_CREDITS_PER_SUBSCRIPTION).
** Returns:   SK_OK; SK_INVALID_ARGUMENT when either is negative, infinite or NaN; SK_MISUSE for an invalid config.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread (the calls on one config take turns).
** Blocks:    no.
*/
sk_status sk_config_set_credit_prices(sk_config *config, double per_message, double per_subscription);

/* ---------------------------------------------------------------------------------------------------------------
** Subscriptions. One subscription is one channel and one target: a crypto id for market@crypto_latest_price, or a
** platform and an address for the on-chain channels (a token address; the pool for SK_CHANNEL_POOL_METRIC; the
** wallet for SK_CHANNEL_HOLDER_WALLET_UPDATE), plus an interval for klines and unique traders.
*/
typedef struct sk_subscription {
    sk_channel channel;    /* SK_CHANNEL_*. */
    int64_t crypto_id;     /* SK_CHANNEL_CRYPTO_LATEST_PRICE: the CMC id (1 = BTC, 1027 = ETH). */
    int64_t platform_id;   /* On-chain channels: the platform (14 = BSC, 16 = Solana). */
    const char *address;   /* On-chain channels: the address, NUL-terminated; NULL otherwise. */
    const char *interval;  /* SK_CHANNEL_KLINE and SK_CHANNEL_UNIQUE_TRADER: "1s", "1m", ...; NULL otherwise. */
} sk_subscription;

/* ---------------------------------------------------------------------------------------------------------------
** Messages: data pushes and lifecycle events, in the order they happened.
*/
typedef enum sk_message_kind {
    SK_MESSAGE_DATA = 1,   /* A data push: channel, subscription, ts, data, raw. */
    SK_MESSAGE_EVENT = 2,  /* A lifecycle event: event and the fields it names. */
    SK_MESSAGE_CONTROL = 3 /* sk_decode only: a valid frame that is not a data push (welcome, ack, pong, error). */
} sk_message_kind;

/* <tables:sk_event> */
typedef enum sk_event {
    SK_EVENT_NONE = 0,                /* (A data message.) */
    SK_EVENT_CONNECTING = 1,          /* attempt: 0 for a first connection. */
    SK_EVENT_CONNECTED = 2,           /* The WebSocket is up. */
    SK_EVENT_SUBSCRIBED = 3,          /* subscription acknowledged; code 1 when the server already had it. */
    SK_EVENT_UNSUBSCRIBED = 4,        /* subscription removed. */
    SK_EVENT_SUBSCRIPTION_FAILED = 5, /* subscription refused or timed out; text says why. Not retried. */
    SK_EVENT_STALE = 6,               /* subscription quiet too long; it is being re-subscribed on its own. */
    SK_EVENT_RECONNECTING = 7,        /* The connection ended (text: why); retry number attempt in delay_ms. */
    SK_EVENT_RESTORED = 8,            /* After a reconnect, every subscription is active again. */
    SK_EVENT_GAP = 9,                 /* subscription's data was interrupted for gap_ms: anything sent then is lost. */
    SK_EVENT_SERVER_ERROR = 10,       /* An error frame not tied to a request: code, text. */
    SK_EVENT_FATAL = 11,              /* Stopped for good (bad key, plan): text says why. Nothing more comes. */
    SK_EVENT_STOPPED = 12,            /* Stopped because sk_client_stop was called. Nothing more comes. */
    SK_EVENT_DROPPED = 13,            /* count messages of subscription dropped (SK_OVERFLOW_DROP_OLDEST). */
    SK_EVENT_WELCOME = 14,            /* The server's welcome: delay_ms is the ping interval in force. */
    SK_EVENT_CLOSED = 15,             /* Capture readers: a connection ended; code (close code, HTTP status of a
                                      ** refused upgrade, 1006 when it just ended), text. The live client reports the
                                      ** same within SK_EVENT_RECONNECTING or SK_EVENT_FATAL. */
    SK_EVENT_TRUNCATED = 16           /* Capture readers: a file ends mid-line or mid-block (a crash, a copy in
                                      ** progress): text names it; count is the NDJSON bytes read from it. Reading
                                      ** goes on with the next file. */
} sk_event;
/* </tables:sk_event> */

/* Why a connection ended, one constant per reason of Swift's DisconnectReason. Constants are only ever appended;
** the names match Python's DISCONNECT_REASONS (streamkit._tables). */
/* <tables:sk_disconnect_reason> */
typedef enum sk_disconnect_reason {
    SK_REASON_NONE = 0,             /* No reason: not about a connection that ended. */
    SK_REASON_CLOSED_BY_SERVER = 1, /* The server closed it: close code and reason (0: an AUTH error frame). */
    SK_REASON_TRANSPORT_ERROR = 2,  /* The transport failed (connect refused, TLS, reset, ...). */
    SK_REASON_PONG_TIMEOUT = 3,     /* No pong within the pong timeout. */
    SK_REASON_SILENT = 4,           /* No frame at all within the liveness timeout: the connection went silent. */
    SK_REASON_CONNECT_TIMEOUT = 5,  /* Connecting (TCP, TLS, upgrade) took longer than the connect timeout. */
    SK_REASON_PROTOCOL_ERROR = 6,   /* Undecodable frames, several in a row: the client recycles the connection. */
    SK_REASON_STOPPED = 7,          /* The user stopped the client. */
    SK_REASON_REFUSED = 8           /* The server answered the WebSocket upgrade with an HTTP status, not 101
                                    ** (401/403: the key; 429: a rate limit). */
} sk_disconnect_reason;
/* </tables:sk_disconnect_reason> */

/* The subscription a message or event is about, as views. */
typedef struct sk_subscription_view {
    sk_channel channel;    /* SK_CHANNEL_UNKNOWN when the message matches no subscription. */
    int64_t crypto_id;
    int64_t platform_id;
    sk_str address;        /* Normalised: EVM addresses lower-cased. */
    sk_str interval;
} sk_subscription_view;

/* Most subscriptions one message can carry (SK_MESSAGE_DATA): a swap's t0a, t1a and pa. */
#define SK_MAX_SUBSCRIPTIONS 3

/*
** One message. Everything in it (the sk_str views, data's text fields, raw) is valid as long as the function that
** filled it says in its Lifetime slot: during the call for a callback (sk_message_fn), until the next poll or
** sk_client_free() for sk_client_poll(), until the decoder's next sk_decode() for sk_decode(), until the
** capture's next record for sk_capture_next(). Copy what you keep.
*/
typedef struct sk_message {
    int kind;                          /* sk_message_kind. */
    int connection;                    /* The connection it arrived on (0-based). */
    sk_subscription_view subscription; /* Data: the subscription it belongs to. Events: the one it is about. */
    /* Data. */
    sk_channel channel;                /* The payload's channel; SK_CHANNEL_UNKNOWN for a channel this version lacks. */
    int has_ts;                        /* 1 when the frame carried `ts`. */
    int64_t ts;                        /* Server time of the push, epoch ms. */
    sk_str raw;                        /* The whole frame as received: parse it for fields this version lacks. */
    sk_payload data;                   /* The typed payload: the member named after channel (the union's other
                                          bytes are unspecified; all zero for SK_CHANNEL_UNKNOWN). */
    /* Events. */
    int event;                         /* sk_event. */
    int attempt;                       /* SK_EVENT_CONNECTING, SK_EVENT_RECONNECTING. */
    int64_t delay_ms;                  /* SK_EVENT_RECONNECTING: backoff; SK_EVENT_WELCOME: ping interval. */
    int64_t gap_ms;                    /* SK_EVENT_GAP: how long data was interrupted. */
    int64_t count;                     /* SK_EVENT_DROPPED: messages dropped. */
    int code;                          /* Close code (100-4999 ws range), or the HTTP status of a refused upgrade
                                          (SK_EVENT_RECONNECTING, SK_EVENT_FATAL: e.g. 401, 429; the text says
                                          "refused ... HTTP n"), or error code (SK_EVENT_SERVER_ERROR), or
                                          1 = duplicate ack. */
    sk_str text;                       /* A one-line description (reason, error message). */
    /* Data: 1 when a text view in `data` points outside `raw` (a string with escapes, decoded into scratch memory
    ** that lives as long as the message); 0 when every text view is a slice of `raw`. */
    int text_outside_raw;
    /* Data: every subscription the message belongs to, subscriptions[0] being `subscription` (0 when it matches
    ** none). A swap or liquidity event between two subscribed tokens (or a token and its subscribed pool) carries
    ** each of them, delivered once: the later leg is dropped as a duplicate (with deduplication off, each leg
    ** carries its own subscription only). Views valid as `subscription`'s. */
    int subscription_count;
    sk_subscription_view subscriptions[SK_MAX_SUBSCRIPTIONS];
    /* Events: why the connection ended (sk_disconnect_reason) for SK_EVENT_RECONNECTING, SK_EVENT_GAP and
    ** SK_EVENT_FATAL; SK_REASON_NONE otherwise. `code` and `text` give the detail. */
    int reason;
} sk_message;

/* ---------------------------------------------------------------------------------------------------------------
** Client. Two ways to consume, chosen before sk_client_start(): sk_client_poll() takes batches from the client's
** queue (bounded per subscription, with its overflow policy), or a callback (sk_client_set_callback) is handed
** each message on the I/O thread as it is read, with no queue.
*/
typedef struct sk_client sk_client;

/* The message callback (sk_client_set_callback): called for every data message and every event of the client.
** Returns:   nothing.
** Ownership: msg and everything it points to are the client's, lent for the call; `user` is the pointer given to
**            sk_client_set_callback(), passed back untouched.
** Lifetime:  msg points into the receive buffer: valid during the call only. Copy what you keep.
** Threads:   called on the client's I/O thread (the thread that reads its sockets), one call at a time, in order.
**            From inside it: sk_client_subscribe() sends the subscriptions and returns SK_OK without waiting for
**            the acknowledgements (they arrive as SK_EVENT_SUBSCRIBED / SK_EVENT_SUBSCRIPTION_FAILED events);
**            sk_client_stop() returns at once, and the client stops once the callback returns; sk_client_free()
**            frees the client once the callback returns; sk_client_metrics() and
**            sk_client_subscription_metrics() work without blocking. Clients share I/O threads: do not wait on
**            another client from it (its blocking calls).
** Blocks:    keep it short: while it runs, no connection of the client is read (TCP backpressure; keep-alive pings
**            wait). Nothing is queued for a callback, so the overflow policy does not apply to it (it applies to
**            sk_client_poll's queue): for slow work copy what you need and hand it off, or poll instead.
*/
typedef void (*sk_message_fn)(const sk_message *msg, void *user);

/* Creates a client from a configuration. Nothing connects until sk_client_start().
** Returns:   SK_OK with *out set. Otherwise *out is NULL (if out is not NULL) and sk_config_errmsg(config) says
**            why: SK_INVALID_KEY, SK_INVALID_URL, SK_TLS (TLS setup, e.g. an unreadable CA file), SK_MISUSE (a NULL
**            out; an invalid config, which records no message).
** Ownership: the config is copied: it may be changed or freed right after. The caller owns *out: free it with
**            sk_client_free().
** Lifetime:  until sk_client_free().
** Threads:   any thread.
** Blocks:    no network; for a wss:// URL it reads the CA file, or the system's roots.
*/
sk_status sk_client_new(const sk_config *config, sk_client **out);

/* Why the last failed call on this client failed, in one line (see Error messages above).
** Returns:   the message; "" before the first failure; a static message for NULL or an invalid handle.
** Ownership: the client's (or static): never free it.
** Lifetime:  until 8 more failures have been recorded on this client, from any thread, or sk_client_free().
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_client_errmsg(const sk_client *client);

/* Why the last failed call on this config (sk_config_set_*, sk_client_new) failed, in one line.
** Returns:   the message; "" before the first failure; a static message for NULL or an invalid handle.
** Ownership: the config's (or static): never free it.
** Lifetime:  until 8 more failures have been recorded on this config, from any thread, or sk_config_free().
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_config_errmsg(const sk_config *config);

/* Delivers every message and event to `fn` (see sk_message_fn) instead of sk_client_poll(). Calling it again
** before the start replaces fn and user.
** Returns:   SK_OK; SK_MISUSE for a NULL fn, or once the client has started.
** Ownership: `user` is borrowed: it must stay valid while fn may run, until sk_client_stop() or sk_client_free()
**            has returned (called from the callback: until that callback returns).
** Lifetime:  none.
** Threads:   any thread, before sk_client_start().
** Blocks:    no.
*/
sk_status sk_client_set_callback(sk_client *client, sk_message_fn fn, void *user);

/* Starts the client: the connections its subscriptions need open now, more as subscriptions need them.
** Returns:   SK_OK; SK_MISUSE if it has already started, or has stopped.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    no: connecting happens on the client's I/O thread.
*/
sk_status sk_client_start(sk_client *client);

/* Subscribes, and waits until the server has acknowledged each subscription. `policy` is the overflow policy of
** these subscriptions (SK_OVERFLOW_DEFAULT: the config's). Works before sk_client_start() too: nothing is sent
** until the start.
** Returns:   SK_OK: every one acknowledged (or already active). SK_TIMEOUT: not all acknowledged within timeout_ms
**            (they stay pending; each arrives later as SK_EVENT_SUBSCRIBED or SK_EVENT_SUBSCRIPTION_FAILED).
**            SK_SUBSCRIPTION_FAILED: the first refusal, a subscribe request unanswered for 10 s, or the key
**            refused (the others stay subscribed). SK_CAPACITY: they would not fit the allowed connections
**            (nothing sent). SK_STOPPED: the client has stopped, or stopped while waiting. SK_INVALID_ARGUMENT: a
**            subscription or the policy is not valid, or subscriptions is NULL with count > 0 (nothing sent).
**            SK_MISUSE: an invalid client. From inside the callback: SK_OK once sent, without waiting.
** Ownership: the array and its strings are only read during the call.
** Lifetime:  none.
** Threads:   any thread; also from inside the callback (see sk_message_fn).
** Blocks:    yes: until every one is acknowledged or refused, or the client stops, at most timeout_ms (< 0: no
**            limit; while the server cannot be reached nothing is sent, so only timeout_ms or a stop ends it).
**            From inside the callback: no.
*/
sk_status sk_client_subscribe(sk_client *client, const sk_subscription *subscriptions, size_t count,
                              sk_overflow policy, int timeout_ms);

/* Unsubscribes, without waiting for the acknowledgements (each arrives as SK_EVENT_UNSUBSCRIBED).
** Returns:   SK_OK; SK_INVALID_ARGUMENT for a subscription that is not valid, or a NULL array with count > 0
**            (nothing sent); SK_MISUSE for an invalid client.
** Ownership: the array and its strings are only read during the call.
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    no: the requests are sent from the client's I/O thread.
*/
sk_status sk_client_unsubscribe(sk_client *client, const sk_subscription *subscriptions, size_t count);

/* Unsubscribes from everything, without waiting for the acknowledgements.
** Returns:   SK_OK; SK_MISUSE for an invalid client.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    no: the requests are sent from the client's I/O thread.
*/
sk_status sk_client_unsubscribe_all(sk_client *client);

/* Takes up to `max` messages and events, in order, from the client's queue into the caller's array.
** Returns:   SK_OK with *count messages (possibly 0, after the timeout); SK_STOPPED, with *count 0, once the
**            client has stopped and every message was taken; SK_MISUSE for a NULL out or count, a max of 0, a
**            client with a callback, or while another thread polls this client.
** Ownership: out[0 .. *count) is filled by the client; the memory its views point to is the client's.
** Lifetime:  the messages' views (texts, raw) are valid until the next poll of this client, or sk_client_free().
**            The raw frames of one poll's data messages lie back to back, in order, in one block (from the first
**            one's raw.ptr to the last one's raw.ptr + raw.len): one copy keeps them all. To keep that, a poll may
**            return fewer than `max` while more wait (it ends before a frame stored elsewhere; the next poll
**            returns it at once). Data messages are filled on the client's I/O thread as they arrive (the
**            callback's fill) and wait in the client's store; a poll copies each one out.
** Threads:   one thread at a time (a concurrent poll on another thread returns SK_MISUSE), concurrently with
**            every other function of the client but sk_client_free(): to end a thread blocked here, call
**            sk_client_stop(), join the thread, then free.
** Blocks:    up to timeout_ms for the first message (< 0: until one arrives or the client stops; 0: not at all),
**            holding no lock the other functions need.
*/
sk_status sk_client_poll(sk_client *client, sk_message *out, size_t max, size_t *count, int timeout_ms);

/* Counters of a client. */
typedef struct sk_metrics {
    int64_t open_connections;       /* Connections open now. */
    int64_t reconnects;             /* Connections lost and retried. */
    int64_t duplicates_suppressed;  /* Swaps/liquidity events received twice (both token legs), delivered once. */
    int64_t invalid_frames;         /* Frames that could not be decoded. */
    int64_t billable_messages;      /* Data frames received, duplicates included. */
    int64_t billable_subscriptions; /* Subscriptions acknowledged as new (re-subscriptions included). */
    double credits;                 /* The credit meter: billable counts times the configured prices. */
    int64_t queued;                 /* Messages and events waiting for the consumer. */
    int64_t messages;               /* Data messages received, over all subscriptions. */
    int64_t dropped;                /* Dropped by SK_OVERFLOW_DROP_OLDEST, over all subscriptions. */
    int64_t coalesced;              /* Replaced under SK_OVERFLOW_CONFLATE, over all subscriptions. */
    int64_t subscriptions;          /* Subscriptions with metrics (every one ever subscribed). */
} sk_metrics;

/* Fills *out with the client's counters.
** Returns:   SK_OK; SK_MISUSE for a NULL out or an invalid client; SK_TIMEOUT if the client's I/O thread did not
**            answer within 10 s.
** Ownership: *out is the caller's, filled with values.
** Lifetime:  none.
** Threads:   any thread; also from inside the callback.
** Blocks:    until the client's I/O thread answers (at once when it is idle), at most 10 s. From inside the
**            callback: no.
*/
sk_status sk_client_metrics(sk_client *client, sk_metrics *out);

/* Counters of one subscription. */
typedef struct sk_subscription_metrics {
    int64_t messages;         /* Data messages received. */
    int64_t last_update_age_ms; /* Since its last message; -1 before the first. */
    int64_t latency_count;    /* Receive latency samples (local receive minus server ts, ms, clock offset included). */
    int64_t latency_last;
    int64_t latency_min;
    int64_t latency_max;
    double latency_mean;
    int64_t queued;           /* Waiting for the consumer. */
    int64_t dropped;
    int64_t coalesced;
    int64_t degraded_fields;  /* Payload fields sent with an unexpected JSON type, read as absent (the message was
                                 delivered without them; each payload's `mistyped` mask says which). */
} sk_subscription_metrics;

/* Fills *out with one subscription's counters.
** Returns:   SK_OK; SK_INVALID_ARGUMENT if the subscription is not valid or was never subscribed; SK_MISUSE for a
**            NULL subscription or out, or an invalid client; SK_TIMEOUT as sk_client_metrics().
** Ownership: the subscription is only read during the call; *out is the caller's, filled with values.
** Lifetime:  none.
** Threads:   any thread; also from inside the callback.
** Blocks:    as sk_client_metrics().
*/
sk_status sk_client_subscription_metrics(sk_client *client, const sk_subscription *subscription,
                                         sk_subscription_metrics *out);

/* Stops the client for good: closes every connection and waits until they are closed. Messages already queued
** can still be polled, then sk_client_poll() returns SK_STOPPED; sk_client_start() returns SK_MISUSE from now on.
** Returns:   SK_OK (also when already stopped, or never started); SK_MISUSE for an invalid client.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread; also from inside the callback, where it returns at once: the client stops once the
**            callback returns, and that callback is the last.
** Blocks:    yes: until every connection is closed (each close handshake is given at most 5 s) and, with a
**            callback, until no callback is running and none will run again. From inside the callback: no.
*/
sk_status sk_client_stop(sk_client *client);

/* Stops the client (as sk_client_stop) and frees it, with everything it handed out.
** Returns:   nothing. NULL, a freed or an invalid handle: ignored.
** Ownership: takes the client back: its polled messages and errmsg strings are freed with it.
** Lifetime:  the handle, and every view and string the client handed out, are invalid from the call on (called
**            from inside the callback: once the callback returns, when the client is freed).
** Threads:   any thread, not concurrently with another call on the same client (see sk_client_poll); also from
**            inside its own callback.
** Blocks:    as sk_client_stop(). From inside the callback: no.
*/
void sk_client_free(sk_client *client);

/* ---------------------------------------------------------------------------------------------------------------
** Simulator: the protocol-faithful stream server StreamKit tests run against, in-process, for your own tests.
** Its functions have no errmsg: the status says all.
*/
typedef struct sk_sim sk_sim;

/* Starts a simulator on 127.0.0.1:port (0: any free port) that accepts `api_key` (any other key is closed with
** 4100, as the service does). `speed` is the simulated clock's rate against the wall clock (1: real time;
** every `ts`, `ot` and window, the announced ping interval and the idle close scale with it); `rate` > 0 switches to load
** mode, that many data frames per second per connection, and `rate` < 0 pushes as fast as each client reads
** (0: the channels' cadences). `seed` seeds the market data.
** Returns:   SK_OK with *out set. SK_INVALID_ARGUMENT, *out NULL: a NULL or empty key, a port outside 0..65535,
**            a speed that is not a finite number above 0, a NaN rate, or it could not listen (the port is taken,
**            no loopback) within 30 s. SK_MISUSE for a NULL out.
** Ownership: api_key is copied. The caller owns *out: free it with sk_sim_free().
** Lifetime:  until sk_sim_free().
** Threads:   any thread.
** Blocks:    until it listens (milliseconds), at most 30 s.
*/
sk_status sk_sim_start(const char *api_key, int port, double speed, double rate, uint64_t seed, sk_sim **out);

/* The simulator's URL, "ws://127.0.0.1:PORT/v1".
** Returns:   the URL, NUL-terminated; NULL for an invalid handle.
** Ownership: the simulator's: never free it.
** Lifetime:  until sk_sim_free().
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_sim_url(const sk_sim *sim);

/* Faults the simulator can inject into every live connection (SK_FAULT_PING_INTERVAL: into the connections opened
** after it). `arg` is used where a constant says so and ignored otherwise; where it is optional, 0 picks the default
** named. Constants are only ever appended. The names match Python's Simulator.inject and `streamkit sim --fault`. */
/* <tables:sk_fault> */
typedef enum sk_fault {
    SK_FAULT_DROP = 1,                 /* Close the TCP connection abruptly (no close frame). */
    SK_FAULT_STALL = 2,                /* Keep the socket open and send nothing more, not even pongs. */
    SK_FAULT_CLOSE = 3,                /* Close with the WebSocket close code `arg` (1000..1014, 4004, 4100, ...). */
    SK_FAULT_ERROR_5001 = 4,           /* Send an `error` frame with code 5001. */
    SK_FAULT_MALFORMED = 5,            /* Send a truncated JSON frame. */
    SK_FAULT_OVERSIZED = 6,            /* Send a frame of `arg` bytes. */
    SK_FAULT_DUPLICATE = 7,            /* Send the last swap or liquidity event again (else the last data frame). */
    SK_FAULT_PONG_DELAY = 8,           /* Delay every later pong by `arg` milliseconds. */
    SK_FAULT_NULL_PRICE = 9,           /* Push the first price subscription once with "p": null. */
    SK_FAULT_HOLDER_WITHOUT_TS = 10,   /* Push the first onchain@holders_metrics subscription once without `ts`. */
    SK_FAULT_MISTYPED = 11,            /* Push once with an optional field of the wrong JSON type ("vu":"12.5" on a
                                       ** price, else "ex":0 on a swap). */
    SK_FAULT_ARRAY_ECHO = 12,          /* The next `arg` price pushes (0: every later one on the connection) echo
                                       ** "crypto_ids" as the array of all ids of the subscribe that made the
                                       ** subscription. */
    SK_FAULT_SUBSCRIBE_ERROR = 13,     /* Answer the next subscribe with an `error` frame carrying its id: code `arg`
                                       ** (1000..9999; 0: 1006, "Your plan does not support this endpoint."); the
                                       ** connection stays open and nothing is subscribed. */
    SK_FAULT_ERROR_5001_THEN_ACK = 14, /* Answer the next subscribe, and its retries for the same subscriptions, with
                                       ** 5001 carrying its id, `arg` times in all (1..1000; 0: once); the retry
                                       ** after that is acked. */
    SK_FAULT_PING_INTERVAL = 15        /* Welcome connections opened from now on with "ping_interval_ms": `arg`
                                       ** (1..86400000; 0: the simulator's 10000 again). Open connections are
                                       ** unchanged: the interval is only announced in the welcome. */
} sk_fault;
/* </tables:sk_fault> */

/* Injects `fault` into every live connection (arg as listed above; ignored otherwise).
** Returns:   SK_OK; SK_INVALID_ARGUMENT for an unknown fault or an `arg` out of its range; SK_MISUSE for an
**            invalid handle.
** Ownership: none.
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    for SK_FAULT_SUBSCRIBE_ERROR and SK_FAULT_ERROR_5001_THEN_ACK, until every connection has taken it
**            (milliseconds), so that a subscribe sent after the call meets it (not when called on an I/O thread,
**            e.g. from a callback: then it is only handed over); for the others, no.
*/
sk_status sk_sim_inject(sk_sim *sim, sk_fault fault, int64_t arg);

/* What the simulator has sent: frames (all kinds), data frames, and connections accepted.
** Returns:   SK_OK; SK_MISUSE for an invalid handle.
** Ownership: each non-NULL pointer is written (NULL ones are skipped).
** Lifetime:  none.
** Threads:   any thread.
** Blocks:    no.
*/
sk_status sk_sim_counters(sk_sim *sim, int64_t *frames_sent, int64_t *data_sent, int64_t *connections);

/* Stops the simulator, dropping every connection (as SK_FAULT_DROP), and frees it.
** Returns:   nothing. NULL, a freed or an invalid handle: ignored.
** Ownership: takes the simulator back, with its URL string.
** Lifetime:  the handle and sk_sim_url()'s string are invalid from the call on.
** Threads:   any thread. Not concurrently with another call on the same simulator.
** Blocks:    until its connections are closed and its thread has ended (milliseconds; no timeout); from inside an
**            sk_message_fn (an I/O thread, which must not wait) it returns at once and the shutdown finishes in
**            the background.
*/
void sk_sim_free(sk_sim *sim);

/* ---------------------------------------------------------------------------------------------------------------
** Decoding without a client: frames from a capture, another transport or a test. One decoder per thread; it
** allocates nothing per frame.
**
**     sk_decoder *d;
**     sk_decoder_new(&d);
**     sk_message m;
**     if (sk_decode(d, line, len, &m) == SK_OK && m.kind == SK_MESSAGE_DATA
**             && m.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE)
**         printf("%lld %.8g\n", (long long)m.data.crypto_latest_price.cid, m.data.crypto_latest_price.p);
**     sk_decoder_free(d);
*/
typedef struct sk_decoder sk_decoder;

/* A new decoder.
** Returns:   SK_OK with *out set; SK_MISUSE for a NULL out.
** Ownership: the caller owns *out: free it with sk_decoder_free().
** Lifetime:  until sk_decoder_free().
** Threads:   any thread.
** Blocks:    no.
*/
sk_status sk_decoder_new(sk_decoder **out);

/* Frees a decoder.
** Returns:   nothing. NULL, a freed or an invalid handle: ignored.
** Ownership: takes the decoder back, with its scratch memory and errmsg strings.
** Lifetime:  the handle, the views of its last sk_decode() that point into the decoder (text_outside_raw) and
**            its errmsg strings are invalid from the call on.
** Threads:   one thread at a time with the decoder's other calls.
** Blocks:    no.
*/
void sk_decoder_free(sk_decoder *decoder);

/* Decodes the `len` bytes at `frame` (one text frame, no NUL needed) into *out: for a data push, kind
** SK_MESSAGE_DATA with channel, has_ts/ts, data, raw, text_outside_raw, and subscription filled from the frame's
** own params echo, as sent (addresses not normalised); for any other valid frame, SK_MESSAGE_CONTROL (raw only).
** Returns:   SK_OK; SK_INVALID_FRAME, *out zeroed, for a frame that is malformed, truncated, not UTF-8, of wrong
**            types or too deep (sk_decoder_errmsg() has the reason and byte offset); SK_MISUSE for an invalid
**            decoder, a NULL out, or a NULL frame with len > 0; SK_INVALID_ARGUMENT for a len above PTRDIFF_MAX.
** Ownership: frame is borrowed, not copied: *out's views point into it. *out is the caller's.
** Lifetime:  views into `frame` as long as the caller keeps those bytes; the strings with escapes
**            (text_outside_raw = 1), decoded into the decoder, until its next sk_decode() or sk_decoder_free().
** Threads:   one thread at a time per decoder (one decoder per thread).
** Blocks:    no.
*/
sk_status sk_decode(sk_decoder *decoder, const char *frame, size_t len, sk_message *out);

/* Why the decoder's last failed call failed (the reason and byte offset of an invalid frame).
** Returns:   the message; "" before the first failure; a static message for NULL or an invalid handle.
** Ownership: the decoder's (or static): never free it.
** Lifetime:  until 8 more failures have been recorded on this decoder, or sk_decoder_free().
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_decoder_errmsg(const sk_decoder *decoder);

/* ---------------------------------------------------------------------------------------------------------------
** Captures: the files `streamkit record` writes (NDJSON, or zstd for a name ending in .zst; a header line, then
** frames and lifecycle lines in the order they happened), read back as the live client delivered them: data
** messages decoded by the same decoder, attributed to the subscriptions of the header and of every acknowledgement
** (a message matching none carries its own params echo, as sk_decode gives it), the second leg of a swap or
** liquidity event dropped as a duplicate, and the lifecycle events (SK_EVENT_CLOSED, SK_EVENT_RECONNECTING,
** SK_EVENT_GAP, ...) where they happened. Control frames (welcome, acks, pongs) and invalid frames are skipped, as
** live. zstd needs libzstd.so.1 at run time (not at build time).
**
**     const char *files[] = { "prices-2026-12-*.ndjson.zst" };
**     sk_capture *cap;
**     if (sk_capture_open(files, 1, &cap) != SK_OK) { fprintf(stderr, "%s\n", sk_capture_errmsg(NULL)); ... }
**     sk_capture_record r;
**     while (sk_capture_next(cap, &r) == SK_OK)
**         if (r.message.kind == SK_MESSAGE_EVENT && r.message.event == SK_EVENT_GAP) { ... mask the outage ... }
**     sk_capture_free(cap);
*/
typedef struct sk_capture sk_capture;

/* One record of a capture: a message (SK_MESSAGE_DATA) or an event (SK_MESSAGE_EVENT), with its times. */
typedef struct sk_capture_record {
    int64_t received_ns;   /* Data: the local receive time; events: when it happened (ns since the Unix epoch). */
    int64_t gap_from_ns;   /* SK_EVENT_GAP: the interruption's start; SK_EVENT_STALE: the last data (0: unknown). */
    int64_t gap_to_ns;     /* SK_EVENT_GAP: the interruption's end (0 otherwise). */
    sk_message message;    /* As the live client fills it (connection, subscription(s), channel, ts, data, raw;
                           ** event, attempt, delay_ms, gap_ms, code, text). */
} sk_capture_record;

/* Opens `count` files or glob patterns (e.g. "swaps-*.ndjson.zst"), read in the order of their headers' start
** times (a file without a header, from before 0.3: its first line's time). Plain or zstd, told by content.
** Returns:   SK_OK with *out set. Otherwise *out is NULL (if out is not NULL) and sk_capture_errmsg(NULL) says
**            why: SK_INVALID_ARGUMENT (no paths: NULL or a count of 0), SK_IO (a pattern matches nothing, a file
**            cannot be read, libzstd.so.1 missing), SK_MISUSE (a NULL out or a NULL path).
** Ownership: the array and its strings are only read during the call. The caller owns *out: free it with
**            sk_capture_free().
** Lifetime:  until sk_capture_free().
** Threads:   any thread.
** Blocks:    reads the first line of each file (as long as the file system takes; no timeout).
*/
sk_status sk_capture_open(const char *const *paths, size_t count, sk_capture **out);

/* The next record into *out. Content that is not a capture never fails: a cut file is an SK_EVENT_TRUNCATED
** record, a line that is not a capture line is skipped.
** Returns:   SK_OK; SK_STOPPED at the end (and after); SK_IO when a file stopped being readable (then the capture is
**            at its end); SK_MISUSE for an invalid handle or a NULL out.
** Ownership: *out is the caller's; the memory its views point to is the capture's.
** Lifetime:  everything *out points to is valid until the next record taken from this capture, or
**            sk_capture_free().
** Threads:   one thread at a time per capture.
** Blocks:    reads and decompresses the files (no waiting on anything else).
*/
sk_status sk_capture_next(sk_capture *capture, sk_capture_record *out);

/* Why the capture's last failed call failed; with NULL: why the last failed sk_capture_open() in the process (on
** any thread) failed.
** Returns:   the message; "" before the first failure; a static message for an invalid non-NULL handle.
** Ownership: the capture's, the process's (NULL) or static: never free it.
** Lifetime:  until 8 more failures have been recorded on this capture, or sk_capture_free(); with NULL, until 8
**            more sk_capture_open() failures in the process.
** Threads:   any thread.
** Blocks:    no.
*/
const char *sk_capture_errmsg(const sk_capture *capture);

/* Frees a capture and everything it handed out.
** Returns:   nothing. NULL, a freed or an invalid handle: ignored.
** Ownership: takes the capture back, with its records' memory and errmsg strings.
** Lifetime:  the handle and everything it handed out are invalid from the call on.
** Threads:   one thread at a time with the capture's other calls.
** Blocks:    no (it closes its files).
*/
void sk_capture_free(sk_capture *capture);

#ifdef __cplusplus
}
#endif

#endif /* STREAMKIT_H */
