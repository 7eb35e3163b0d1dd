"""The C face: include/streamkit_payloads.h (the payload structs and their constants), the generated regions of
include/streamkit.h (the version, sk_status, sk_event, sk_disconnect_reason, sk_fault, the defaults), the benchmark peers' tables
(Benchmarks/peers/schema_gen.h) and the version of scripts/streamkit.pc.in. Names shared with other faces (struct
and member names, constants) come from the model; this module only lays them out as C."""

import re
import textwrap

from .model import REASON_NONE, c_channel_const, c_enum_const, c_window_names, packed, snake, union_member
from .output import CHANNELS_NOTICE

def hanging_comment(text, lead, pad, width, break_on_hyphens=True) -> list:
    """`lead/* text */`, wrapped at `width` characters sqlite3.h style: continuation lines are `pad** ...`."""
    assert "*/" not in text and "??" not in text, text
    parts = textwrap.wrap(text, width, break_on_hyphens=break_on_hyphens)
    if len(parts) == 1:
        return [f"{lead}/* {parts[0]} */"]
    return [f"{lead}/* {parts[0]}"] + [f"{pad}** {p}" for p in parts[1:-1]] + [f"{pad}** {parts[-1]} */"]


def c_comment(text: str, indent: str = "") -> list:
    """A `/* ... */` comment, wrapped sqlite3.h style (`**` continuation lines) to stay within 116 columns."""
    assert "*/" not in text and "??" not in text, text
    one = f"{indent}/* {text} */"
    if len(one) <= 116:
        return [one]
    return hanging_comment(text, indent, indent, 116 - len(indent) - 6, break_on_hyphens=False)


def c_lines(rows, indent="    "):
    """`(code, comment)` rows with the comments aligned in one column, or, when one such line would be longer
    than 116 columns, every comment on its own line above its code."""
    width = max(len(code) for code, _ in rows)
    lines = [f"{indent}{code.ljust(width)} /* {comment} */" for code, comment in rows]
    if all(len(line) <= 116 for line in lines):
        return lines
    out = []
    for code, comment in rows:
        out += c_comment(comment, indent)
        out.append(indent + code)
    return out


def c_block(*paragraphs) -> list:
    """A sqlite3.h-style block comment (`/*`, `**` lines, `*/`) for a type; paragraphs separated by `**`."""
    L = ["/*"]
    for i, text in enumerate(paragraphs):
        assert "*/" not in text and "??" not in text, text
        if i:
            L.append("**")
        L += ["** " + ln for ln in textwrap.wrap(text, 113, break_on_hyphens=False)]
    return L + ["*/"]


C_PREAMBLE = """/*
** This source file is part of StreamKit.
** SPDX-License-Identifier: Apache-2.0
**
** {notice}
**
** streamkit_payloads.h: the typed payload of every StreamKit channel as a plain C struct. Included by
** streamkit.h; needs nothing else.
**
** Members are named by their wire keys, as in the stream reference (`p`, `vu`, `tx`). Each comment gives the
** key, its descriptive name where the meaning is known, what it holds, and how sure the reference is of it:
**   [DOC] official CMC documentation    [EX] an official example payload    [OBS] seen on the live stream
**   [INF] inferred: treat as a guess    [UNKNOWN] nothing known
**
** Absent, null, mistyped or zero: every payload struct starts with three bit sets. `present` has a field's bit
** (SK_<STRUCT>_<KEY>, e.g. SK_TRANSACTION_TX) set when the payload carried the key, null included; `nulls` has
** it set when the value was null; `mistyped` has it set when the value had another JSON type than the field's
** (`"ex":0` for a boolean, a string for a number): such a value is not read, and its bit is clear in `present`.
** A member whose key was absent, null or mistyped reads 0 (text: ptr NULL, len 0), so test the bits to tell a
** real 0 from a missing value. `unknown_keys` counts the keys this version of
** StreamKit does not know; they stay in the frame's raw payload.
**
** Compatibility: every constant here is append-only. Channel, enum and window numbers and field bits keep
** their values in later versions, and new ones take the next free number. Struct sizes are not fixed: a
** later version may add members (and windows) at the end of a struct.
*/
#ifndef STREAMKIT_PAYLOADS_H
#define STREAMKIT_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
** A text value: a view of `len` bytes of UTF-8 at `ptr`, NOT NUL-terminated, with JSON escapes resolved.
** `ptr` is NULL and `len` is 0 when the key was absent or null (the payload's `present` and `nulls` bits tell
** those apart from an empty string). The view is valid only as long as the message that holds it: for the
** duration of the callback, or until the next poll. Copy the bytes to keep them.
*/
typedef struct sk_str {
    const char *ptr; /* The first byte; NULL when absent or null. */
    size_t len;      /* The length in bytes. */
} sk_str;
""".replace("{notice}", CHANNELS_NOTICE)


