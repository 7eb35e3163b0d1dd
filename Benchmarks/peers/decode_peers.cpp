// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// Decode benchmark against the C/C++ peers: the corpus written by `streamkit-bench --write-corpus` decoded frame
// by frame into typed values (every field of the payload and the envelope, numbers as doubles) by StreamKit
// through its C ABI (sk_decode), simdjson On-Demand, RapidJSON (full-precision and default flags) and jansson,
// plus two lower bounds: reading every byte once, and a SIMD pass classifying the structural characters.
//
// Every decoder folds the same values with the same checksum (schema_gen.h, generated from the schema), so none
// is measured doing less work and all must agree; a decoder whose checksum differs from StreamKit's reference
// (written into the corpus by the Swift side, which is checked against strtod) is reported as not correctly
// rounded. Heap allocations are counted by wrapping malloc for the whole process (the libraries included).
//
// Usage: decode_peers CORPUS [ROUNDS] [MARKDOWN_FILE]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <immintrin.h>
#include <jansson.h>
#include <rapidjson/document.h>
#include <simdjson.h>

extern "C" {
#include "streamkit.h"
}
#include "schema_gen.h"

// MARK: - Allocation counting

static thread_local bool counting = false;
static size_t allocations = 0;
extern "C" void *__libc_malloc(size_t);
extern "C" void *__libc_calloc(size_t, size_t);
extern "C" void *__libc_realloc(void *, size_t);
extern "C" void *malloc(size_t n) {
    if (counting) allocations++;
    return __libc_malloc(n);
}
extern "C" void *calloc(size_t a, size_t b) {
    if (counting) allocations++;
    return __libc_calloc(a, b);
}
extern "C" void *realloc(void *p, size_t n) {
    if (counting) allocations++;
    return __libc_realloc(p, n);
}

// MARK: - Corpus

struct Frame {
    const char *ptr;
    size_t len;
};

struct Corpus {
    std::vector<char> storage;  // every frame followed by SIMDJSON_PADDING zero bytes
    std::vector<Frame> frames;
    uint64_t reference = 0;
    size_t bytes = 0;
};

static Corpus load(const char *path) {
    Corpus c;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    std::vector<char> file;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) file.insert(file.end(), buf, buf + n);
    fclose(f);
    if (file.size() < 20 || memcmp(file.data(), "SKCORPUS", 8) != 0) {
        fprintf(stderr, "%s: not a corpus written by streamkit-bench --write-corpus\n", path);
        exit(2);
    }
    uint32_t count;
    memcpy(&c.reference, file.data() + 8, 8);
    memcpy(&count, file.data() + 16, 4);
    size_t off = 20;
    std::vector<std::pair<size_t, uint32_t>> spans;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len;
        memcpy(&len, file.data() + off, 4);
        spans.push_back({off + 4, len});
        off += 4 + len;
        c.bytes += len;
    }
    c.storage.assign(c.bytes + count * simdjson::SIMDJSON_PADDING, 0);
    size_t at = 0;
    for (auto [start, len] : spans) {
        memcpy(c.storage.data() + at, file.data() + start, len);
        c.frames.push_back({c.storage.data() + at, len});
        at += len + simdjson::SIMDJSON_PADDING;
    }
    return c;
}

static const pk_channel *channel_named(std::string_view name) {
    for (int i = 1; i <= PK_CHANNEL_COUNT; i++)
        if (name == pk_channels[i].name) return &pk_channels[i];
    return nullptr;
}

static const pk_field *field_for(const pk_field *fields, int n, uint64_t key) {
    for (int i = 0; i < n; i++)
        if (fields[i].key == key) return &fields[i];
    return nullptr;
}

static int window_index(const pk_channel *ch, uint64_t key) {
    for (int i = 0; i < ch->nwindow_names; i++)
        if (ch->window_names[i] == key) return i;
    return -1;
}

// MARK: - simdjson On-Demand

namespace sj = simdjson::ondemand;

/* One typed value, folded (the field's kind decides the conversion; null adds nothing). */
static uint64_t sj_value(const pk_field *f, sj::value v) {
    if (v.is_null()) return 0;
    switch (f->kind) {
    case 'd': return pk_mixd(f->index, double(v.get_double()));
    case 'i': return pk_mixi(f->index, int64_t(v.get_int64()));
    case 't': return pk_mix(f->index, std::string_view(v.get_string()).size());
    case 'b': return pk_mixb(f->index, bool(v.get_bool()));
    }
    return 0;
}

