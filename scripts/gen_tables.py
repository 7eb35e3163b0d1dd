"""Writes scripts/tables_schema.py (the version, statuses, events and faults) into every face. Called by
scripts/gen_channels.py, which writes or checks the files: `outputs(root)` returns {path: text}, `breaks(root)` the
numbers a table change would drop or renumber.

Outputs:
  include/streamkit.h  the regions between `<tables:NAME>` markers: the version macros, sk_status, sk_event,
      sk_fault and the SK_DEFAULT_* macros (the rest of the header is written by hand).
  Sources/StreamKit/Generated/Tables.swift  StreamKitVersion, StreamKitStatus (the status table with its texts),
      the fault kinds' numbers by name (SimulatorFault.kinds builds each kind from its name), StreamKitDefaults.
  Sources/CABI/Generated/CTables.swift  sk_version, sk_status_string.
  bindings/python/streamkit/_tables.py  VERSION, VERSION_NUMBER, the SK_* statuses, EVENTS, FAULTS, DEFAULTS.
  bindings/python/streamkit/_errors.py  one exception class per status, and BY_STATUS.
  bindings/python/pyproject.toml, scripts/streamkit.pc.in  their version lines."""

import os
import re
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tables_schema import DEFAULTS, EVENTS, FAULTS, STATUSES, VERSION  # noqa: E402

GENERATED = "Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this."
SWIFT_HEADER = "// This source file is part of StreamKit.\n// SPDX-License-Identifier: Apache-2.0\n//\n// " + GENERATED + "\n\n"
PY_HEADER = "# " + GENERATED + "\n"


def version_string():
    return ".".join(map(str, VERSION))


def version_number():
    return VERSION[0] * 1_000_000 + VERSION[1] * 1000 + VERSION[2]


OVERFLOW_NAMES = ("block", "drop_oldest", "conflate")


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def c_defaults():
    out = ["/* What sk_config_new starts from; each with the reason for it (scripts/tables_schema.py). */"]
    for name, kind, value, faces, reason in DEFAULTS:
        if "c" not in faces.split():
            continue
        if name == "overflow":
            literal = "SK_OVERFLOW_" + value.upper()
        elif kind == "text":
            literal = f'"{value}"'
        else:
            literal = repr(value)
        parts = textwrap.wrap(reason, width=114)
        out += ["/* " + parts[0]] + ["** " + p for p in parts[1:]]
        out[-1] += " */"
        out.append(f"#define SK_DEFAULT_{name.upper()} {literal}")
    return "\n".join(out)


def c_enum(type_name, rows):
    """`typedef enum NAME { SK_X = N, /* doc */ ... } NAME;` with comments wrapped at 120 columns."""
    lines = [f"typedef enum {type_name} {{"]
    names = [f"    {name} = {number}{',' if i < len(rows) - 1 else ''}" for i, (name, number, _) in enumerate(rows)]
    column = min(max(len(n) for n in names) + 1, 44)
    for n, (_, _, doc) in zip(names, rows):
        head = n.ljust(column)
        width = 117 - len(head) - 3
        parts = textwrap.wrap(doc, width=max(width, 40))
        if len(parts) == 1:
            lines.append(f"{head}/* {parts[0]} */")
            continue
        lines.append(f"{head}/* {parts[0]}")
        for p in parts[1:-1]:
            lines.append(" " * (len(head)) + "** " + p)
        lines.append(" " * (len(head)) + "** " + parts[-1] + " */")
    lines.append(f"}} {type_name};")
    return "\n".join(lines)


def header_regions():
    v = version_string()
    return {
        "version": "\n".join([
            "/* The version of this header. Compare with sk_version_number() to detect a header/library mismatch. */",
            f'#define STREAMKIT_VERSION "{v}"',
            f"#define STREAMKIT_VERSION_MAJOR {VERSION[0]}",
            f"#define STREAMKIT_VERSION_MINOR {VERSION[1]}",
            f"#define STREAMKIT_VERSION_PATCH {VERSION[2]}",
            "/* MAJOR * 1000000 + MINOR * 1000 + PATCH. */",
            f"#define STREAMKIT_VERSION_NUMBER {version_number()}",
        ]),
        "sk_status": c_enum("sk_status", [(f"SK_{s[0]}", s[1], s[4]) for s in STATUSES]),
        "sk_event": c_enum("sk_event", [(f"SK_EVENT_{e[0]}", e[1], e[3]) for e in EVENTS]),
        "sk_fault": c_enum("sk_fault", [(f"SK_FAULT_{f[0].upper()}", f[1], f[2]) for f in FAULTS]),
        "defaults": c_defaults(),
    }


