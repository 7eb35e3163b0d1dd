/*
** Tests of the C API, written against include/streamkit.h only, and of the Python binding's pickles
** (include/streamkit_python.h, test_pickle alone). Run by Tests/c/run.sh against the simulator
** (STREAMKIT_URL, key "test"; key "nope" is refused with 4100), under AddressSanitizer/LeakSanitizer.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "streamkit.h"
#include "streamkit_python.h" /* test_pickle only */

static int failures = 0;
static int checks = 0;
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        checks++;                                                                            \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

static const char *url;

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static sk_client *make_client(const char *key) {
    sk_config *cfg = NULL;
    sk_client *client = NULL;
    CHECK(sk_config_new(&cfg) == SK_OK);
    CHECK(sk_config_set_url(cfg, url) == SK_OK);
    CHECK(sk_config_set_api_key(cfg, key) == SK_OK);
    CHECK(sk_config_set_seed(cfg, 7) == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_OK);
    sk_config_free(cfg); /* the client keeps a copy */
    return client;
}

/* sk_client_free returns nothing: what it did shows in the handle, which no function accepts any more. */
static void free_client(sk_client *client) {
    sk_client_free(client);
    CHECK(sk_client_start(client) == SK_MISUSE);
    CHECK(strstr(sk_client_errmsg(client), "invalid handle") != NULL);
}

static sk_subscription price(int64_t id) {
    sk_subscription s;
    memset(&s, 0, sizeof s);
    s.channel = SK_CHANNEL_CRYPTO_LATEST_PRICE;
    s.crypto_id = id;
    return s;
}

/* ---- versions and strings ---- */
static void test_version(void) {
    CHECK(sk_version_number() == STREAMKIT_VERSION_NUMBER);
    CHECK(strcmp(sk_version(), STREAMKIT_VERSION) == 0);
    CHECK(strcmp(sk_status_string(SK_OK), "ok") == 0);
    CHECK(strcmp(sk_status_string(SK_MISUSE), "misuse") == 0);
    CHECK(strcmp(sk_status_string(12345), "unknown status") == 0);
    CHECK(strcmp(sk_status_string(-1), "unknown status") == 0);
}

/* ---- every SK_MISUSE path, and argument errors ---- */
static void test_misuse(void) {
    int not_a_handle = 42;
    sk_config *fake_config = (sk_config *)&not_a_handle;
    sk_client *fake = (sk_client *)&not_a_handle;
    sk_client *client = (sk_client *)&not_a_handle;
    sk_config *cfg = NULL;
    sk_message msgs[2];
    size_t n = 99;
    sk_metrics m;
    sk_subscription_metrics sm;
    sk_subscription s = price(1);

    CHECK(sk_config_new(NULL) == SK_MISUSE);
    CHECK(sk_config_set_url(NULL, "ws://x") == SK_MISUSE);
    CHECK(sk_config_set_api_key(NULL, "k") == SK_MISUSE);
    CHECK(sk_config_set_max_connections(NULL, 1) == SK_MISUSE);
    CHECK(sk_config_set_subscriptions_per_connection(NULL, 1) == SK_MISUSE);
    CHECK(sk_config_set_queue_capacity(NULL, 1) == SK_MISUSE);
    CHECK(sk_config_set_overflow(NULL, SK_OVERFLOW_BLOCK) == SK_MISUSE);
    CHECK(sk_config_set_tls_verify(NULL, 1) == SK_MISUSE);
    CHECK(sk_config_set_ca_file(NULL, NULL) == SK_MISUSE);
    CHECK(sk_config_set_seed(NULL, 1) == SK_MISUSE);
    CHECK(sk_config_set_credit_prices(NULL, 1, 1) == SK_MISUSE);
    CHECK(sk_config_set_url(fake_config, "ws://x") == SK_MISUSE);
    CHECK(sk_config_errmsg(NULL) != NULL);
    sk_config_free(NULL);        /* no-op */
    sk_config_free(fake_config); /* not a handle: ignored */

    CHECK(sk_client_new(NULL, &client) == SK_MISUSE);
    CHECK(client == NULL);
    CHECK(sk_client_new(fake_config, &client) == SK_MISUSE);
    CHECK(sk_client_errmsg(NULL) != NULL && strlen(sk_client_errmsg(NULL)) > 0);
    CHECK(sk_client_errmsg(fake) != NULL);
    CHECK(sk_client_set_callback(NULL, NULL, NULL) == SK_MISUSE);
    CHECK(sk_client_start(NULL) == SK_MISUSE);
    CHECK(sk_client_start(fake) == SK_MISUSE);
    CHECK(sk_client_subscribe(NULL, &s, 1, SK_OVERFLOW_DEFAULT, 0) == SK_MISUSE);
    CHECK(sk_client_unsubscribe(NULL, &s, 1) == SK_MISUSE);
    CHECK(sk_client_unsubscribe_all(NULL) == SK_MISUSE);
    CHECK(sk_client_poll(NULL, msgs, 2, &n, 0) == SK_MISUSE);
    CHECK(sk_client_metrics(NULL, &m) == SK_MISUSE);
    CHECK(sk_client_subscription_metrics(NULL, &s, &sm) == SK_MISUSE);
    CHECK(sk_client_stop(NULL) == SK_MISUSE);
    sk_client_free(NULL); /* no-op */
    sk_client_free(fake); /* not a handle: ignored */
    CHECK(sk_client_start(fake) == SK_MISUSE);

    /* Arguments out of range: SK_INVALID_ARGUMENT with a message. */
    CHECK(sk_config_new(&cfg) == SK_OK);
    CHECK(sk_config_new(&cfg) == SK_OK && cfg != NULL);
    CHECK(sk_config_set_max_connections(cfg, 0) == SK_INVALID_ARGUMENT);
    CHECK(strstr(sk_config_errmsg(cfg), "1...1000") != NULL);
    {
        /* An errmsg string stays valid until 8 more failures on its handle (ASan reports a use after free). */
        const char *first = sk_config_errmsg(cfg);
        int k;
        for (k = 0; k < 7; k++) CHECK(sk_config_set_queue_capacity(cfg, 0) == SK_INVALID_ARGUMENT);
        CHECK(strstr(first, "max connections") != NULL);
        CHECK(strstr(sk_config_errmsg(cfg), "queue capacity") != NULL);
        CHECK(sk_config_set_max_connections(cfg, 5) == SK_OK);
        CHECK(strstr(sk_config_errmsg(cfg), "queue capacity") != NULL); /* success does not clear it */
    }
    CHECK(sk_config_set_subscriptions_per_connection(cfg, -5) == SK_INVALID_ARGUMENT);
    CHECK(sk_config_set_queue_capacity(cfg, 0) == SK_INVALID_ARGUMENT);
    CHECK(sk_config_set_overflow(cfg, (sk_overflow)99) == SK_INVALID_ARGUMENT);
    CHECK(sk_config_set_credit_prices(cfg, -1, 0) == SK_INVALID_ARGUMENT);
    CHECK(sk_config_set_url(cfg, NULL) == SK_INVALID_ARGUMENT);
    CHECK(strstr(sk_config_errmsg(cfg), "url is NULL") != NULL); /* every failure on a valid handle says why */
    CHECK(sk_config_set_api_key(cfg, NULL) == SK_INVALID_ARGUMENT);
    CHECK(strstr(sk_config_errmsg(cfg), "api_key is NULL") != NULL);
    CHECK(sk_config_set_max_connections(cfg, 3) == SK_OK);
    CHECK(sk_config_set_subscriptions_per_connection(cfg, 50) == SK_OK);
    CHECK(sk_config_set_queue_capacity(cfg, 128) == SK_OK);
    CHECK(sk_config_set_overflow(cfg, SK_OVERFLOW_CONFLATE) == SK_OK);
    CHECK(sk_config_set_tls_verify(cfg, 1) == SK_OK);
    CHECK(sk_config_set_ca_file(cfg, NULL) == SK_OK);
    CHECK(sk_config_set_credit_prices(cfg, 0.025, 0.1) == SK_OK);

    /* Bad key and URL: refused at sk_client_new, and the key never shows in the message. */
    CHECK(sk_config_set_url(cfg, url) == SK_OK);
    CHECK(sk_config_set_api_key(cfg, "secret key\r\nX-Evil: 1") == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_INVALID_KEY);
    CHECK(client == NULL);
    CHECK(strstr(sk_config_errmsg(cfg), "secret") == NULL);
    CHECK(sk_config_set_api_key(cfg, "test") == SK_OK);
    CHECK(sk_config_set_url(cfg, "http://example.com/?CMC_PRO_API_KEY=topsecret") == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_INVALID_URL);
    CHECK(strstr(sk_config_errmsg(cfg), "topsecret") == NULL);
    CHECK(sk_client_new(cfg, NULL) == SK_MISUSE);
    CHECK(strstr(sk_config_errmsg(cfg), "out is NULL") != NULL);

    /* Wrong state and wrong arguments on a real client. */
    CHECK(sk_config_set_url(cfg, url) == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_OK);
    sk_config_free(cfg);
    CHECK(sk_config_set_url(cfg, url) == SK_MISUSE); /* freed */
    CHECK(sk_client_set_callback(client, NULL, NULL) == SK_MISUSE);
    CHECK(sk_client_poll(client, NULL, 2, &n, 0) == SK_MISUSE);
    CHECK(sk_client_poll(client, msgs, 0, &n, 0) == SK_MISUSE);
    CHECK(sk_client_poll(client, msgs, 2, NULL, 0) == SK_MISUSE);
    CHECK(sk_client_metrics(client, NULL) == SK_MISUSE);
    CHECK(sk_client_subscription_metrics(client, NULL, &sm) == SK_MISUSE);
    s.channel = (sk_channel)77;
    CHECK(sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 0) == SK_INVALID_ARGUMENT);
    CHECK(strstr(sk_client_errmsg(client), "unknown channel") != NULL);
    s = price(1);
    CHECK(sk_client_subscribe(client, &s, 1, (sk_overflow)42, 0) == SK_INVALID_ARGUMENT);
    CHECK(sk_client_subscribe(client, NULL, 1, SK_OVERFLOW_DEFAULT, 0) == SK_INVALID_ARGUMENT);
    s.channel = SK_CHANNEL_TRANSACTION; /* on-chain without an address */
    CHECK(sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 0) == SK_INVALID_ARGUMENT);
    s.channel = SK_CHANNEL_KLINE;
    s.platform_id = 14;
    s.address = "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d";
    s.interval = "7h"; /* not a kline interval */
    CHECK(sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 0) == SK_INVALID_ARGUMENT);
    s = price(1);
    CHECK(sk_client_subscription_metrics(client, &s, &sm) == SK_INVALID_ARGUMENT); /* never subscribed */
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_start(client) == SK_MISUSE);
    CHECK(sk_client_set_callback(client, (sk_message_fn)test_misuse, NULL) == SK_MISUSE);
    free_client(client);
    sk_client_free(client); /* double free: ignored */
    CHECK(sk_client_start(client) == SK_MISUSE);
    CHECK(sk_client_poll(client, msgs, 2, &n, 0) == SK_MISUSE);
    CHECK(sk_client_errmsg(client) != NULL);
}

