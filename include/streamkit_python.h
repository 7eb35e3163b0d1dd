/*
** This source file is part of StreamKit.
** SPDX-License-Identifier: Apache-2.0
**
** streamkit_python.h: PRIVATE to StreamKit's Python binding (bindings/python). NOT PART OF THE STABLE C API.
**
** These functions exist only for the binding, which ships with its own copy of the library. Anything here, the
** functions, their signatures, their behaviour and the pickle format, may change or disappear in any version,
** patch versions included, without notice. C and C++ programs use streamkit.h only; this header is not installed
** by `make install`.
**
** What it has: the polls and the decoder of streamkit.h writing their messages as one Python pickle per call, so
** that the binding builds every message object in C with one Unpickler.load() per batch instead of reading structs
** field by field. Conventions and slots as in streamkit.h.
*/
#ifndef STREAMKIT_PYTHON_H
#define STREAMKIT_PYTHON_H

#include <stddef.h>

#include "streamkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sk_client_poll() into the client's own batch, written as one pickle (the format below), *count messages in it.
** Returns:   as sk_client_poll(): SK_OK (with *count possibly 0 after the timeout: an empty batch); SK_STOPPED,
**            with *count 0, once the client has stopped and every message was taken; SK_MISUSE for a NULL pickle,
**            length or count, a client with a callback, or while another thread polls it; also
**            SK_INVALID_ARGUMENT for a max outside 1..65536. Unless SK_OK, *pickle is NULL and *length 0.
** Ownership: *pickle points into the client: never free it.
** Lifetime:  until the next sk_client_poll_pickle() on this client, or sk_client_free(). Like any poll, it ends
**            the lifetime of the messages of an earlier sk_client_poll().
** Threads:   as sk_client_poll(): one poller at a time.
** Blocks:    as sk_client_poll().
**
** The pickle uses protocol 2 to 4 opcodes only (no globals: nothing but tuples, lists, dicts, numbers, text,
** bytes and None) and is one tuple (items, fatal): `items` holds one object per message in order, `fatal` the last
** SK_EVENT_FATAL among them (the same object) or None. Each object is built with NEWOBJ as cls(fields) from a
** class the reader names by persistent ID (Python: Unpickler.persistent_load), so tuple subclasses fit:
**   0          data message: (channel wire name or None, params dict, ts or None, payload or None, raw bytes,
**              connection)
**   1          event: (kind name as in SK_EVENT_*, lower case, e.g. "gap"; connection; params dict or None;
**              attempt; delay s; gap s; count; code; text)
**   100 + ch   payload of channel ch: (each field of its struct in streamkit_payloads.h order, None when absent or
**              null, enum fields as their text (the *_kind members are not written); then five items: present
**              mask; nulls mask; unknown_keys; raw bytes; a dict of the present non-null windows by name, or None
**              for channels without windows)
**   200 + ch   window of channel ch: (its fields as above; present; nulls; unknown_keys; raw bytes; window name)
** A later version may append fields (before the last five items) and channels: the binding reads those five from
** the end, and resolves an ID it does not know to a generic class. params is {"crypto_ids": id} for prices, else
** {"platform_id": id, "address" (or "pool_address", "wallet_address"): text or None, "interval": text where set}.
** Texts are UTF-8 (the decoder refuses frames with invalid UTF-8).
*/
sk_status sk_client_poll_pickle(sk_client *client, size_t max, int timeout_ms, const void **pickle, size_t *length,
                                size_t *count);

/* sk_decode(), then the message written as a pickle of one item, as sk_client_poll_pickle() writes a batch (a
** valid frame that is not a data push is the item None).
** Returns:   as sk_decode(); also SK_MISUSE for a NULL pickle or length. Unless SK_OK, *pickle is NULL and *length
**            0 (when those are not NULL).
** Ownership: frame is only read during the call (the pickle holds copies). *pickle points into the decoder: never
**            free it.
** Lifetime:  until the decoder's next sk_decode_pickle(), or sk_decoder_free().
** Threads:   as sk_decode(): one thread at a time per decoder.
** Blocks:    no.
*/
sk_status sk_decode_pickle(sk_decoder *decoder, const char *frame, size_t len, const void **pickle, size_t *length);

/* Up to `max` records of a capture as one pickle, as sk_client_poll_pickle() writes a batch, each data message with
** its receive time (ns) as item 7 and each event with its time, gap start and gap end as items 9 to 11 (None when
** 0); *count records in it.
** Returns:   SK_OK with *count from 1 to max; SK_STOPPED, *count 0, at the end (and after); SK_IO when a file
**            stopped being readable (records read before it in the same call come first, with SK_OK: the next
**            call returns SK_IO; then the capture is at its end); SK_INVALID_ARGUMENT for a max outside 1..65536;
**            SK_MISUSE for an invalid handle, or a NULL pickle, length or count. Unless SK_OK, *pickle is NULL and
**            *length 0.
** Ownership: *pickle points into the capture: never free it.
** Lifetime:  until the next record taken from this capture, or sk_capture_free().
** Threads:   as sk_capture_next(): one thread at a time per capture.
** Blocks:    as sk_capture_next().
*/
sk_status sk_capture_next_pickle(sk_capture *capture, size_t max, const void **pickle, size_t *length, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* STREAMKIT_PYTHON_H */
