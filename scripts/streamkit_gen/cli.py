"""The command line of scripts/gen_channels.py: generate every output, refuse an ABI break, write or check."""

import sys

from . import c, python, swift
from .model import Model
from .output import Outputs

USAGE = """usage: python3 scripts/gen_channels.py [--check] [--allow-renumber]
  --check           exit 1 if the generated files differ from what is committed (CI runs this).
  --allow-renumber  let a schema change drop or renumber a constant of the C headers (breaks the C ABI)."""


def main(argv):
    flags = set(argv)
    if flags - {"--check", "--allow-renumber"}:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    check = "--check" in flags
    model = Model()
    out = Outputs(model.root)
    swift.render(model, out)
    c.render(model, out)
    python.render(model, out)

    if "--allow-renumber" not in flags:
        breaks = c.abi_breaks(out)
        if breaks:
            print("the C constants are append-only, but this schema drops or renumbers:\n  " + "\n  ".join(breaks),
                  file=sys.stderr)
            print("append new fields, cases, windows, channels and table rows at the end; to break the C ABI on "
                  "purpose (or to restore a header whose numbers were edited by hand), rerun with --allow-renumber",
                  file=sys.stderr)
            sys.exit(1)

    if check:
        stale, extra = out.stale(), out.extra()
        if stale or extra:
            print("generated files are stale (edited by hand, or the schema changed): "
                  + ", ".join(stale + extra), file=sys.stderr)
            for rel in stale:
                print("\n".join(out.why(rel)), file=sys.stderr)
            for rel in extra:
                print(f"{rel}: not generated (the generator would remove it)", file=sys.stderr)
            print("run: python3 scripts/gen_channels.py", file=sys.stderr)
            sys.exit(1)
        print(f"generated files up to date ({len(out.files)} files)")
    else:
        stale, _ = out.write()
        print(f"wrote {len(stale)} of {len(out.files)} generated files" + "".join(f"\n  {rel}" for rel in stale))