/* ---- pull API: typed prices, events, metrics, unsubscribe, stop ---- */
static void test_poll(void) {
    sk_client *client = make_client("test");
    sk_subscription subs[2];
    sk_message batch[64];
    size_t n = 0;
    int prices = 0, connected = 0, subscribed = 0, seen_btc = 0, seen_eth = 0, i, rounds;
    sk_metrics m;
    sk_subscription_metrics sm;

    subs[0] = price(1);
    subs[1] = price(1027);
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_subscribe(client, subs, 2, SK_OVERFLOW_CONFLATE, 10000) == SK_OK);
    for (rounds = 0; rounds < 200 && prices < 6; rounds++) {
        CHECK(sk_client_poll(client, batch, 64, &n, 100) == SK_OK);
        for (i = 0; i < (int)n; i++) {
            const sk_message *msg = &batch[i];
            if (msg->kind == SK_MESSAGE_EVENT) {
                if (msg->event == SK_EVENT_CONNECTED) connected++;
                if (msg->event == SK_EVENT_SUBSCRIBED) subscribed++;
                continue;
            }
            CHECK(msg->kind == SK_MESSAGE_DATA);
            CHECK(msg->channel == SK_CHANNEL_CRYPTO_LATEST_PRICE);
            if (msg->channel != SK_CHANNEL_CRYPTO_LATEST_PRICE) continue;
            {
                const sk_crypto_latest_price *q = &msg->data.crypto_latest_price;
                CHECK(q->present & SK_CRYPTO_LATEST_PRICE_P);
                CHECK(q->p > 0);
                CHECK(q->cid == 1 || q->cid == 1027);
                CHECK(msg->subscription.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE);
                CHECK(msg->subscription.crypto_id == q->cid);
                CHECK(msg->subscription_count == 1);
                CHECK(msg->subscriptions[0].channel == msg->subscription.channel);
                CHECK(msg->subscriptions[0].crypto_id == q->cid);
                CHECK(msg->has_ts && msg->ts > 1700000000000LL);
                CHECK(msg->raw.len > 20 && msg->raw.ptr[0] == '{');
                if (q->cid == 1) seen_btc = 1;
                if (q->cid == 1027) seen_eth = 1;
            }
            prices++;
        }
    }
    CHECK(prices >= 6);
    CHECK(seen_btc && seen_eth);
    CHECK(connected >= 1);
    CHECK(subscribed == 2);
    CHECK(sk_client_metrics(client, &m) == SK_OK);
    CHECK(m.open_connections == 1);
    CHECK(m.billable_messages >= prices);
    CHECK(m.billable_subscriptions == 2);
    CHECK(m.subscriptions == 2);
    CHECK(m.credits > 0.2);
    CHECK(sk_client_subscription_metrics(client, &subs[0], &sm) == SK_OK);
    CHECK(sm.messages >= 1 && sm.latency_count >= 1 && sm.last_update_age_ms >= 0);
    CHECK(sk_client_unsubscribe(client, &subs[0], 1) == SK_OK);
    CHECK(sk_client_unsubscribe_all(client) == SK_OK);
    CHECK(sk_client_stop(client) == SK_OK);
    /* After stop: what is left, then SK_STOPPED. */
    for (rounds = 0; rounds < 100; rounds++) {
        sk_status st = sk_client_poll(client, batch, 64, &n, 100);
        if (st == SK_STOPPED) break;
        CHECK(st == SK_OK);
    }
    CHECK(rounds < 100);
    CHECK(sk_client_start(client) == SK_MISUSE); /* stopped for good */
    free_client(client);
}