MARKER = re.compile(r"/\* <tables:(\w+)> \*/\n(.*?)\n/\* </tables:\1> \*/", re.S)


def gen_header(old):
    regions = header_regions()
    found = set()

    def replace(m):
        found.add(m.group(1))
        if m.group(1) not in regions:
            raise SystemExit(f"include/streamkit.h: unknown region <tables:{m.group(1)}>")
        return f"/* <tables:{m.group(1)}> */\n{regions[m.group(1)]}\n/* </tables:{m.group(1)}> */"

    new = MARKER.sub(replace, old)
    missing = set(regions) - found
    if missing:
        raise SystemExit("include/streamkit.h lacks the generated regions: " + ", ".join(sorted(missing)))
    return new


def swift_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gen_swift_tables():
    v = version_string()
    out = [SWIFT_HEADER]
    out.append(f"""/// The library version, as `STREAMKIT_VERSION*` in the C header and `streamkit.__version__` in Python.
public enum StreamKitVersion {{
    public static let major = {VERSION[0]}
    public static let minor = {VERSION[1]}
    public static let patch = {VERSION[2]}
    /// `major * 1_000_000 + minor * 1_000 + patch`, as sqlite's version number.
    public static let number = {version_number()}
    /// `"major.minor.patch"`.
    public static let string = "{v}"
    /// ``string`` in static storage, for C (`sk_version`).
    public static let staticString: StaticString = "{v}"
}}

/// The status table shared by every face: `sk_status` in C, the exception classes in Python
/// (`StreamKitError.status`), ``rawValue`` in Swift (`StreamClientError.status`). Numbers are only ever appended.
public enum StreamKitStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {{
""")
    for s in STATUSES:
        out.append(f"    /// {s[4]}\n    case {s[2]} = {s[1]}\n")
    out.append("""
    /// The short text of `sk_status_string` ("misuse", ...).
    public var description: String { String(describing: self.text) }

    /// ``description`` in static storage, for C.
    public var text: StaticString {
        switch self {
""")
    for s in STATUSES:
        out.append(f"        case .{s[2]}: {swift_string(s[3])}\n")
    out.append("""        }
    }
}

/// The simulator's fault kinds by name (`sk_fault` in C, `Simulator.inject` in Python, `--fault` on the command
/// line); `SimulatorFault.kinds` builds each kind from its name.
public enum FaultNumbers {
    public static let byName: [String: Int32] = [
""")
    for f in FAULTS:
        out.append(f"        {swift_string(f[0])}: {f[1]},\n")
    out.append("""    ]
}

/// Every default of the configuration (`SessionConfiguration`, `SessionPool.Configuration`,
/// `StreamClientConfiguration`, `DeliveryConfiguration`, the C `sk_config_new`, Python's `Client`), with the
/// reason for each.
public enum StreamKitDefaults {
""")
    for name, kind, value, faces, reason in DEFAULTS:
        for line in textwrap.wrap(reason, width=112):
            out.append(f"    /// {line}\n")
        if kind == "seconds":
            literal = f": Duration = .seconds({value})"
        elif kind == "text":
            literal = f" = {swift_string(value)}"
        elif kind == "double":
            literal = f": Double = {value!r}"
        else:
            literal = f" = {value}"
        out.append(f"    public static let {camel(name)}{literal}\n")
    out.append("}\n")
    return "".join(out)


def gen_cabi_tables():
    return SWIFT_HEADER + """import StreamKit

@_cdecl("sk_version")
public func skVersion() -> UnsafePointer<CChar> { staticCString(StreamKitVersion.staticString) }

@_cdecl("sk_status_string")
public func skStatusString(_ status: Int32) -> UnsafePointer<CChar> {
    staticCString(StreamKitStatus(rawValue: status)?.text ?? "unknown status")
}

/// sk_event's names by number (Python's `Event.kind`, the capture format's `"e"`); "" for SK_EVENT_NONE.
let skEventNames: [StaticString] = [""" + ", ".join(swift_string(e[2] or "") for e in EVENTS) + """]

/// sk_event by name (a capture's event kinds; a name this version lacks has none).
let skEventsByName: [String: Int32] = [""" + ", ".join(f"{swift_string(e[2])}: {e[1]}" for e in EVENTS if e[2]) + """]
"""


