"""The raw layer: include/streamkit.h and include/streamkit_python.h (the pickle functions, private to this binding)
as ctypes, one to one. The Pythonic API (streamkit.Client) is built on it.

Loads the libstreamkit.so shipped inside this package (or the file named by STREAMKIT_LIBRARY) and checks its
version. ctypes releases the GIL during every call into the library, so a thread blocked in sk_client_poll (or
sk_client_poll_pickle, which streamkit.Client uses) never holds up the interpreter.
"""

import ctypes
import os

from ._payloads import sk_payload, sk_str

from ._tables import (EVENTS, FAULTS, SK_CAPACITY, SK_FATAL, SK_INTERNAL, SK_INVALID_ARGUMENT,  # noqa: F401
                      SK_INVALID_FRAME, SK_INVALID_KEY, SK_INVALID_URL, SK_IO, SK_MISUSE, SK_OK, SK_STOPPED,
                      SK_SUBSCRIPTION_FAILED, SK_TIMEOUT, SK_TLS, VERSION_NUMBER)

SK_MESSAGE_DATA, SK_MESSAGE_EVENT = 1, 2

SK_OVERFLOW_DEFAULT, SK_OVERFLOW_BLOCK, SK_OVERFLOW_DROP_OLDEST, SK_OVERFLOW_CONFLATE = 0, 1, 2, 3


class sk_subscription(ctypes.Structure):
    _fields_ = [("channel", ctypes.c_int), ("crypto_id", ctypes.c_int64), ("platform_id", ctypes.c_int64),
                ("address", ctypes.c_char_p), ("interval", ctypes.c_char_p)]


class sk_subscription_view(ctypes.Structure):
    _fields_ = [("channel", ctypes.c_int), ("crypto_id", ctypes.c_int64), ("platform_id", ctypes.c_int64),
                ("address", sk_str), ("interval", sk_str)]


class sk_message(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int), ("connection", ctypes.c_int), ("subscription", sk_subscription_view),
        ("channel", ctypes.c_int), ("has_ts", ctypes.c_int), ("ts", ctypes.c_int64), ("raw", sk_str),
        ("data", sk_payload),
        ("event", ctypes.c_int), ("attempt", ctypes.c_int), ("delay_ms", ctypes.c_int64), ("gap_ms", ctypes.c_int64),
        ("count", ctypes.c_int64), ("code", ctypes.c_int), ("text", sk_str), ("text_outside_raw", ctypes.c_int),
        ("subscription_count", ctypes.c_int), ("subscriptions", sk_subscription_view * 3),  # SK_MAX_SUBSCRIPTIONS
        ("reason", ctypes.c_int),
    ]


class sk_metrics(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in (
        "open_connections", "reconnects", "duplicates_suppressed", "invalid_frames", "billable_messages",
        "billable_subscriptions")] + [("credits", ctypes.c_double)] + [(name, ctypes.c_int64) for name in (
        "queued", "messages", "dropped", "coalesced", "subscriptions")]


class sk_subscription_metrics(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in (
        "messages", "last_update_age_ms", "latency_count", "latency_last", "latency_min", "latency_max")] + [
        ("latency_mean", ctypes.c_double)] + [(name, ctypes.c_int64) for name in (
        "queued", "dropped", "coalesced", "degraded_fields")]


def _library_path():
    path = os.environ.get("STREAMKIT_LIBRARY")
    if path:
        return path
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "libstreamkit.so")