/* ---- a slow poller: drop_oldest and conflate discard waiting messages; what is polled stays whole ---- */
static int price_ok(const sk_message *msg) {
    const sk_crypto_latest_price *q = &msg->data.crypto_latest_price;
    return msg->channel == SK_CHANNEL_CRYPTO_LATEST_PRICE && (q->present & SK_CRYPTO_LATEST_PRICE_P) && q->p > 0 &&
           q->cid == msg->subscription.crypto_id && msg->subscription_count == 1 &&
           msg->subscriptions[0].crypto_id == q->cid && msg->raw.len > 20 && msg->raw.ptr[0] == '{' &&
           msg->raw.ptr[msg->raw.len - 1] == '}';
}

static void test_poll_overflow(void) {
    sk_config *cfg = NULL;
    sk_client *client = NULL;
    sk_subscription drop[200], latest;
    sk_subscription_metrics sm;
    static sk_message batch[512];
    size_t n = 0, i;
    int rounds, subscribed = 0, dropped_events = 0, data = 0, whole = 0, latest_in_poll, k;
    int64_t dropped_total = 0;

    CHECK(sk_config_new(&cfg) == SK_OK);
    CHECK(sk_config_set_url(cfg, url) == SK_OK);
    CHECK(sk_config_set_api_key(cfg, "test") == SK_OK);
    CHECK(sk_config_set_queue_capacity(cfg, 1) == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_OK);
    sk_config_free(cfg);
    /* 200 prices on two connections (the simulator makes up a market for ids it does not list) fill the store's chunks of 256 records
    ** within the test, so chunks are recycled with discarded records in them. */
    drop[0] = price(1);
    drop[1] = price(1027);
    for (k = 2; k < 200; k++) drop[k] = price(10000 + k);
    latest = price(825);
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_subscribe(client, drop, 200, SK_OVERFLOW_DROP_OLDEST, 10000) == SK_OK);
    CHECK(sk_client_subscribe(client, &latest, 1, SK_OVERFLOW_CONFLATE, 10000) == SK_OK);
    /* Poll slowly, so the queue overflows between polls, long enough to fill and reuse the store's chunks. */
    for (rounds = 0; rounds < 8; rounds++) {
        sleep_ms(700);
        CHECK(sk_client_poll(client, batch, 512, &n, 0) == SK_OK);
        latest_in_poll = 0;
        for (i = 0; i < n; i++) {
            const sk_message *msg = &batch[i];
            if (msg->kind == SK_MESSAGE_EVENT) {
                if (msg->event == SK_EVENT_SUBSCRIBED) subscribed++;
                if (msg->event == SK_EVENT_DROPPED) {
                    dropped_events++;
                    dropped_total += msg->count;
                    CHECK(msg->count > 0 && msg->subscription.crypto_id != 825);
                }
                continue;
            }
            data++;
            whole += price_ok(msg);
            if (msg->subscription.crypto_id == 825) latest_in_poll++;
        }
        CHECK(latest_in_poll <= 1); /* conflate: one waiting message at most */
    }
    printf("slow poller: %d messages, %d drop notices (%lld dropped)\n", data, dropped_events, (long long)dropped_total);
    CHECK(subscribed == 201);
    CHECK(data > 0 && whole == data);
    CHECK(dropped_events > 0);
    {
        /* Every drop is announced before the subscription's next message; some may still wait unannounced. */
        int64_t counted = 0;
        for (k = 0; k < 200; k++) {
            CHECK(sk_client_subscription_metrics(client, &drop[k], &sm) == SK_OK);
            counted += sm.dropped;
        }
        CHECK(dropped_total > 0 && dropped_total <= counted);
    }
    CHECK(sk_client_subscription_metrics(client, &latest, &sm) == SK_OK);
    CHECK(sm.coalesced > 0 && sm.dropped == 0);
    free_client(client);
}

/* ---- every channel arrives as its typed struct ---- */
static void test_every_channel(void) {
    static const sk_channel channels[] = {
        SK_CHANNEL_TOKEN_AGG_EVENT, SK_CHANNEL_TRANSACTION, SK_CHANNEL_LIQUIDITY_EVENT, SK_CHANNEL_KLINE,
        SK_CHANNEL_TOKEN_METRIC, SK_CHANNEL_POOL_METRIC, SK_CHANNEL_UNIQUE_TRADER, SK_CHANNEL_HOLDERS_METRICS,
        SK_CHANNEL_HOLDER_WALLET_UPDATE};
    sk_client *client = make_client("test");
    sk_subscription subs[10];
    sk_message batch[64];
    size_t n = 0, i, k;
    int seen[11] = {0}, all = 0, rounds;

    subs[0] = price(1027);
    for (k = 0; k < 9; k++) {
        memset(&subs[k + 1], 0, sizeof subs[k + 1]);
        subs[k + 1].channel = channels[k];
        subs[k + 1].platform_id = 14;
        subs[k + 1].address = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"; /* mixed case: normalised */
        subs[k + 1].interval = (channels[k] == SK_CHANNEL_KLINE || channels[k] == SK_CHANNEL_UNIQUE_TRADER) ? "1s" : NULL;
    }
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_subscribe(client, subs, 10, SK_OVERFLOW_DEFAULT, 10000) == SK_OK);
    for (rounds = 0; rounds < 600 && !all; rounds++) {
        const char *next_raw = NULL; /* a poll's frames lie back to back, in order */
        CHECK(sk_client_poll(client, batch, 64, &n, 100) == SK_OK);
        for (i = 0; i < n; i++) {
            const sk_message *msg = &batch[i];
            if (msg->kind != SK_MESSAGE_DATA) continue;
            if (next_raw != NULL) CHECK(msg->raw.ptr == next_raw);
            next_raw = msg->raw.ptr + msg->raw.len;
            CHECK(msg->raw.len > 0 && msg->raw.ptr[0] == '{' && msg->raw.ptr[msg->raw.len - 1] == '}');
            CHECK(msg->channel >= 1 && msg->channel <= 10);
            if (msg->channel < 1 || msg->channel > 10) continue;
            seen[msg->channel] = 1;
            if (msg->channel != SK_CHANNEL_CRYPTO_LATEST_PRICE) {
                CHECK(msg->subscription.platform_id == 14);
                CHECK(msg->subscription.address.len == 42);
                CHECK(memcmp(msg->subscription.address.ptr, "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", 42) == 0);
            }
            switch (msg->channel) {
            case SK_CHANNEL_TRANSACTION:
                CHECK(msg->data.transaction.present & SK_TRANSACTION_TX);
                CHECK(msg->data.transaction.tx.len > 0 && msg->data.transaction.tx.ptr != NULL);
                CHECK(msg->data.transaction.tp_kind == SK_SWAP_SIDE_BUY || msg->data.transaction.tp_kind == SK_SWAP_SIDE_SELL);
                break;
            case SK_CHANNEL_TOKEN_METRIC:
                CHECK(msg->data.token_metric.window_present != 0);
                break;
            case SK_CHANNEL_KLINE:
                CHECK(msg->data.kline.present != 0);
                break;
            default:
                break;
            }
        }
        all = 1;
        for (k = 1; k <= 10; k++) all = all && seen[k];
    }
    CHECK(all);
    free_client(client); /* free while streaming */
}