def gen_python_tables():
    out = [PY_HEADER, '"""The tables the package shares with the library: version, statuses, events, faults."""\n\n']
    out.append(f'#: The version of this package and of the C API it was written for (STREAMKIT_VERSION).\nVERSION = "{version_string()}"\n')
    out.append(f"#: STREAMKIT_VERSION_NUMBER: the package refuses a library of another minor version.\nVERSION_NUMBER = {version_number()}\n\n")
    for s in STATUSES:
        out.append(f"SK_{s[0]} = {s[1]}\n")
    out.append("\n#: sk_event numbers -> the names streamkit.Event uses.\nEVENTS = {\n")
    for e in EVENTS:
        if e[2]:
            out.append(f'    {e[1]}: "{e[2]}",\n')
    out.append("}\n\n#: sk_fault numbers by name (the names of SimulatorFault.kinds, which the CLI spells with \"-\").\nFAULTS = {\n")
    for f in FAULTS:
        out.append(f'    "{f[0]}": {f[1]},\n')
    out.append("}\n\n#: Every default of streamkit.Client (and of the library's configuration), by name; the schema says why.\nDEFAULTS = {\n")
    for name, kind, value, faces, reason in DEFAULTS:
        if "py" in faces.split():
            out.append(f"    {name!r}: {value!r},\n".replace("'", '"'))
    out.append("}\n")
    return "".join(out)


def gen_python_errors():
    out = [PY_HEADER, '"""The exception of each status code of the C API, all under StreamKitError (see streamkit.errors)."""\n\n',
           "import builtins\n\n\n",
           'class StreamKitError(Exception):\n    """Base class of every StreamKit error. ``status`` is the C API\'s sk_status code."""\n\n    status = -1\n']
    names = []
    for s in STATUSES:
        if not s[5]:
            continue
        bases = ", ".join(("StreamKitError",) + s[6])
        out.append(f'\n\nclass {s[5]}({bases}):\n    """{s[7]}"""\n    status = {s[1]}\n')
        names.append(s[5])
    out.append("\n\n#: The class of each status.\nBY_STATUS = {cls.status: cls for cls in (" + ", ".join(names) + ")}\n")
    return "".join(out)


def with_version(old, pattern, line, name):
    """`old` with the one line matching `pattern` replaced by `line`."""
    new, n = re.subn(pattern, line, old, count=1)
    if n != 1:
        raise SystemExit(f"{name} has no version line to write")
    return new


def check_tables():
    overflow = [d[2] for d in DEFAULTS if d[0] == "overflow"]
    if overflow and overflow[0] not in OVERFLOW_NAMES:
        raise SystemExit(f"tables_schema.DEFAULTS: overflow must be one of {OVERFLOW_NAMES}")
    if [e[1] for e in EVENTS] != list(range(len(EVENTS))):
        raise SystemExit("tables_schema.EVENTS: numbers must run 0, 1, 2, ... (they index sk_event's names)")
    for name, rows, key in (("STATUSES", STATUSES, 1), ("EVENTS", EVENTS, 1), ("FAULTS", FAULTS, 1)):
        numbers = [r[key] for r in rows]
        if len(set(numbers)) != len(numbers):
            raise SystemExit(f"tables_schema.{name}: a number appears twice")


def outputs(root):
    check_tables()
    header = os.path.join(root, "include", "streamkit.h")
    pyproject = os.path.join(root, "bindings", "python", "pyproject.toml")
    pkgconfig = os.path.join(root, "scripts", "streamkit.pc.in")
    return {
        header: gen_header(open(header).read()),
        os.path.join(root, "Sources", "StreamKit", "Generated", "Tables.swift"): gen_swift_tables(),
        os.path.join(root, "Sources", "CABI", "Generated", "CTables.swift"): gen_cabi_tables(),
        os.path.join(root, "bindings", "python", "streamkit", "_tables.py"): gen_python_tables(),
        os.path.join(root, "bindings", "python", "streamkit", "_errors.py"): gen_python_errors(),
        pyproject: with_version(open(pyproject).read(), r'(?m)^version = "[^"]*"$', f'version = "{version_string()}"',
                                "bindings/python/pyproject.toml"),
        pkgconfig: with_version(open(pkgconfig).read(), r"(?m)^Version: .*$", f"Version: {version_string()}",
                                "scripts/streamkit.pc.in"),
    }


def breaks(root):
    """The constants of the committed header's tables that the schema would drop or renumber."""
    old = open(os.path.join(root, "include", "streamkit.h")).read()
    found = []
    for region in ("sk_status", "sk_event", "sk_fault"):
        m = re.search(rf"/\* <tables:{region}> \*/\n(.*?)\n/\* </tables:{region}> \*/", old, re.S)
        if not m:
            continue
        before = dict(re.findall(r"^\s+(SK_\w+) = (\d+)", m.group(1), re.M))
        after = dict(re.findall(r"^\s+(SK_\w+) = (\d+)", header_regions()[region], re.M))
        for name, number in before.items():
            if after.get(name) != number:
                found.append(f"{name} = {number} becomes {after.get(name, 'nothing')}")
    return found