static uint64_t sj_fields(sj::object obj, const pk_field *fields, int n) {
    uint64_t h = 0;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return h;
        const pk_field *f = field_for(fields, n, pk_pack(key.data(), key.size()));
        if (f) h += sj_value(f, field.value());
    }
    return h;
}

static uint64_t sj_payload(sj::object obj, const pk_channel *ch) {
    uint64_t h = 0;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return h;
        uint64_t k = pk_pack(key.data(), key.size());
        sj::value v = field.value();
        if (ch->window_style == 'a' && k == ch->window_key) {
            sj::array windows;
            if (v.get_array().get(windows)) continue;  // null
            for (sj::value w : windows) {
                sj::object o;
                if (!w.get_object().get(o)) h += sj_fields(o, ch->window_fields, ch->nwindow_fields);
            }
            continue;
        }
        if (ch->window_style == 'k' && window_index(ch, k) >= 0) {
            sj::object o;
            if (!v.get_object().get(o)) h += sj_fields(o, ch->window_fields, ch->nwindow_fields);
            continue;
        }
        const pk_field *f = field_for(ch->fields, ch->nfields, k);
        if (f) h += sj_value(f, v);
    }
    return h;
}

static uint64_t sj_params(sj::object obj) {
    uint64_t h = 0;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return h;
        sj::value v = field.value();
        if (key == "platform_id") h += pk_mixi(101, int64_t(v.get_int64()));
        else if (key == "crypto_ids") h += pk_mixi(102, int64_t(v.get_int64()));
        else if (key == "address" || key == "pool_address" || key == "wallet_address")
            h += pk_mix(103, std::string_view(v.get_string()).size());
        else if (key == "interval") h += pk_mix(104, std::string_view(v.get_string()).size());
    }
    return h;
}

static uint64_t pass_simdjson(const Corpus &c) {
    static sj::parser parser;
    uint64_t h = 0;
    for (const Frame &fr : c.frames) {
        sj::document doc;
        if (parser.iterate(fr.ptr, fr.len, fr.len + simdjson::SIMDJSON_PADDING).get(doc)) continue;
        sj::object root;
        if (doc.get_object().get(root)) continue;
        const pk_channel *ch = nullptr;
        bool dataBeforeChannel = false;
        for (auto field : root) {
            std::string_view key;
            if (field.unescaped_key().get(key)) break;
            if (key == "channel") {
                std::string_view name;
                if (!field.value().get_string().get(name)) ch = channel_named(name);
            } else if (key == "params") {
                sj::object o;
                if (!field.value().get_object().get(o)) h += sj_params(o);
            } else if (key == "data") {
                sj::object o;
                if (!ch) dataBeforeChannel = true;
                else if (!field.value().get_object().get(o)) h += sj_payload(o, ch);
            } else if (key == "ts") {
                int64_t ts;
                if (!field.value().get_int64().get(ts)) h += pk_mixi(100, ts);
            }
        }
        if (dataBeforeChannel && ch) {  // forward-only: go back for `data` (not in this corpus)
            doc.rewind();
            sj::object o;
            if (!doc["data"].get_object().get(o)) h += sj_payload(o, ch);
        }
    }
    return h;
}

// MARK: - RapidJSON

template <typename Value>
static uint64_t rj_value(const pk_field *f, const Value &v) {
    if (v.IsNull()) return 0;
    switch (f->kind) {
    case 'd': return pk_mixd(f->index, v.GetDouble());
    case 'i': return pk_mixi(f->index, v.GetInt64());
    case 't': return pk_mix(f->index, v.GetStringLength());
    case 'b': return pk_mixb(f->index, v.GetBool());
    }
    return 0;
}

template <typename Value>
static uint64_t rj_fields(const Value &obj, const pk_field *fields, int n) {
    uint64_t h = 0;
    for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
        const pk_field *f = field_for(fields, n, pk_pack(m->name.GetString(), m->name.GetStringLength()));
        if (f) h += rj_value(f, m->value);
    }
    return h;
}