/* ---- push API on the delivery thread ---- */
typedef struct counter {
    pthread_mutex_t lock;
    int data;
    int events;
    int after_stop;
    int stop_in_callback; /* 1: call sk_client_stop on the first data message; 2: sk_client_free */
    int stop_returned;
    sk_client *client;
    pthread_t main_thread;
    int on_main_thread;
} counter;

static void on_message(const sk_message *msg, void *user) {
    counter *c = (counter *)user;
    int action = 0;
    pthread_mutex_lock(&c->lock);
    if (pthread_equal(pthread_self(), c->main_thread)) c->on_main_thread = 1;
    if (c->stop_returned) c->after_stop++;
    if (msg->kind == SK_MESSAGE_DATA) {
        c->data++;
        if (c->data == 1) action = c->stop_in_callback;
    } else {
        c->events++;
    }
    pthread_mutex_unlock(&c->lock);
    if (msg->kind == SK_MESSAGE_DATA && msg->channel == SK_CHANNEL_CRYPTO_LATEST_PRICE) {
        if (!(msg->data.crypto_latest_price.p > 0)) failures++;
    }
    if (action == 1) {
        if (sk_client_stop(c->client) != SK_OK) failures++;
        pthread_mutex_lock(&c->lock);
        c->stop_returned = 1; /* this callback is the last one */
        pthread_mutex_unlock(&c->lock);
    } else if (action == 2) {
        sk_client_free(c->client); /* returns at once; the client is freed when this callback returns */
        pthread_mutex_lock(&c->lock);
        c->stop_returned = 1;
        pthread_mutex_unlock(&c->lock);
    }
}

static int read_int(counter *c, int *field) {
    int v;
    pthread_mutex_lock(&c->lock);
    v = *field;
    pthread_mutex_unlock(&c->lock);
    return v;
}

static void test_callback(int stop_in_callback) {
    counter c;
    sk_subscription subs[2];
    int i;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.lock, NULL);
    c.main_thread = pthread_self();
    c.stop_in_callback = stop_in_callback;
    c.client = make_client("test");
    subs[0] = price(1);
    subs[1] = price(1027);
    CHECK(sk_client_set_callback(c.client, on_message, &c) == SK_OK);
    CHECK(sk_client_start(c.client) == SK_OK);
    CHECK(sk_client_subscribe(c.client, subs, 2, SK_OVERFLOW_DEFAULT, 10000) == SK_OK);
    if (stop_in_callback == 0) {
        sk_message m;
        size_t n;
        CHECK(sk_client_poll(c.client, &m, 1, &n, 0) == SK_MISUSE); /* delivery goes to the callback */
        for (i = 0; i < 200 && read_int(&c, &c.data) < 4; i++) sleep_ms(25);
        CHECK(read_int(&c, &c.data) >= 4);
        CHECK(sk_client_stop(c.client) == SK_OK);
        pthread_mutex_lock(&c.lock);
        c.stop_returned = 1;
        pthread_mutex_unlock(&c.lock);
        sleep_ms(300);
        CHECK(read_int(&c, &c.after_stop) == 0); /* none after stop returned */
        free_client(c.client);
    } else {
        for (i = 0; i < 200 && !read_int(&c, &c.stop_returned); i++) sleep_ms(25);
        CHECK(read_int(&c, &c.stop_returned));
        sleep_ms(300);
        CHECK(read_int(&c, &c.after_stop) == 0);
        if (stop_in_callback == 1) {
            free_client(c.client);
        } else {
            CHECK(sk_client_start(c.client) == SK_MISUSE); /* freed by the callback */
        }
    }
    CHECK(read_int(&c, &c.events) >= 1);
    CHECK(!c.on_main_thread);
    pthread_mutex_destroy(&c.lock);
}

/* ---- from inside the callback (it runs on the client's I/O thread): subscribe does not wait for the ack, which
** arrives as an event, and the metrics answer at once ---- */
typedef struct inside {
    pthread_mutex_t lock;
    sk_client *client;
    int asked;           /* the first data message asked for 825 and the metrics */
    sk_status subscribe_status, metrics_status;
    int64_t metrics_messages;
    int subscribed_825;  /* SK_EVENT_SUBSCRIBED for 825 seen */
    int data_825;        /* data messages of 825 seen */
    int subscription_views_ok;
    sk_sim *extra;       /* a simulator of its own, freed from inside the callback */
    int extra_freed;
} inside;

static void on_inside(const sk_message *msg, void *user) {
    inside *c = (inside *)user;
    pthread_mutex_lock(&c->lock);
    int ask = 0;
    if (msg->kind == SK_MESSAGE_DATA && !c->asked) c->asked = ask = 1;
    if (msg->kind == SK_MESSAGE_EVENT && msg->event == SK_EVENT_SUBSCRIBED && msg->subscription.crypto_id == 825)
        c->subscribed_825++;
    if (msg->kind == SK_MESSAGE_DATA && msg->subscription.crypto_id == 825) {
        c->data_825++;
        /* The subscription view is the message's own, and subscriptions[0] is it. */
        if (msg->subscription_count == 1 && msg->subscriptions[0].crypto_id == 825 &&
            msg->data.crypto_latest_price.cid == 825)
            c->subscription_views_ok++;
    }
    pthread_mutex_unlock(&c->lock);
    if (ask) {
        sk_subscription s = price(825);
        sk_metrics m;
        /* A timeout of 10 s: were it to wait for the ack on this thread, it could never arrive. */
        sk_status st = sk_client_subscribe(c->client, &s, 1, SK_OVERFLOW_DEFAULT, 10000);
        sk_status mt = sk_client_metrics(c->client, &m);
        sk_sim_free(c->extra); /* on an I/O thread, which must not wait: returns at once */
        pthread_mutex_lock(&c->lock);
        c->extra_freed = 1;
        c->subscribe_status = st;
        c->metrics_status = mt;
        c->metrics_messages = m.messages;
        pthread_mutex_unlock(&c->lock);
    }
}

