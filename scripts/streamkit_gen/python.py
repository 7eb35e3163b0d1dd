"""The Python face: the ctypes mirror of the C payload structs and the package's field tables
(bindings/python/streamkit/_payloads.py), the shared tables (_tables.py), one exception class per status
(_errors.py) and the version of bindings/python/pyproject.toml. C names come from the model, as the C header
spells them."""

from .model import snake, union_member
from .output import CHANNELS_NOTICE, TABLES_NOTICE

PACKAGE = "bindings/python/streamkit"

#: The ctypes type of each C type of the payload structs' members.
CTYPES = {"uint64_t": "ctypes.c_uint64", "uint32_t": "ctypes.c_uint32", "int64_t": "ctypes.c_int64",
          "int32_t": "ctypes.c_int32", "int": "ctypes.c_int", "double": "ctypes.c_double", "sk_str": "sk_str"}


# MARK: - _payloads.py

def gen_python_payloads(m):
    """The C payload structs as ctypes classes (same layout as streamkit_payloads.h), plus the field tables the
    Python API builds its payload classes from."""
    windows, payloads = m.c_windows, m.c_payloads
    by_type = m.c_by_type
    L = ['"""' + CHANNELS_NOTICE,
         "",
         "The C payload structs of include/streamkit_payloads.h as ctypes classes (same layout), and the tables",
         "streamkit builds its payload classes from: per struct, (wire key, python name, kind, bit, C member, enum",
         'C member or None, enum name or None)."""',
         "",
         "import ctypes",
         "",
         "",
         "class sk_str(ctypes.Structure):",
         '    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]',
         ""]
    for st in windows + payloads:
        L.append("")
        L.append(f"class {st.name}(ctypes.Structure):")
        rows = [f'("{mb.name}", {mb.c_type} * {mb.count})' if mb.role == "windows"
                else f'("{mb.name}", {CTYPES[mb.c_type]})' for mb in st.members]
        L.append("    _fields_ = [")
        L += [f"        {r}," for r in rows]
        L.append("    ]")
        L.append("")
    L.append("")
    L.append("class sk_payload(ctypes.Union):")
    L.append("    _fields_ = [")
    for st, pl in zip(payloads, m.payloads):
        L.append(f'        ("{union_member(pl)}", {st.name}),')
    L.append("    ]")
    L.append("")
    L.append("")
    L.append("# struct -> [(wire, python name, kind, bit, C member, enum C member, enum name)]")
    L.append("FIELDS = {")
    for st in windows + payloads:
        L.append(f'    "{st.name}": [')
        for i, f in enumerate(st.fields):
            name = snake(f.name)
            kind_member = repr(st.kind_member.get(f.wire))
            L.append(f'        ("{f.wire}", "{name}", "{f.kind}", {i}, "{st.member[f.wire]}", {kind_member}, {f.enum!r}),')
        L.append("    ],")
    L.append("}")
    L.append("")
    L.append("# channel number -> (wire name, union member, struct, class name, windows: (wire, [names], struct) or None)")
    L.append("CHANNELS = {")
    for i, (st, pl) in enumerate(zip(payloads, m.payloads), start=1):
        win = "None"
        if pl.windows:
            win = f'("{pl.windows.wire}", {[w for _, w in pl.windows.names]!r}, "{by_type[pl.windows.type].name}")'
        L.append(f'    {i}: ("{pl.channel}", "{union_member(pl)}", "{st.name}", "{pl.type}", {win}),')
    L.append("}")
    L.append("")
    L.append("# enum name -> wire texts, in constant order (constant = index + 1; 0 = unknown)")
    L.append("ENUMS = {")
    for e in m.enums:
        L.append(f'    "{e.name}": {[wire for _, wire, _ in e.cases]!r},')
    L.append("}")
    return "\n".join(L) + "\n"


# MARK: - Tables (scripts/tables_schema.py)

PY_HEADER = "# " + TABLES_NOTICE + "\n"


def gen_python_tables(m):
    out = [PY_HEADER, '"""The tables the package shares with the library: version, statuses, events, faults, disconnect reasons."""\n\n']
    out.append(f'#: The version of this package and of the C API it was written for (STREAMKIT_VERSION).\nVERSION = "{m.version_string}"\n')
    out.append(f"#: STREAMKIT_VERSION_NUMBER: the package refuses a library of another minor version.\nVERSION_NUMBER = {m.version_number}\n\n")
    for s in m.statuses:
        out.append(f"{s.c_name} = {s.number}\n")
    out.append("\n#: sk_event numbers -> the names streamkit.Event uses.\nEVENTS = {\n")
    for e in m.events:
        if e.name:
            out.append(f'    {e.number}: "{e.name}",\n')
    out.append("}\n\n#: sk_fault numbers by name (the names of SimulatorFault.kinds, which the CLI spells with \"-\").\nFAULTS = {\n")
    for f in m.faults:
        out.append(f'    "{f.name}": {f.number},\n')
    out.append("}\n\n#: sk_disconnect_reason numbers -> names: why a connection ended (0, SK_REASON_NONE, is no reason).\n"
               "DISCONNECT_REASONS = {\n")
    for r in m.reasons:
        out.append(f'    {r.number}: "{r.name}",\n')
    out.append("}\n\n#: Every default of streamkit.Client (and of the library's configuration), by name; the schema says why.\nDEFAULTS = {\n")
    for d in m.defaults_for("py"):
        out.append(f"    {d.name!r}: {d.value!r},\n".replace("'", '"'))
    out.append("}\n")
    return "".join(out)


def gen_python_errors(m):
    out = [PY_HEADER, '"""The exception of each status code of the C API, all under StreamKitError (see streamkit.errors)."""\n\n',
           "import builtins\n\n\n",
           'class StreamKitError(Exception):\n    """Base class of every StreamKit error. ``status`` is the C API\'s sk_status code."""\n\n    status = -1\n']
    names = []
    for s in m.statuses:
        if not s.py_class:
            continue
        bases = ", ".join(("StreamKitError",) + s.py_bases)
        out.append(f'\n\nclass {s.py_class}({bases}):\n    """{s.py_doc}"""\n    status = {s.number}\n')
        names.append(s.py_class)
    out.append("\n\n#: The class of each status.\nBY_STATUS = {cls.status: cls for cls in (" + ", ".join(names) + ")}\n")
    return "".join(out)


# MARK: - Files

def render(m, out):
    """Every Python file, into `out` (an output.Outputs)."""
    out.file(f"{PACKAGE}/_payloads.py", gen_python_payloads(m))
    out.file(f"{PACKAGE}/_tables.py", gen_python_tables(m))
    out.file(f"{PACKAGE}/_errors.py", gen_python_errors(m))
    out.line("bindings/python/pyproject.toml", r'(?m)^version = "[^"]*"$', f'version = "{m.version_string}"')
