/*
** ticker: live BTC and ETH prices from the typed structs of the C API.
**
**   make && STREAMKIT_URL=ws://127.0.0.1:8765/v1 CMC_API_KEY=test ./ticker 20
**
** Without STREAMKIT_URL it connects to the real service (CMC_API_KEY must then be a real key). The optional
** argument is how many prices to print before exiting (default: until Ctrl-C).
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "streamkit.h"

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    long limit = argc > 1 ? strtol(argv[1], NULL, 10) : -1, printed = 0;
    const char *url = getenv("STREAMKIT_URL");
    sk_config *cfg;
    sk_client *client;
    sk_subscription subs[2] = {{SK_CHANNEL_CRYPTO_LATEST_PRICE, 1, 0, NULL, NULL},
                               {SK_CHANNEL_CRYPTO_LATEST_PRICE, 1027, 0, NULL, NULL}};
    sk_message batch[64];
    size_t n, i;
    sk_status st;

    signal(SIGINT, on_signal);
    sk_config_new(&cfg); /* the key comes from CMC_API_KEY */
    if (url) sk_config_set_url(cfg, url);
    if ((st = sk_client_new(cfg, &client)) != SK_OK) {
        fprintf(stderr, "ticker: %s: %s\n", sk_status_string(st), sk_config_errmsg(cfg));
        sk_config_free(cfg);
        return 1;
    }
    sk_config_free(cfg);
    sk_client_start(client);
    if ((st = sk_client_subscribe(client, subs, 2, SK_OVERFLOW_CONFLATE, 10000)) != SK_OK) {
        fprintf(stderr, "ticker: subscribe: %s: %s\n", sk_status_string(st), sk_client_errmsg(client));
        sk_client_free(client);
        return 1;
    }
    while (!stop && (limit < 0 || printed < limit)) {
        if (sk_client_poll(client, batch, 64, &n, 500) != SK_OK) break; /* SK_STOPPED */
        for (i = 0; i < n; i++) {
            const sk_message *m = &batch[i];
            if (m->kind == SK_MESSAGE_EVENT) {
                if (m->event == SK_EVENT_RECONNECTING || m->event == SK_EVENT_GAP || m->event == SK_EVENT_FATAL)
                    fprintf(stderr, "ticker: event %d: %.*s\n", m->event, (int)m->text.len, m->text.ptr);
                continue;
            }
            if (m->channel == SK_CHANNEL_CRYPTO_LATEST_PRICE) {
                const sk_crypto_latest_price *q = &m->data.crypto_latest_price;
                /* `p` may be null when unavailable (or absent, or mistyped): test its bits like any other field. */
                if (!(q->present & SK_CRYPTO_LATEST_PRICE_P) || (q->nulls & SK_CRYPTO_LATEST_PRICE_P)) continue;
                printf("%-5s %14.6f  24h %+6.2f%%\n", q->cid == 1 ? "BTC" : q->cid == 1027 ? "ETH" : "?", q->p,
                       (q->present & SK_CRYPTO_LATEST_PRICE_P24H) && !(q->nulls & SK_CRYPTO_LATEST_PRICE_P24H) ? q->p24h : 0.0);
                printed++;
            }
        }
        fflush(stdout);
    }
    sk_client_free(client);
    return 0;
}