static void test_calls_inside_callback(void) {
    inside c;
    sk_subscription s = price(1);
    int i, done = 0;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.lock, NULL);
    c.subscribe_status = c.metrics_status = SK_INTERNAL;
    c.client = make_client("test");
    CHECK(sk_sim_start("other", 0, 1.0, 0, 1, &c.extra) == SK_OK);
    CHECK(sk_client_set_callback(c.client, on_inside, &c) == SK_OK);
    CHECK(sk_client_start(c.client) == SK_OK);
    CHECK(sk_client_subscribe(c.client, &s, 1, SK_OVERFLOW_DEFAULT, 10000) == SK_OK);
    for (i = 0; i < 400 && !done; i++) {
        sleep_ms(25);
        pthread_mutex_lock(&c.lock);
        done = c.data_825 >= 2;
        pthread_mutex_unlock(&c.lock);
    }
    pthread_mutex_lock(&c.lock);
    CHECK(c.asked);
    CHECK(c.subscribe_status == SK_OK);
    CHECK(c.metrics_status == SK_OK);
    CHECK(c.metrics_messages >= 1);
    CHECK(c.subscribed_825 == 1);
    CHECK(c.data_825 >= 2);
    CHECK(c.subscription_views_ok == c.data_825);
    CHECK(c.extra_freed);
    CHECK(sk_sim_url(c.extra) == NULL); /* freed */
    pthread_mutex_unlock(&c.lock);
    sk_client_stop(c.client);
    sk_client_free(c.client);
    pthread_mutex_destroy(&c.lock);
}

/* ---- a refused key: one fatal event, then stopped ---- */
static void test_fatal(void) {
    sk_client *client = make_client("nope");
    sk_subscription s = price(1);
    sk_message batch[16];
    size_t n, i;
    int fatal = 0, reconnecting = 0, rounds;
    sk_status st = SK_OK;
    sk_metrics m;
    CHECK(sk_client_start(client) == SK_OK);
    st = sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 5000);
    CHECK(st == SK_SUBSCRIPTION_FAILED || st == SK_STOPPED);
    for (rounds = 0; rounds < 100; rounds++) {
        st = sk_client_poll(client, batch, 16, &n, 100);
        for (i = 0; i < n; i++) {
            if (batch[i].kind != SK_MESSAGE_EVENT) continue;
            if (batch[i].event == SK_EVENT_FATAL) {
                fatal++;
                CHECK(batch[i].code == 4100);
                CHECK(batch[i].reason == SK_REASON_CLOSED_BY_SERVER);
                CHECK(batch[i].text.len > 0);
            } else {
                CHECK(batch[i].reason == SK_REASON_NONE);
            }
            if (batch[i].event == SK_EVENT_RECONNECTING) reconnecting++;
        }
        if (st == SK_STOPPED) break;
    }
    CHECK(st == SK_STOPPED);
    CHECK(fatal == 1);
    CHECK(reconnecting == 0);
    CHECK(sk_client_metrics(client, &m) == SK_OK);
    CHECK(m.reconnects == 0);
    free_client(client);
}

/* ---- the in-process simulator: faults reach the client as reconnect and gap events ---- */
static void test_sim(void) {
    sk_sim *sim = NULL;
    sk_config *cfg;
    sk_client *client = NULL;
    sk_subscription s = price(1);
    sk_message batch[64];
    size_t n, i;
    int rounds, data_after = 0, reconnecting = 0, gap = 0, dropped_once = 0;
    int64_t frames = -1, data = -1, connections = -1;
    sk_metrics m;

    CHECK(sk_sim_start("k", 0, 50, 0, 1, NULL) == SK_MISUSE);
    CHECK(sk_sim_start(NULL, 0, 50, 0, 1, &sim) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_start("k", -1, 50, 0, 1, &sim) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_start("k", 0, 0, 0, 1, &sim) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_url(NULL) == NULL);
    CHECK(sk_sim_inject(NULL, SK_FAULT_DROP, 0) == SK_MISUSE);
    CHECK(sk_sim_counters(NULL, NULL, NULL, NULL) == SK_MISUSE);
    sk_sim_free(NULL); /* no-op */

    CHECK(sk_sim_start("k", 0, 50, 0, 1, &sim) == SK_OK);
    if (sim == NULL) return;
    CHECK(strncmp(sk_sim_url(sim), "ws://127.0.0.1:", 15) == 0);
    CHECK(sk_sim_inject(sim, (sk_fault)99, 0) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(sim, SK_FAULT_CLOSE, 5) == SK_INVALID_ARGUMENT);
    CHECK(sk_config_new(&cfg) == SK_OK);
    CHECK(sk_config_set_url(cfg, sk_sim_url(sim)) == SK_OK);
    CHECK(sk_config_set_api_key(cfg, "k") == SK_OK);
    CHECK(sk_client_new(cfg, &client) == SK_OK);
    sk_config_free(cfg);
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_subscribe(client, &s, 1, SK_OVERFLOW_DEFAULT, 10000) == SK_OK);
    for (rounds = 0; rounds < 300 && !(gap && data_after >= 2); rounds++) {
        CHECK(sk_client_poll(client, batch, 64, &n, 50) == SK_OK);
        for (i = 0; i < n; i++) {
            if (batch[i].kind == SK_MESSAGE_DATA) {
                if (!dropped_once) {
                    CHECK(sk_sim_inject(sim, SK_FAULT_DROP, 0) == SK_OK); /* the connection dies mid-stream */
                    dropped_once = 1;
                } else if (gap) {
                    data_after++;
                }
            } else if (batch[i].event == SK_EVENT_RECONNECTING) {
                reconnecting++;
            } else if (batch[i].event == SK_EVENT_GAP) {
                gap++;
                CHECK(batch[i].subscription.crypto_id == 1);
                CHECK(batch[i].gap_ms >= 0);
                CHECK(data_after == 0); /* the gap comes before the data after it */
            }
        }
    }
    CHECK(reconnecting == 1);
    CHECK(gap == 1);
    CHECK(data_after >= 2);
    sleep_ms(100); /* the simulator counts a frame just after writing it: let the last count land */
    CHECK(sk_sim_counters(sim, &frames, &data, &connections) == SK_OK);
    CHECK(connections == 2);
    CHECK(data >= 3);
    CHECK(frames > data);
    CHECK(sk_sim_inject(sim, SK_FAULT_CLOSE, 1011) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_PONG_DELAY, 10) == SK_OK);
    /* The faults of issue #20, each with its default and an explicit arg; args out of range are refused. */
    CHECK(sk_sim_inject(sim, SK_FAULT_NULL_PRICE, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_HOLDER_WITHOUT_TS, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_MISTYPED, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_ARRAY_ECHO, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_ARRAY_ECHO, 5) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_ARRAY_ECHO, -1) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(sim, SK_FAULT_SUBSCRIBE_ERROR, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_SUBSCRIBE_ERROR, 2302) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_SUBSCRIBE_ERROR, 42) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(sim, SK_FAULT_ERROR_5001_THEN_ACK, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_ERROR_5001_THEN_ACK, 3) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_ERROR_5001_THEN_ACK, 1001) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(sim, SK_FAULT_PING_INTERVAL, 60000) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_PING_INTERVAL, 0) == SK_OK);
    CHECK(sk_sim_inject(sim, SK_FAULT_PING_INTERVAL, -5) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(sim, (sk_fault)(SK_FAULT_PING_INTERVAL + 1), 0) == SK_INVALID_ARGUMENT);
    CHECK(sk_sim_inject(NULL, SK_FAULT_PING_INTERVAL, 0) == SK_MISUSE);
    /* sk_sim_free returns nothing: it drops the client's connection (once the client is back from the close
    ** above), and the handle is refused from then on. */
    for (rounds = 0; rounds < 200 && (sk_client_metrics(client, &m) != SK_OK || m.open_connections != 1); rounds++)
        sleep_ms(50);
    CHECK(m.open_connections == 1);
    sk_sim_free(sim);
    for (rounds = 0; rounds < 100 && (sk_client_metrics(client, &m) != SK_OK || m.open_connections != 0); rounds++)
        sleep_ms(50);
    CHECK(m.open_connections == 0);
    CHECK(sk_sim_url(sim) == NULL);
    CHECK(sk_sim_inject(sim, SK_FAULT_DROP, 0) == SK_MISUSE);
    sk_sim_free(sim); /* double free: ignored */
    free_client(client);
}