template <typename Value>
static uint64_t rj_payload(const Value &obj, const pk_channel *ch) {
    uint64_t h = 0;
    for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
        uint64_t k = pk_pack(m->name.GetString(), m->name.GetStringLength());
        const Value &v = m->value;
        if (ch->window_style == 'a' && k == ch->window_key) {
            if (v.IsArray())
                for (auto &w : v.GetArray())
                    if (w.IsObject()) h += rj_fields(w, ch->window_fields, ch->nwindow_fields);
            continue;
        }
        if (ch->window_style == 'k' && window_index(ch, k) >= 0) {
            if (v.IsObject()) h += rj_fields(v, ch->window_fields, ch->nwindow_fields);
            continue;
        }
        const pk_field *f = field_for(ch->fields, ch->nfields, k);
        if (f) h += rj_value(f, v);
    }
    return h;
}

template <unsigned Flags>
static uint64_t pass_rapidjson(const Corpus &c) {
    static rapidjson::Document doc;  // reused, as its documentation advises for speed
    uint64_t h = 0;
    for (const Frame &fr : c.frames) {
        doc.Parse<Flags>(fr.ptr, fr.len);
        if (doc.HasParseError() || !doc.IsObject()) continue;
        const pk_channel *ch = nullptr;
        auto channel = doc.FindMember("channel");
        if (channel != doc.MemberEnd() && channel->value.IsString())
            ch = channel_named(std::string_view(channel->value.GetString(), channel->value.GetStringLength()));
        for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
            std::string_view key(m->name.GetString(), m->name.GetStringLength());
            const auto &v = m->value;
            if (key == "params" && v.IsObject()) {
                for (auto p = v.MemberBegin(); p != v.MemberEnd(); ++p) {
                    std::string_view pk(p->name.GetString(), p->name.GetStringLength());
                    if (pk == "platform_id") h += pk_mixi(101, p->value.GetInt64());
                    else if (pk == "crypto_ids") h += pk_mixi(102, p->value.GetInt64());
                    else if (pk == "address" || pk == "pool_address" || pk == "wallet_address")
                        h += pk_mix(103, p->value.GetStringLength());
                    else if (pk == "interval") h += pk_mix(104, p->value.GetStringLength());
                }
            } else if (key == "data" && ch && v.IsObject()) {
                h += rj_payload(v, ch);
            } else if (key == "ts" && v.IsInt64()) {
                h += pk_mixi(100, v.GetInt64());
            }
        }
    }
    return h;
}

// MARK: - jansson

static uint64_t js_value(const pk_field *f, json_t *v) {
    if (json_is_null(v)) return 0;
    switch (f->kind) {
    case 'd': return pk_mixd(f->index, json_number_value(v));
    case 'i': return pk_mixi(f->index, json_integer_value(v));
    case 't': return pk_mix(f->index, json_string_length(v));
    case 'b': return pk_mixb(f->index, json_is_true(v));
    }
    return 0;
}

static uint64_t js_fields(json_t *obj, const pk_field *fields, int n) {
    uint64_t h = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const pk_field *f = field_for(fields, n, pk_pack(key, strlen(key)));
        if (f) h += js_value(f, v);
    }
    return h;
}

static uint64_t js_payload(json_t *obj, const pk_channel *ch) {
    uint64_t h = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        uint64_t k = pk_pack(key, strlen(key));
        if (ch->window_style == 'a' && k == ch->window_key) {
            size_t i;
            json_t *w;
            if (json_is_array(v))
                json_array_foreach(v, i, w) if (json_is_object(w)) h += js_fields(w, ch->window_fields, ch->nwindow_fields);
            continue;
        }
        if (ch->window_style == 'k' && window_index(ch, k) >= 0) {
            if (json_is_object(v)) h += js_fields(v, ch->window_fields, ch->nwindow_fields);
            continue;
        }
        const pk_field *f = field_for(ch->fields, ch->nfields, k);
        if (f) h += js_value(f, v);
    }
    return h;
}

