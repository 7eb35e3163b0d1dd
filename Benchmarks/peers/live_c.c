/*
** This source file is part of StreamKit.
** SPDX-License-Identifier: Apache-2.0
**
** The C consumer of the live benchmark (Benchmarks/live.py): subscribes to two prices on a `streamkit sim` and
** consumes as fast as it pushes, through the callback or the poll API; prints one JSON line with the process CPU
** time over a window of messages after a warm-up.
**
** Usage: live_c callback|poll URL [MESSAGES]
*/
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "streamkit.h"

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long warmup, timed, n;
static double sum, cpu0, wall0, cpu1, wall1;
static atomic_int done;

/* What a consumer reads of each message: the id, the price and its 24 h change. */
static void take(const sk_message *m) {
    if (m->kind != SK_MESSAGE_DATA || m->channel != SK_CHANNEL_CRYPTO_LATEST_PRICE) return;
    const sk_crypto_latest_price *q = &m->data.crypto_latest_price;
    sum += q->p + (double)q->cid + q->p24h;
    n++;
    if (n == warmup) {
        cpu0 = cpu_seconds();
        wall0 = wall_seconds();
    } else if (n == warmup + timed) {
        cpu1 = cpu_seconds();
        wall1 = wall_seconds();
        atomic_store(&done, 1);
    }
}

static void on_message(const sk_message *m, void *user) {
    (void)user;
    if (!atomic_load(&done)) take(m);
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "callback") && strcmp(argv[1], "poll"))) {
        fprintf(stderr, "usage: %s callback|poll URL [MESSAGES]\n", argv[0]);
        return 2;
    }
    int callback = !strcmp(argv[1], "callback");
    timed = argc > 3 ? atol(argv[3]) : 200000;
    warmup = timed / 10;
    sk_config *cfg;
    sk_client *client;
    sk_config_new(&cfg);
    sk_config_set_url(cfg, argv[2]);
    sk_config_set_api_key(cfg, "bench");
    sk_config_set_overflow(cfg, SK_OVERFLOW_BLOCK);
    if (sk_client_new(cfg, &client) != SK_OK) {
        fprintf(stderr, "sk_client_new: %s\n", sk_config_errmsg(cfg));
        return 1;
    }
    sk_config_free(cfg);
    if (callback) sk_client_set_callback(client, on_message, NULL);
    sk_client_start(client);
    sk_subscription subs[2] = {{SK_CHANNEL_CRYPTO_LATEST_PRICE, 1, 0, NULL, NULL},
                               {SK_CHANNEL_CRYPTO_LATEST_PRICE, 1027, 0, NULL, NULL}};
    if (sk_client_subscribe(client, subs, 2, SK_OVERFLOW_BLOCK, 10000) != SK_OK) {
        fprintf(stderr, "subscribe: %s\n", sk_client_errmsg(client));
        return 1;
    }
    if (callback) {
        while (!atomic_load(&done)) usleep(20000);
    } else {
        static sk_message batch[512];
        size_t count;
        while (!atomic_load(&done) && sk_client_poll(client, batch, 512, &count, 1000) == SK_OK)
            for (size_t i = 0; i < count && !atomic_load(&done); i++) take(&batch[i]);
    }
    printf("{\"consumer\": \"C %s\", \"messages\": %ld, \"cpu_s\": %.6f, \"wall_s\": %.6f, \"checksum\": %.3f}\n",
           callback ? "callback (sk_client_set_callback)" : "poll (sk_client_poll, 512 per call)", timed, cpu1 - cpu0,
           wall1 - wall0, sum);
    sk_client_free(client);
    return 0;
}