/* ---- sk_decode: a frame from elsewhere, no client ---- */
static void test_decode(void) {
    sk_decoder *d = NULL;
    sk_message m;
    CHECK(sk_decoder_new(NULL) == SK_MISUSE);
    CHECK(sk_decoder_new(&d) == SK_OK && d != NULL);
    static const char price[] =
        "{ \"type\": \"data\", \"channel\": \"market@crypto_latest_price\", \"params\": { \"crypto_ids\": 1 }, "
        "\"data\": { \"cid\": 1, \"p\": 81187.93284788371, \"vu\": null, \"mc\": 1626089237758.01 }, \"ts\": 1778663880111 }";
    CHECK(sk_decode(d, price, strlen(price), &m) == SK_OK);
    CHECK(m.kind == SK_MESSAGE_DATA && m.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE);
    CHECK(m.has_ts && m.ts == 1778663880111LL);
    CHECK(m.subscription.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE && m.subscription.crypto_id == 1);
    CHECK(m.data.crypto_latest_price.cid == 1 && m.data.crypto_latest_price.p == 81187.93284788371);
    CHECK((m.data.crypto_latest_price.present & SK_CRYPTO_LATEST_PRICE_VU) && (m.data.crypto_latest_price.nulls & SK_CRYPTO_LATEST_PRICE_VU));
    CHECK(m.raw.ptr == price && m.raw.len == strlen(price));
    CHECK(m.data.crypto_latest_price.mistyped == 0);
    /* A null `p` and mistyped optional fields read as absent, each with its bit; the rest is intact. */
    static const char tolerated[] =
        "{\"type\":\"data\",\"channel\":\"market@crypto_latest_price\",\"params\":{\"crypto_ids\":1},"
        "\"data\":{\"cid\":1,\"p\":null,\"vu\":\"12.5\",\"mc\":true,\"cs\":5},\"ts\":\"x\"}";
    CHECK(sk_decode(d, tolerated, strlen(tolerated), &m) == SK_OK);
    CHECK(m.kind == SK_MESSAGE_DATA && m.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE && !m.has_ts);
    CHECK((m.data.crypto_latest_price.present & SK_CRYPTO_LATEST_PRICE_P) && (m.data.crypto_latest_price.nulls & SK_CRYPTO_LATEST_PRICE_P));
    CHECK(m.data.crypto_latest_price.mistyped == (SK_CRYPTO_LATEST_PRICE_VU | SK_CRYPTO_LATEST_PRICE_MC));
    CHECK(!(m.data.crypto_latest_price.present & SK_CRYPTO_LATEST_PRICE_VU) && m.data.crypto_latest_price.vu == 0);
    CHECK(m.data.crypto_latest_price.cs == 5);
    /* A data frame without `channel` whose shape fits no one channel: delivered, of no channel. */
    static const char nameless[] = "{\"type\":\"data\",\"data\":{\"x\":1}}";
    CHECK(sk_decode(d, nameless, strlen(nameless), &m) == SK_OK);
    CHECK(m.kind == SK_MESSAGE_DATA && m.channel == SK_CHANNEL_UNKNOWN);
    /* An escaped string is decoded into the decoder's memory, and says so. */
    static const char swap[] =
        "{\"type\":\"data\",\"channel\":\"onchain@transaction\",\"params\":{\"platform_id\":14,\"address\":\"0xab\"},"
        "\"data\":{\"t0s\":\"U\\u0053DC\",\"tx\":\"0x1\",\"lgid\":3},\"ts\":5}";
    CHECK(sk_decode(d, swap, strlen(swap), &m) == SK_OK);
    CHECK(m.channel == SK_CHANNEL_TRANSACTION && m.text_outside_raw == 1);
    CHECK(m.data.transaction.t0s.len == 4 && memcmp(m.data.transaction.t0s.ptr, "USDC", 4) == 0);
    CHECK(m.subscription.platform_id == 14 && m.subscription.address.len == 4);
    static const char pong[] = "{\"type\":\"pong\",\"id\":1,\"code\":0,\"ts\":5}";
    CHECK(sk_decode(d, pong, strlen(pong), &m) == SK_OK && m.kind == SK_MESSAGE_CONTROL);
    /* Every prefix of a frame is a typed error, never a crash. */
    for (size_t n = 0; n < strlen(price); n++) {
        if (sk_decode(d, price, n, &m) != SK_INVALID_FRAME) { CHECK(0); break; }
    }
    CHECK(strstr(sk_decoder_errmsg(d), "at byte") != NULL);
    CHECK(sk_decode(d, NULL, 3, &m) == SK_MISUSE);
    CHECK(sk_decode(d, price, strlen(price), NULL) == SK_MISUSE);
    CHECK(strcmp(sk_status_string(SK_INVALID_FRAME), "invalid frame") == 0);
    sk_decoder_free(d);
    CHECK(sk_decode(d, price, strlen(price), &m) == SK_MISUSE); /* freed */
    CHECK(strcmp(sk_decoder_errmsg(d), sk_decoder_errmsg(NULL)) == 0);
    sk_decoder_free(NULL);
}