static uint64_t pass_jansson(const Corpus &c) {
    uint64_t h = 0;
    for (const Frame &fr : c.frames) {
        json_error_t err;
        json_t *root = json_loadb(fr.ptr, fr.len, 0, &err);
        if (!root) continue;
        json_t *channel = json_object_get(root, "channel");
        const pk_channel *ch = json_is_string(channel) ? channel_named(json_string_value(channel)) : nullptr;
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
            if (!strcmp(key, "params") && json_is_object(v)) {
                const char *pk;
                json_t *pv;
                json_object_foreach(v, pk, pv) {
                    if (!strcmp(pk, "platform_id")) h += pk_mixi(101, json_integer_value(pv));
                    else if (!strcmp(pk, "crypto_ids")) h += pk_mixi(102, json_integer_value(pv));
                    else if (!strcmp(pk, "address") || !strcmp(pk, "pool_address") || !strcmp(pk, "wallet_address"))
                        h += pk_mix(103, json_string_length(pv));
                    else if (!strcmp(pk, "interval")) h += pk_mix(104, json_string_length(pv));
                }
            } else if (!strcmp(key, "data") && ch && json_is_object(v)) {
                h += js_payload(v, ch);
            } else if (!strcmp(key, "ts") && json_is_integer(v)) {
                h += pk_mixi(100, json_integer_value(v));
            }
        }
        json_decref(root);
    }
    return h;
}

// MARK: - StreamKit through the C ABI

static uint64_t pass_streamkit(const Corpus &c) {
    static sk_decoder *decoder = [] {
        sk_decoder *d = nullptr;
        sk_decoder_new(&d);
        return d;
    }();
    uint64_t h = 0;
    sk_message m;
    for (const Frame &fr : c.frames) {
        if (sk_decode(decoder, fr.ptr, fr.len, &m) != SK_OK || m.kind != SK_MESSAGE_DATA) continue;
        if (m.has_ts) h += pk_mixi(100, m.ts);
        // Ids are positive: 0 is "absent" in the view.
        if (m.subscription.platform_id) h += pk_mixi(101, m.subscription.platform_id);
        if (m.subscription.crypto_id) h += pk_mixi(102, m.subscription.crypto_id);
        if (m.subscription.address.ptr) h += pk_mix(103, m.subscription.address.len);
        if (m.subscription.interval.ptr) h += pk_mix(104, m.subscription.interval.len);
        h += pk_checksum_payload(&m);
    }
    return h;
}

// MARK: - Lower bounds

static uint64_t pass_bytes(const Corpus &c) {
    uint64_t h = 0;
    for (const Frame &fr : c.frames)
        for (size_t i = 0; i < fr.len; i++) h += (unsigned char)fr.ptr[i];
    return h;
}

// The first stage of a SIMD JSON parser: a bit per structural character ({}[]:,") in 32-byte blocks, counted.
__attribute__((target("avx2"))) static uint64_t pass_structural(const Corpus &c) {
    uint64_t h = 0;
    const __m256i chars[] = {_mm256_set1_epi8('{'), _mm256_set1_epi8('}'), _mm256_set1_epi8('['),
                             _mm256_set1_epi8(']'), _mm256_set1_epi8(':'), _mm256_set1_epi8(','),
                             _mm256_set1_epi8('"')};
    for (const Frame &fr : c.frames) {
        for (size_t i = 0; i < fr.len; i += 32) {  // reads into the zero padding after the frame
            __m256i block = _mm256_loadu_si256((const __m256i *)(fr.ptr + i));
            __m256i hit = _mm256_setzero_si256();
            for (const __m256i &ch : chars) hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(block, ch));
            uint32_t mask = (uint32_t)_mm256_movemask_epi8(hit);
            if (fr.len - i < 32) mask &= (1u << (fr.len - i)) - 1;
            h += (uint64_t)__builtin_popcount(mask);
        }
    }
    return h;
}

// MARK: - Measurement

struct Row {
    std::string name;
    double median, min, max;  // ns per message
    double allocs;            // per message
    uint64_t checksum;
    bool decoder;
};

