/*
** dump: any channel, printed from the raw frame with libjansson (the generic path: every key, including keys
** this version of StreamKit does not know, as the server sent them).
**
**   make && STREAMKIT_URL=ws://127.0.0.1:8765/v1 CMC_API_KEY=test ./dump onchain@transaction 14 0x... 10
**   ./dump market@crypto_latest_price 1027 - 5
**
** Arguments: CHANNEL, then a crypto id (market@crypto_latest_price) or a platform id and an address, then how
** many frames to print (default: until Ctrl-C).
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "streamkit.h"

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

static const char *names[] = {NULL, "market@crypto_latest_price", "onchain@token_agg_event", "onchain@transaction",
                              "onchain@liquidity_event", "onchain@kline", "onchain@token_metric", "onchain@pool_metric",
                              "onchain@unique_trader", "onchain@holders_metrics", "onchain@holder_wallet_update"};

int main(int argc, char **argv) {
    sk_subscription sub;
    sk_config *cfg;
    sk_client *client;
    sk_message batch[64];
    size_t n, i;
    long limit = -1, printed = 0;
    int c;
    const char *url = getenv("STREAMKIT_URL");

    if (argc < 3) {
        fprintf(stderr, "usage: %s CHANNEL (CRYPTO_ID | PLATFORM_ID ADDRESS) [COUNT]\n", argv[0]);
        return 2;
    }
    memset(&sub, 0, sizeof sub);
    for (c = 1; c <= 10; c++)
        if (strcmp(argv[1], names[c]) == 0) sub.channel = (sk_channel)c;
    if (sub.channel == SK_CHANNEL_UNKNOWN) {
        fprintf(stderr, "dump: unknown channel %s\n", argv[1]);
        return 2;
    }
    if (sub.channel == SK_CHANNEL_CRYPTO_LATEST_PRICE) {
        sub.crypto_id = strtoll(argv[2], NULL, 10);
        if (argc > 4) limit = strtol(argv[4], NULL, 10);
        else if (argc > 3 && strcmp(argv[3], "-") != 0) limit = strtol(argv[3], NULL, 10);
    } else {
        if (argc < 4) {
            fprintf(stderr, "dump: %s needs PLATFORM_ID ADDRESS\n", argv[1]);
            return 2;
        }
        sub.platform_id = strtoll(argv[2], NULL, 10);
        sub.address = argv[3];
        if (sub.channel == SK_CHANNEL_KLINE || sub.channel == SK_CHANNEL_UNIQUE_TRADER) sub.interval = "1m";
        if (argc > 4) limit = strtol(argv[4], NULL, 10);
    }

    signal(SIGINT, on_signal);
    sk_config_new(&cfg);
    if (url) sk_config_set_url(cfg, url);
    if (sk_client_new(cfg, &client) != SK_OK) {
        fprintf(stderr, "dump: %s\n", sk_config_errmsg(cfg));
        sk_config_free(cfg);
        return 1;
    }
    sk_config_free(cfg);
    sk_client_start(client);
    if (sk_client_subscribe(client, &sub, 1, SK_OVERFLOW_BLOCK, 10000) != SK_OK) {
        fprintf(stderr, "dump: subscribe: %s\n", sk_client_errmsg(client));
        sk_client_free(client);
        return 1;
    }
    while (!stop && (limit < 0 || printed < limit)) {
        if (sk_client_poll(client, batch, 64, &n, 500) != SK_OK) break;
        for (i = 0; i < n && (limit < 0 || printed < limit); i++) {
            json_error_t error;
            json_t *frame, *data;
            const char *key;
            json_t *value;
            if (batch[i].kind != SK_MESSAGE_DATA) continue;
            frame = json_loadb(batch[i].raw.ptr, batch[i].raw.len, 0, &error);
            if (!frame) {
                fprintf(stderr, "dump: bad frame: %s\n", error.text);
                continue;
            }
            data = json_object_get(frame, "data");
            printf("%s ts=%" JSON_INTEGER_FORMAT, json_string_value(json_object_get(frame, "channel")),
                   json_integer_value(json_object_get(frame, "ts")));
            json_object_foreach(data, key, value) {
                char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
                printf(" %s=%s", key, text ? text : "?");
                free(text);
            }
            printf("\n");
            json_decref(frame);
            printed++;
        }
        fflush(stdout);
    }
    sk_client_free(client);
    return 0;
}