/* ---- the pickles for bindings: framing, misuse, and a batch shared with sk_client_poll()'s rules ---- */
static int pickle_framed(const unsigned char *p, size_t len) {
    /* PROTO 4, one FRAME covering the rest, STOP last. */
    uint64_t frame = 0;
    int i;
    if (len < 12 || p[0] != 0x80 || p[1] != 4 || p[2] != 0x95 || p[len - 1] != '.') return 0;
    for (i = 0; i < 8; i++) frame |= (uint64_t)p[3 + i] << (8 * i);
    return frame == len - 11;
}

static int contains(const unsigned char *p, size_t len, const char *s) {
    size_t n = strlen(s), i;
    for (i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0) return 1;
    return 0;
}

static void test_pickle(void) {
    sk_decoder *d = NULL;
    const void *pk = NULL;
    size_t len = 0, n = 0;
    int rounds, found = 0;
    static const char price_frame[] =
        "{\"type\":\"data\",\"channel\":\"market@crypto_latest_price\",\"params\":{\"crypto_ids\":1},"
        "\"data\":{\"cid\":1,\"p\":81187.93284788371},\"ts\":1778663880111}";
    static const char bad_utf8[] =
        "{\"type\":\"data\",\"channel\":\"onchain@transaction\",\"params\":{\"platform_id\":14,\"address\":\"0xab\"},"
        "\"data\":{\"t0s\":\"U\xff\",\"tx\":\"0x1\"},\"ts\":5}";
    static const char pong[] = "{\"type\":\"pong\",\"id\":1,\"code\":0,\"ts\":5}";
    sk_client *client;
    sk_subscription sub = price(1);

    CHECK(sk_decoder_new(&d) == SK_OK);
    CHECK(sk_decode_pickle(d, price_frame, strlen(price_frame), &pk, &len) == SK_OK);
    CHECK(pk != NULL && pickle_framed(pk, len));
    CHECK(contains(pk, len, "market@crypto_latest_price") && contains(pk, len, "crypto_ids"));
    CHECK(contains(pk, len, price_frame)); /* the frame's bytes */
    /* Invalid UTF-8 is refused by the decoder, so every text a pickle carries is UTF-8. */
    CHECK(sk_decode_pickle(d, bad_utf8, strlen(bad_utf8), &pk, &len) == SK_INVALID_FRAME && len == 0);
    CHECK(sk_decode_pickle(d, pong, strlen(pong), &pk, &len) == SK_OK && pickle_framed(pk, len));
    CHECK(sk_decode_pickle(d, price_frame, 10, &pk, &len) == SK_INVALID_FRAME && pk == NULL && len == 0);
    CHECK(sk_decode_pickle(d, price_frame, strlen(price_frame), NULL, &len) == SK_MISUSE);
    CHECK(sk_decode_pickle(d, price_frame, strlen(price_frame), &pk, NULL) == SK_MISUSE);
    sk_decoder_free(d);
    CHECK(sk_decode_pickle(d, price_frame, strlen(price_frame), &pk, &len) == SK_MISUSE); /* freed */

    client = make_client("test");
    CHECK(sk_client_poll_pickle(client, 0, 0, &pk, &len, &n) == SK_INVALID_ARGUMENT);
    CHECK(sk_client_poll_pickle(client, 65537, 0, &pk, &len, &n) == SK_INVALID_ARGUMENT);
    CHECK(sk_client_poll_pickle(client, 64, 0, NULL, &len, &n) == SK_MISUSE);
    CHECK(sk_client_poll_pickle(client, 64, 0, &pk, &len, NULL) == SK_MISUSE);
    CHECK(sk_client_start(client) == SK_OK);
    CHECK(sk_client_subscribe(client, &sub, 1, SK_OVERFLOW_DEFAULT, 10000) == SK_OK);
    for (rounds = 0; rounds < 200 && !found; rounds++) {
        CHECK(sk_client_poll_pickle(client, 64, 100, &pk, &len, &n) == SK_OK);
        CHECK(pickle_framed(pk, len));
        if (n > 0 && contains(pk, len, "market@crypto_latest_price")) found = 1; /* a data message */
    }
    CHECK(found);
    CHECK(sk_client_stop(client) == SK_OK);
    for (rounds = 0; rounds < 100; rounds++)
        if (sk_client_poll_pickle(client, 64, 100, &pk, &len, &n) == SK_STOPPED) break;
    CHECK(rounds < 100 && n == 0);
    sk_client_free(client);
    CHECK(sk_client_poll_pickle(client, 64, 0, &pk, &len, &n) == SK_MISUSE); /* freed */
}


/* ---- capture reader ---- */
static void capture_frame(FILE *f, int64_t t, int connection, const char *frame) {
    fprintf(f, "{\"t\":%lld,\"c\":%d,\"f\":\"", (long long)t, connection);
    for (const char *p = frame; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        fputc(*p, f);
    }
    fputs("\"}\n", f);
}

static void write_capture(const char *path, int cut) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("{\"capture\":\"streamkit\",\"format\":1,\"version\":\"" STREAMKIT_VERSION "\",\"start\":1796000000000000000,"
          "\"host\":\"test\",\"url\":\"ws://127.0.0.1:1/v1\",\"part\":0,\"subscriptions\":["
          "{\"channel\":\"market@crypto_latest_price\",\"crypto_ids\":1},"
          "{\"channel\":\"onchain@transaction\",\"platform_id\":14,\"address\":\"0x55d398326f99059ff775485246999027b3197955\"},"
          "{\"channel\":\"onchain@transaction\",\"platform_id\":14,\"address\":\"0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c\"}]}\n", f);
    fputs("{\"t\":1796000000000000001,\"c\":0,\"e\":\"connected\"}\n", f);
    capture_frame(f, 1796000000000000002, 0, "{\"id\":1,\"type\":\"ack\",\"result\":\"subscribed\"}");
    capture_frame(f, 1796000000000000003, 0,
                  "{\"type\":\"data\",\"channel\":\"market@crypto_latest_price\",\"params\":{\"crypto_ids\":1},"
                  "\"data\":{\"cid\":1,\"p\":97000.5},\"ts\":1796000000000}");
    /* One swap between the two subscribed tokens: both legs were recorded, one is delivered, with both. */
    static const char swap_a[] =
        "{\"type\":\"data\",\"channel\":\"onchain@transaction\",\"params\":{\"platform_id\":14,\"address\":"
        "\"0x55d398326f99059ff775485246999027b3197955\"},\"data\":{\"tx\":\"0xabc\",\"iix\":3,\"pid\":14,"
        "\"t0a\":\"0x55d398326f99059ff775485246999027b3197955\",\"t1a\":\"0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c\","
        "\"vu\":12.5},\"ts\":1796000000100}";
    static const char swap_b[] =
        "{\"type\":\"data\",\"channel\":\"onchain@transaction\",\"params\":{\"platform_id\":14,\"address\":"
        "\"0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c\"},\"data\":{\"tx\":\"0xabc\",\"iix\":3,\"pid\":14,"
        "\"t0a\":\"0x55d398326f99059ff775485246999027b3197955\",\"t1a\":\"0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c\","
        "\"vu\":12.5},\"ts\":1796000000100}";
    capture_frame(f, 1796000000000000004, 0, swap_a);
    capture_frame(f, 1796000000000000005, 0, swap_b);
    fputs("{\"t\":1796000001000000000,\"c\":0,\"e\":\"closed\",\"code\":1011,\"text\":\"closed by server\"}\n", f);
    fputs("{\"t\":1796000001000000000,\"c\":0,\"e\":\"reconnecting\",\"attempt\":1,\"delay_ms\":250,\"code\":1011}\n", f);
    fputs("{\"t\":1796000002000000000,\"c\":0,\"e\":\"gap\",\"sub\":{\"channel\":\"market@crypto_latest_price\","
          "\"crypto_ids\":1},\"from\":1796000000500000000,\"to\":1796000002000000000,\"text\":\"closed by server\"}\n", f);
    capture_frame(f, 1796000002000000001, 0,
                  "{\"type\":\"data\",\"channel\":\"market@crypto_latest_price\",\"params\":{\"crypto_ids\":1},"
                  "\"data\":{\"cid\":1,\"p\":97001.25},\"ts\":1796000002000}");
    if (cut) fputs("{\"t\":1796000002000000002,\"c\":0,\"f\":\"{\\\"type\\\":\\\"da", f);
    fclose(f);
}