def _load():
    path = _library_path()
    if not os.path.exists(path):
        raise ImportError(f"streamkit: the native library is missing at {path}; reinstall the package "
                          "(pip install builds it) or set STREAMKIT_LIBRARY")
    lib = ctypes.CDLL(path)  # never unloaded: it carries the Swift runtime
    lib.sk_version_number.restype = ctypes.c_int
    lib.sk_version_number.argtypes = []
    found = lib.sk_version_number()
    if found // 1000 != VERSION_NUMBER // 1000 or found < VERSION_NUMBER:
        raise ImportError(f"streamkit: {path} has C API version {found}, this package needs {VERSION_NUMBER}")
    P = ctypes.c_void_p
    PP = ctypes.POINTER(ctypes.c_void_p)
    I = ctypes.c_int
    sigs = {
        "sk_version": (ctypes.c_char_p, []),
        "sk_status_string": (ctypes.c_char_p, [I]),
        "sk_config_new": (I, [PP]),
        "sk_config_free": (None, [P]),
        "sk_config_errmsg": (ctypes.c_char_p, [P]),
        "sk_config_set_url": (I, [P, ctypes.c_char_p]),
        "sk_config_set_api_key": (I, [P, ctypes.c_char_p]),
        "sk_config_set_max_connections": (I, [P, I]),
        "sk_config_set_subscriptions_per_connection": (I, [P, I]),
        "sk_config_set_queue_capacity": (I, [P, I]),
        "sk_config_set_overflow": (I, [P, I]),
        "sk_config_set_tls_verify": (I, [P, I]),
        "sk_config_set_ca_file": (I, [P, ctypes.c_char_p]),
        "sk_config_set_seed": (I, [P, ctypes.c_uint64]),
        "sk_config_set_credit_prices": (I, [P, ctypes.c_double, ctypes.c_double]),
        "sk_client_new": (I, [P, PP]),
        "sk_client_errmsg": (ctypes.c_char_p, [P]),
        "sk_client_start": (I, [P]),
        "sk_client_subscribe": (I, [P, ctypes.POINTER(sk_subscription), ctypes.c_size_t, I, I]),
        "sk_client_unsubscribe": (I, [P, ctypes.POINTER(sk_subscription), ctypes.c_size_t]),
        "sk_client_unsubscribe_all": (I, [P]),
        "sk_client_poll": (I, [P, ctypes.POINTER(sk_message), ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), I]),
        "sk_client_poll_pickle": (I, [P, ctypes.c_size_t, I, PP, ctypes.POINTER(ctypes.c_size_t),
                                      ctypes.POINTER(ctypes.c_size_t)]),
        "sk_client_metrics": (I, [P, ctypes.POINTER(sk_metrics)]),
        "sk_client_subscription_metrics": (I, [P, ctypes.POINTER(sk_subscription),
                                               ctypes.POINTER(sk_subscription_metrics)]),
        "sk_client_stop": (I, [P]),
        "sk_client_free": (None, [P]),
        "sk_sim_start": (I, [ctypes.c_char_p, I, ctypes.c_double, ctypes.c_double, ctypes.c_uint64, PP]),
        "sk_sim_url": (ctypes.c_char_p, [P]),
        "sk_sim_inject": (I, [P, I, ctypes.c_int64]),
        "sk_sim_counters": (I, [P, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64),
                                ctypes.POINTER(ctypes.c_int64)]),
        "sk_sim_free": (None, [P]),
        "sk_decoder_new": (I, [PP]),
        "sk_decoder_free": (None, [P]),
        "sk_decode": (I, [P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(sk_message)]),
        "sk_decode_pickle": (I, [P, ctypes.c_char_p, ctypes.c_size_t, PP, ctypes.POINTER(ctypes.c_size_t)]),
        "sk_decoder_errmsg": (ctypes.c_char_p, [P]),
        "sk_capture_open": (I, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, PP]),
        "sk_capture_next_pickle": (I, [P, ctypes.c_size_t, PP, ctypes.POINTER(ctypes.c_size_t),
                                       ctypes.POINTER(ctypes.c_size_t)]),
        "sk_capture_errmsg": (ctypes.c_char_p, [P]),
        "sk_capture_free": (None, [P]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib, path


lib, library_path = _load()
MESSAGE_SIZE = ctypes.sizeof(sk_message)
DATA_OFFSET = sk_message.data.offset
