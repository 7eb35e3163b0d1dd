/*
** This source file is part of StreamKit.
** SPDX-License-Identifier: Apache-2.0
**
** czstd.h: the few types of zstd's stable streaming API (zstd.h, "stable API" section, unchanged since 1.4.0)
** that StreamKit uses, declared here so that building StreamKit needs no zstd headers. The library itself,
** libzstd.so.1, is loaded at run time (dlopen) by StreamKitCapture: a machine without it can still build and run
** everything but compressed captures. Names carry an sk_ prefix so they never clash with a real zstd.h.
*/
#ifndef STREAMKIT_CZSTD_H
#define STREAMKIT_CZSTD_H

#include <stddef.h>

/* ZSTD_inBuffer: src, size, pos (pos updated by zstd). */
typedef struct sk_zstd_in_buffer {
    const void *src;
    size_t size;
    size_t pos;
} sk_zstd_in_buffer;

/* ZSTD_outBuffer: dst, size, pos (pos updated by zstd). */
typedef struct sk_zstd_out_buffer {
    void *dst;
    size_t size;
    size_t pos;
} sk_zstd_out_buffer;

/* The functions, with their zstd.h signatures (contexts as opaque pointers). */
typedef void *(*sk_zstd_create_ctx_fn)(void);                      /* ZSTD_createCCtx, ZSTD_createDCtx */
typedef size_t (*sk_zstd_free_ctx_fn)(void *ctx);                  /* ZSTD_freeCCtx, ZSTD_freeDCtx */
typedef size_t (*sk_zstd_set_parameter_fn)(void *cctx, int param, int value); /* ZSTD_CCtx_setParameter */
typedef size_t (*sk_zstd_compress_stream2_fn)(void *cctx, sk_zstd_out_buffer *out, sk_zstd_in_buffer *in,
                                              int end_op);         /* ZSTD_compressStream2 */
typedef size_t (*sk_zstd_decompress_stream_fn)(void *dctx, sk_zstd_out_buffer *out,
                                               sk_zstd_in_buffer *in); /* ZSTD_decompressStream */
typedef unsigned (*sk_zstd_is_error_fn)(size_t code);              /* ZSTD_isError */
typedef const char *(*sk_zstd_error_name_fn)(size_t code);         /* ZSTD_getErrorName */
typedef unsigned (*sk_zstd_version_number_fn)(void);               /* ZSTD_versionNumber */

/* Constants of the stable API. */
enum {
    SK_ZSTD_C_COMPRESSION_LEVEL = 100, /* ZSTD_c_compressionLevel */
    SK_ZSTD_C_CHECKSUM_FLAG = 201,     /* ZSTD_c_checksumFlag */
    SK_ZSTD_E_CONTINUE = 0,            /* ZSTD_e_continue */
    SK_ZSTD_E_FLUSH = 1,               /* ZSTD_e_flush */
    SK_ZSTD_E_END = 2                  /* ZSTD_e_end */
};

#endif /* STREAMKIT_CZSTD_H */