static void check_capture(const char *path, int cut) {
    sk_capture *cap = NULL;
    const char *paths[] = { path };
    CHECK(sk_capture_open(paths, 1, &cap) == SK_OK && cap != NULL);
    if (!cap) { fprintf(stderr, "%s\n", sk_capture_errmsg(NULL)); return; }
    sk_capture_record r;
    int n = 0, prices = 0, swaps = 0, gaps = 0, closed = 0, truncated = 0, reconnecting = 0;
    while (sk_capture_next(cap, &r) == SK_OK) {
        n++;
        const sk_message *m = &r.message;
        if (m->kind == SK_MESSAGE_DATA && m->channel == SK_CHANNEL_CRYPTO_LATEST_PRICE) {
            CHECK(m->data.crypto_latest_price.cid == 1);
            CHECK(m->subscription.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE && m->subscription.crypto_id == 1);
            CHECK(r.received_ns == (prices == 0 ? 1796000000000000003 : 1796000002000000001));
            CHECK(m->data.crypto_latest_price.p == (prices == 0 ? 97000.5 : 97001.25));
            CHECK(gaps == prices); /* the gap comes before the price after the outage */
            prices++;
        } else if (m->kind == SK_MESSAGE_DATA && m->channel == SK_CHANNEL_TRANSACTION) {
            swaps++;
            CHECK(m->subscription_count == 2);
            CHECK(m->data.transaction.vu == 12.5);
            CHECK(m->raw.len > 0 && memcmp(m->raw.ptr, "{\"type\":\"data\"", 14) == 0);
        } else if (m->kind == SK_MESSAGE_EVENT) {
            switch (m->event) {
            case SK_EVENT_CLOSED: closed++; CHECK(m->code == 1011); break;
            case SK_EVENT_RECONNECTING: reconnecting++; CHECK(m->delay_ms == 250 && m->attempt == 1); break;
            case SK_EVENT_GAP:
                gaps++;
                CHECK(r.gap_from_ns == 1796000000500000000 && r.gap_to_ns == 1796000002000000000);
                CHECK(m->gap_ms == 1500);
                CHECK(m->subscription.crypto_id == 1);
                break;
            case SK_EVENT_TRUNCATED:
                truncated++;
                CHECK(m->text.len > 0 && m->count > 0);
                break;
            default: break;
            }
        }
    }
    CHECK(prices == 2 && swaps == 1 && gaps == 1 && closed == 1 && reconnecting == 1);
    CHECK(truncated == (cut ? 1 : 0));
    CHECK(n == 7 + cut); /* connected, price, swap, closed, reconnecting, gap, price (+ truncated) */
    CHECK(sk_capture_next(cap, &r) == SK_STOPPED); /* and it stays at the end */
    sk_capture_free(cap);
}

static void test_capture(void) {
    char dir[] = "/tmp/sk-capture-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char plain[256], cut[256], zst[256], cmd[600];
    snprintf(plain, sizeof plain, "%s/c.ndjson", dir);
    snprintf(cut, sizeof cut, "%s/cut.ndjson", dir);
    snprintf(zst, sizeof zst, "%s/c.ndjson.zst", dir);
    write_capture(plain, 0);
    write_capture(cut, 1);
    check_capture(plain, 0);
    check_capture(cut, 1);
    snprintf(cmd, sizeof cmd, "zstd -q -f '%s' -o '%s'", plain, zst);
    CHECK(system(cmd) == 0); /* `make deps` installs zstd */
    check_capture(zst, 0);
    /* A glob names both files (the plain and the zstd copy): everything twice, in order, but the swap: its second
    ** copy is a duplicate of the first (the same tx and iix), dropped as the client drops the second leg. */
    char pattern[300];
    snprintf(pattern, sizeof pattern, "%s/c.ndjson*", dir);
    const char *globbed[] = { pattern };
    sk_capture *cap = NULL;
    CHECK(sk_capture_open(globbed, 1, &cap) == SK_OK);
    sk_capture_record r;
    int n = 0;
    while (sk_capture_next(cap, &r) == SK_OK) n++;
    CHECK(n == 13);
    sk_capture_free(cap);
    /* Wrong calls: clear errors, no crash. */
    const char *missing[] = { "/nonexistent/capture.ndjson" };
    cap = (sk_capture *)1;
    CHECK(sk_capture_open(missing, 1, &cap) == SK_IO && cap == NULL);
    CHECK(strstr(sk_capture_errmsg(NULL), "/nonexistent/capture.ndjson") != NULL);
    CHECK(sk_capture_open(missing, 0, &cap) == SK_INVALID_ARGUMENT);
    CHECK(sk_capture_open(missing, 1, NULL) == SK_MISUSE);
    CHECK(strstr(sk_capture_errmsg(NULL), "out is NULL") != NULL);
    const char *nulls[] = { NULL };
    CHECK(sk_capture_open(nulls, 1, &cap) == SK_MISUSE);
    CHECK(sk_capture_next(NULL, &r) == SK_MISUSE);
    CHECK(sk_capture_next((sk_capture *)&r, &r) == SK_MISUSE);
    sk_capture_free(NULL);
    CHECK(strcmp(sk_status_string(SK_IO), "i/o error") == 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    url = getenv("STREAMKIT_URL");
    if (url == NULL) {
        fprintf(stderr, "STREAMKIT_URL is not set (Tests/c/run.sh starts a simulator)\n");
        return 2;
    }
    test_version();
    test_misuse();
    test_decode();
    test_capture();
    test_pickle();
    test_poll();
    test_poll_overflow();
    test_every_channel();
    test_callback(0);
    test_callback(1);
    test_callback(2);
    test_calls_inside_callback();
    test_fatal();
    test_sim();
    printf("C API tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