template <typename F>
static Row measure(const char *name, const Corpus &c, int rounds, bool decoder, F pass) {
    uint64_t check = pass(c);  // warm-up
    std::vector<double> times;
    for (int r = 0; r < rounds; r++) {
        auto t0 = std::chrono::steady_clock::now();
        uint64_t h = pass(c);
        auto t1 = std::chrono::steady_clock::now();
        if (h != check) {
            fprintf(stderr, "%s: checksum changed between passes\n", name);
            exit(1);
        }
        times.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / c.frames.size());
    }
    std::sort(times.begin(), times.end());
    allocations = 0;
    counting = true;
    pass(c);
    counting = false;
    return {name, times[times.size() / 2], times.front(), times.back(), double(allocations) / c.frames.size(), check, decoder};
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS [ROUNDS] [MARKDOWN_FILE]\n", argv[0]);
        return 2;
    }
    Corpus c = load(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 9;
    printf("corpus: %zu frames, %zu bytes (%zu B/frame); StreamKit's reference checksum %016llx\n", c.frames.size(),
           c.bytes, c.bytes / c.frames.size(), (unsigned long long)c.reference);
    std::vector<Row> rows;
    rows.push_back(measure("read every byte (floor)", c, rounds, false, pass_bytes));
    if (__builtin_cpu_supports("avx2"))
        rows.push_back(measure("SIMD structural pass, AVX2 (floor)", c, rounds, false, pass_structural));
    rows.push_back(measure("StreamKit via the C ABI (sk_decode)", c, rounds, true, pass_streamkit));
    char sv[64];
    snprintf(sv, sizeof sv, "simdjson On-Demand %d.%d.%d (%s)", simdjson::SIMDJSON_VERSION_MAJOR,
             simdjson::SIMDJSON_VERSION_MINOR, simdjson::SIMDJSON_VERSION_REVISION,
             simdjson::get_active_implementation()->name().c_str());
    rows.push_back(measure(sv, c, rounds, true, pass_simdjson));
    rows.push_back(measure("RapidJSON, kParseFullPrecisionFlag", c, rounds, true,
                           pass_rapidjson<rapidjson::kParseFullPrecisionFlag>));
    rows.push_back(measure("RapidJSON, default flags", c, rounds, true, pass_rapidjson<rapidjson::kParseDefaultFlags>));
    char jv[64];
    snprintf(jv, sizeof jv, "jansson %s", JANSSON_VERSION);
    rows.push_back(measure(jv, c, std::max(1, rounds / 3), true, pass_jansson));

    double simd = 0, sk = 0;
    for (auto &r : rows) {
        if (r.name.rfind("simdjson", 0) == 0) simd = r.median;
        if (r.name.rfind("StreamKit", 0) == 0) sk = r.median;
    }
    std::string table =
        "| decoder | ns/msg (median) | min | max | MB/s | allocs/msg | time vs simdjson | time vs StreamKit | doubles correctly rounded |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    bool ok = true;
    for (auto &r : rows) {
        char line[512];
        const char *rounded = !r.decoder ? "n/a" : (r.checksum == c.reference ? "yes (checksum = StreamKit's)" : "NO (checksum differs)");
        snprintf(line, sizeof line, "| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2fx | %.2fx | %s |\n", r.name.c_str(),
                 r.median, r.min, r.max, (double)c.bytes / c.frames.size() / r.median * 1e3, r.allocs,
                 r.median / simd, r.median / sk, rounded);
        table += line;
        if (r.name.rfind("StreamKit", 0) == 0 && r.checksum != c.reference) ok = false;
        if (r.name.rfind("simdjson", 0) == 0 && r.checksum != c.reference) ok = false;
        if (r.name.rfind("jansson", 0) == 0 && r.checksum != c.reference) ok = false;
        if (r.name.find("FullPrecision") != std::string::npos && r.checksum != c.reference) ok = false;
    }
    printf("%s", table.c_str());
    printf("StreamKit (C ABI) takes %.2fx simdjson On-Demand's time per message\n", sk / simd);
    if (argc > 3) {
        FILE *f = fopen(argv[3], "a");
        if (f) {
            fprintf(f,
                    "\n## Decode against the C/C++ peers (same corpus)\n\n"
                    "`Benchmarks/peers/decode_peers.cpp`, built with `-O3 -march=native`: the same %zu frames (%zu B "
                    "average) decoded one by one into typed values (every payload and envelope field, numbers as "
                    "doubles, strings as lengths) and folded into one checksum; every correct decoder must reproduce "
                    "StreamKit's. Allocation counts wrap malloc for the whole process. Median of %d passes.\n\n%s\n"
                    "StreamKit through the C ABI takes **%.2fx** simdjson On-Demand's time per message (the goal is "
                    "0.5x or less).\n",
                    c.frames.size(), c.bytes / c.frames.size(), rounds, table.c_str(), sk / simd);
            fclose(f);
        }
    }
    if (!ok) {
        fprintf(stderr, "a decoder that must be exact disagrees with StreamKit's reference checksum\n");
        return 1;
    }
    return 0;
}