# MARK: - include/streamkit_payloads.h

def gen_c_header(model):
    windows, payloads = model.c_windows, model.c_payloads
    by_type = {s.type: s for s in windows}
    L = C_PREAMBLE.split("\n")
    defined = {}

    def define(name, value):
        assert name not in defined, f"C name {name} defined twice"
        defined[name] = value
        return name

    def enum_block(tname, rows):
        """`typedef enum` of (name, value, comment) rows."""
        out = [f"typedef enum {tname} {{"]
        out += c_lines([(f"{define(n, v)} = {v}{',' if i < len(rows) - 1 else ''}", c)
                        for i, (n, v, c) in enumerate(rows)])
        return out + [f"}} {tname};"]

    L += c_block("The channel of a data frame: one constant per channel this version knows, numbered in the "
                 "order channels were added. The numbering is append-only: a channel keeps its number in every "
                 "later version and a new channel takes the next one.")
    rows = [("SK_CHANNEL_UNKNOWN", 0, "A channel this version of StreamKit does not know.")]
    rows += [(c_channel_const(p), i, f"{p.channel}: {s.name}")
             for i, (p, s) in enumerate(zip(model.payloads, payloads), 1)]
    L += enum_block("sk_channel", rows)
    L.append("")
    for e in model.enums:
        users = [f"{s.name}.{s.kind_member[f.wire]}" for s in windows + payloads for f in s.fields if f.enum == e.name]
        L += c_block(f"{c_text(e.doc)} The values of {', '.join(users)}; append-only.")
        rows = [(c_enum_const(e), 0, "Absent, null, or a value this version does not know: read the text.")]
        rows += [(c_enum_const(e, case), i, f'"{wire}": {c_text(doc)}') for i, (case, wire, doc) in enumerate(e.cases, 1)]
        L += enum_block("sk_" + snake(e.name), rows)
        L.append("")
    for p, ps in zip(model.payloads, payloads):
        if not p.windows:
            continue
        w = p.windows
        consts, count = c_window_names(w)
        where = (f"the elements of `{w.wire}[]`, named by their `{w.name_key}`" if w.style == "array"
                 else "the objects under the top-level keys " + ", ".join(f"`{wire}`" for _, wire in w.names))
        L += c_block(f"The {p.channel} windows ({where}), shortest first: the index into {ps.name}.windows, and "
                     f"bit `1 << index` of its window_present and window_nulls. Append-only.")
        L += enum_block(f"{by_type[w.type].name}_name", [(n, i, f"`{wire}`") for i, (n, wire) in enumerate(consts)])
        L.append(f"#define {define(count, len(consts))} {len(consts)} /* The number of {p.channel} windows. */")
        L.append("")
    for s in windows + payloads:
        L += gen_c_struct(model, s, defined, define)
    L += c_block("The payload of a data frame: read the member that the frame's sk_channel names.")
    L.append("typedef union sk_payload {")
    L += c_lines([(f"{s.name} {union_member(p)};", c_channel_const(p)) for p, s in zip(model.payloads, payloads)])
    L.append("} sk_payload;")
    L += ["", "#ifdef __cplusplus", "}", "#endif", "", "#endif /* STREAMKIT_PAYLOADS_H */"]
    return "\n".join(L) + "\n"


def c_text(doc):
    """Schema docs use DocC ``symbol`` links; outside a struct there is no member to point at."""
    return re.sub(r"``([^`]+)``", r"`\1`", doc)


def c_doc(s, text):
    """Schema docs use DocC ``symbol`` links: name the C member of struct `s` for a field, else mark the Swift API."""
    def sub(m):
        sym = m.group(1)
        for f in s.fields:
            if sym in (f.name, f.wire):
                return "`" + s.kind_member.get(f.wire, s.member[f.wire]) + "`"
        return f"`{sym}` (Swift API)"
    return re.sub(r"``([^`]+)``", sub, text)


def member_doc(model, s, mb):
    """The comment of a member of struct `s`."""
    if mb.role in ("present", "nulls", "mistyped"):
        return {"present": f"Bit {s.macro}_<KEY> set for each key carried, null included.",
                "nulls": f"Bit {s.macro}_<KEY> set for each key carried as null.",
                "mistyped": f"Bit {s.macro}_<KEY> set for each key whose value had the wrong JSON type "
                            "(read as absent)."}[mb.role]
    f = mb.field
    if mb.role == "field":
        label = f.wire if f.name == f.wire or f.enum else f"{f.wire} ({f.name})"
        extra = ""
        if f.req:
            extra = " Always present."
        if f.kind == "bool":
            extra += " 0 or 1."
        if mb.name != f.wire:
            extra += f" (Wire key `{f.wire}`.)"
        return f"{label}: {c_doc(s, f.doc)}{extra}"
    if mb.role == "kind":
        return (f"{s.member[f.wire]} as an sk_{snake(f.enum)} constant ({f.name}); "
                f"{c_enum_const(model.enum(f.enum))} when absent, null or not known.")
    if mb.role == "unknown_keys":
        return "Keys this version of StreamKit does not know (kept in the raw payload)."
    w = s.windows
    prefix = c_window_names(w)[0][0][0].rsplit("_", 1)[0]
    null_all = f" A null `{w.wire}` sets every bit (0xFF)." if w.style == "array" else ""
    return {"window_present": f"Bit (1 << {prefix}_*) set for each window the payload carried.",
            "window_nulls": f"Bit (1 << {prefix}_*) set for each window carried as null.{null_all}",
            "unknown_windows": "Windows whose name this version does not know (kept in the raw payload).",
            "windows": f"The windows, indexed by {prefix}_*. A window is all zero unless its bit is set in "
                       "window_present and clear in window_nulls."}[mb.role]


def gen_c_struct(model, s, defined, define):
    L = c_block(c_doc(s, s.doc) + (f" The payload (`data`) of {s.channel}." if s.channel else ""))
    L.append(f"typedef struct {s.name} {{")
    bits = [mb for mb in s.members if mb.role in ("present", "nulls", "mistyped")]
    assert bits == s.members[:3]
    L += c_lines([(f"{mb.c_type} {mb.name};", member_doc(model, s, mb)) for mb in bits])
    for mb in s.members[3:]:
        L += c_comment(member_doc(model, s, mb), "    ")
        if mb.role == "windows":
            L.append(f"    {mb.c_type} {mb.name}[{c_window_names(s.windows)[1]}];")
        else:
            L.append(f"    {mb.c_type} {mb.name};")
    L.append(f"}} {s.name};")
    rows = []
    for i, f in enumerate(s.fields):
        name = s.bit_macro(f)
        while name in defined:  # e.g. a window key `count` against SK_..._WINDOW_COUNT
            name += "_"
        rows.append((f"#define {define(name, i)}", f"(UINT64_C(1) << {i})"))
    width = max(len(code) for code, _ in rows)
    L += [f"{code.ljust(width)} {value}" for code, value in rows]
    L.append("")
    return L


# MARK: - The benchmark peers' tables (Benchmarks/peers/schema_gen.h)

def gen_peer_tables(model):
    """C tables of every payload's keys (packed like the Swift decoder's) for the peer decoders of the benchmark,
    and the benchmark checksum over the C ABI's payload structs (the fold of FoundationMirrors' `checksum`)."""
    kinds = {"int": "'i'", "double": "'d'", "text": "'t'", "bool": "'b'"}
    L = ["/*", "** This source file is part of StreamKit.", "** SPDX-License-Identifier: Apache-2.0", "**",
         "** " + CHANNELS_NOTICE, "**",
         "** The benchmark's view of the payload schema: per channel the payload keys (packed little-endian into a",
         "** uint64_t, as StreamKit's decoder matches them), each with its checksum index and kind, and the windows;",
         "** and the checksum over the C ABI's structs. Every decoder of the benchmark folds the same values the same",
         "** way (Sources/StreamKitTestSupport/Checksum.swift), so equal checksums mean equal results.", "*/",
         "#ifndef STREAMKIT_PEERS_SCHEMA_GEN_H", "#define STREAMKIT_PEERS_SCHEMA_GEN_H", "",
         "#include <stdint.h>", "#include <string.h>", '#include "streamkit.h"', "",
         "typedef struct pk_field { uint64_t key; int index; char kind; /* i d t b */ } pk_field;",
         "typedef struct pk_channel {",
         "    const char *name;",
         "    const pk_field *fields;",
         "    int nfields;",
         "    char window_style;        /* 0: none; 'a': an array under window_key; 'k': one object per name key */",
         "    uint64_t window_key;",
         "    const uint64_t *window_names;",
         "    int nwindow_names;",
         "    const pk_field *window_fields;",
         "    int nwindow_fields;",
         "} pk_channel;", "",
         "static inline uint64_t pk_mix(int index, uint64_t bits) {",
         "    uint64_t z = bits + (uint64_t)(index + 1) * UINT64_C(0x9E3779B97F4A7C15);",
         "    z = (z ^ (z >> 31)) * UINT64_C(0xBF58476D1CE4E5B9);",
         "    return z ^ (z >> 29);",
         "}",
         "static inline uint64_t pk_mixd(int index, double d) { uint64_t b; memcpy(&b, &d, 8); return pk_mix(index, b); }",
         "static inline uint64_t pk_mixi(int index, int64_t v) { return pk_mix(index, (uint64_t)v); }",
         "static inline uint64_t pk_mixb(int index, int v) { return pk_mix(index, v ? 1 : 2); }",
         "static inline uint64_t pk_pack(const char *key, size_t len) {",
         "    uint64_t k = 0;",
         "    if (len > 8) return ~UINT64_C(0);",
         "    for (size_t i = 0; i < len; i++) k |= (uint64_t)(unsigned char)key[i] << (8 * i);",
         "    return k;",
         "}", ""]
    peer_name = {model.token_window.type: "token_window", model.pool_window.type: "pool_window"}
    for w, _ in model.window_structs:
        name, fields = peer_name[w.type], w.fields
        L.append(f"static const pk_field pk_{name}_fields[] = {{")
        L += [f"    {{UINT64_C({packed(f.wire)}), {i}, {kinds[f.kind]}}}, /* {f.wire} */" for i, f in enumerate(fields)]
        L.append("};")
    for pl in model.payloads:
        n = snake(pl.type)
        L.append(f"static const pk_field pk_{n}_fields[] = {{")
        L += [f"    {{UINT64_C({packed(f.wire)}), {i}, {kinds[f.kind]}}}, /* {f.wire} */" for i, f in enumerate(pl.fields)]
        L.append("};")
        if pl.windows:
            L.append(f"static const uint64_t pk_{n}_window_names[] = {{"
                     + ", ".join(f"UINT64_C({packed(w)})" for _, w in pl.windows.names) + "};")
    L.append("")
    L.append("/* Indexed by sk_channel. */")
    L.append("static const pk_channel pk_channels[] = {")
    L.append("    {0, 0, 0, 0, 0, 0, 0, 0, 0},")
    for pl in model.payloads:
        n = snake(pl.type)
        nf = f"(int)(sizeof pk_{n}_fields / sizeof pk_{n}_fields[0])"
        if pl.windows:
            w = pl.windows
            wf = peer_name[w.type]
            style = "'a'" if w.style == "array" else "'k'"
            L.append(f'    {{"{pl.channel}", pk_{n}_fields, {nf}, {style}, UINT64_C({packed(w.wire) if w.wire else 0}), '
                     f"pk_{n}_window_names, {len(w.names)}, pk_{wf}_fields, "
                     f"(int)(sizeof pk_{wf}_fields / sizeof pk_{wf}_fields[0])}},")
        else:
            L.append(f'    {{"{pl.channel}", pk_{n}_fields, {nf}, 0, 0, 0, 0, 0, 0}},')
    L.append("};")
    L.append(f"#define PK_CHANNEL_COUNT {len(model.payloads)}")
    L.append("")
    # The checksum over the C structs.
    windows, payloads = model.c_windows, model.c_payloads
    by_type = model.c_by_type

    def body(c):
        out = ["    uint64_t h = 0, on = p->present & ~p->nulls;"]
        for i, f in enumerate(c.fields):
            m = c.member[f.wire]
            value = {"int": f"pk_mixi({i}, p->{m})", "double": f"pk_mixd({i}, p->{m})",
                     "text": f"pk_mix({i}, (uint64_t)p->{m}.len)", "bool": f"pk_mixb({i}, p->{m})"}[f.kind]
            out.append(f"    if (on & {c.bit_macro(f)}) h += {value};")
        return out

    for c in windows:
        L.append(f"static inline uint64_t pk_checksum_{c.name}(const {c.name} *p) {{")
        L += body(c)
        L += ["    return h;", "}"]
    for c in payloads:
        L.append(f"static inline uint64_t pk_checksum_{c.name}(const {c.name} *p) {{")
        L += body(c)
        if c.windows:
            wc = by_type[c.windows.type]
            L += [f"    for (int w = 0; w < {len(c.windows.names)}; w++)",
                  "        if (((p->window_present & ~p->window_nulls) >> w) & 1)",
                  f"            h += pk_checksum_{wc.name}(&p->windows[w]);"]
        L += ["    return h;", "}"]
    L.append("/* The payload checksum of a decoded data message. */")
    L.append("static inline uint64_t pk_checksum_payload(const sk_message *m) {")
    L.append("    switch (m->channel) {")
    for c, pl in zip(payloads, model.payloads):
        L.append(f"    case {c_channel_const(pl)}: return pk_checksum_{c.name}(&m->data.{union_member(pl)});")
    L += ["    default: return 0;", "    }", "}", "", "#endif", ""]
    return "\n".join(L)


# MARK: - The append-only check

def c_abi_numbers(text):
    """Every numbered C constant (enumerators and field bits) in a header, for the append-only check."""
    nums = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(SK_\w+)\s*=\s*(\d+)", text, re.M)}
    nums.update({m.group(1): int(m.group(2))
                 for m in re.finditer(r"^#define\s+(SK_\w+)\s+\(UINT64_C\(1\)\s*<<\s*(\d+)\)", text, re.M)})
    return nums


def c_abi_breaks(old_text, new_text):
    """Constants of the committed header that the new one drops or renumbers."""
    old, new = c_abi_numbers(old_text), c_abi_numbers(new_text)
    return [f"{k} = {v} -> {new[k] if k in new else 'removed'}" for k, v in old.items() if new.get(k) != v]


# MARK: - The regions of include/streamkit.h (scripts/tables_schema.py)

def c_defaults(model):
    out = ["/* What sk_config_new starts from; each with the reason for it (scripts/tables_schema.py). */"]
    for d in model.defaults_for("c"):
        if d.name == "overflow":
            literal = "SK_OVERFLOW_" + d.value.upper()  # the hand-written sk_overflow
        elif d.kind == "text":
            literal = f'"{d.value}"'
        else:
            literal = repr(d.value)
        out += hanging_comment(d.reason, "", "", 114)
        out.append(f"#define {d.c_name} {literal}")
    return "\n".join(out)


def c_enum(type_name, rows):
    """`typedef enum NAME { SK_X = N, /* doc */ ... } NAME;` of (name, number, doc) rows, as the hand-written
    enums of include/streamkit.h are laid out: comments in one column, wrapped within 117 columns."""
    lines = [f"typedef enum {type_name} {{"]
    names = [f"    {name} = {number}{',' if i < len(rows) - 1 else ''}" for i, (name, number, _) in enumerate(rows)]
    column = min(max(len(n) for n in names) + 1, 44)
    for n, (_, _, doc) in zip(names, rows):
        head = n.ljust(column)
        lines += hanging_comment(doc, head, " " * len(head), max(117 - len(head) - 3, 40))
    lines.append(f"}} {type_name};")
    return "\n".join(lines)


def header_regions(model):
    """The text of each `<tables:NAME>` region of include/streamkit.h, by NAME."""
    v = model.version_string
    return {
        "version": "\n".join([
            "/* The version of this header. Compare with sk_version_number() to detect a header/library mismatch. */",
            f'#define STREAMKIT_VERSION "{v}"',
            f"#define STREAMKIT_VERSION_MAJOR {model.version[0]}",
            f"#define STREAMKIT_VERSION_MINOR {model.version[1]}",
            f"#define STREAMKIT_VERSION_PATCH {model.version[2]}",
            "/* MAJOR * 1000000 + MINOR * 1000 + PATCH. */",
            f"#define STREAMKIT_VERSION_NUMBER {model.version_number}",
        ]),
        "sk_status": c_enum("sk_status", [(s.c_name, s.number, s.doc) for s in model.statuses]),
        "sk_event": c_enum("sk_event", [(e.c_name, e.number, e.doc) for e in model.events]),
        "sk_disconnect_reason": c_enum("sk_disconnect_reason", [(r.c_name, r.number, r.doc)
                                                                for r in [REASON_NONE] + model.reasons]),
        "sk_fault": c_enum("sk_fault", [(f.c_name, f.number, f.doc) for f in model.faults]),
        "defaults": c_defaults(model),
    }


# MARK: - Files

#: The headers whose numbered constants are the C ABI: append-only.
ABI_HEADERS = ("include/streamkit.h", "include/streamkit_payloads.h")


def abi_breaks(out):
    """The constants of the headers on disk that the headers in `out` would drop or renumber."""
    found = []
    for rel in ABI_HEADERS:
        old = out.current(rel)
        if old is not None:
            found += [f"{rel}: {b}" for b in c_abi_breaks(old, out.text(rel))]
    return found


def render(model, out):
    """Every C file and region, into `out` (an output.Outputs)."""
    out.file("include/streamkit_payloads.h", gen_c_header(model))
    out.file("Benchmarks/peers/schema_gen.h", gen_peer_tables(model))
    out.regions("include/streamkit.h", header_regions(model))
    out.line("scripts/streamkit.pc.in", r"(?m)^Version: .*$", f"Version: {model.version_string}")
