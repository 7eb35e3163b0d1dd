"""Fails when a function or callback type declared in include/streamkit.h or include/streamkit_python.h lacks the
header's fixed slots: the comment right above each declaration is a summary, then Returns, Ownership, Lifetime,
Threads and Blocks, each once, in that order (see the conventions at the top of streamkit.h).

Usage: python3 scripts/check_header_slots.py [HEADER ...]"""

import os
import re
import sys

SLOTS = ["Returns", "Ownership", "Lifetime", "Threads", "Blocks"]
DECLARATION = re.compile(r"^(?:typedef\s+[A-Za-z_][\w ]*\(\s*\*\s*(sk_\w+)\s*\)\s*\(|[A-Za-z_][\w ]*[ *](sk_\w+)\()")
SLOT = re.compile(r"^\*\*\s+(\w+):")


def problems(path):
    lines = open(path).read().split("\n")
    found = []
    for i, line in enumerate(lines):
        m = DECLARATION.match(line)
        if not m:
            continue
        name = m.group(1) or m.group(2)
        # The comment block that ends on the line just above.
        end = i - 1
        if end < 0 or not lines[end].rstrip().endswith("*/"):
            found.append(f"{path}:{i + 1}: {name}: no comment right above it")
            continue
        start = end
        while start >= 0 and not lines[start].lstrip().startswith("/*"):
            start -= 1
        block = lines[start:end + 1]
        labels = [s.group(1) for s in (SLOT.match(b) for b in block) if s and s.group(1) in SLOTS]
        if labels != SLOTS:
            found.append(f"{path}:{i + 1}: {name}: slots {labels or 'none'}, want {SLOTS}")
        elif SLOT.match(block[0].replace("/*", "**", 1)):
            found.append(f"{path}:{i + 1}: {name}: no one-line summary before the slots")
    return found


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    headers = sys.argv[1:] or [os.path.join(root, "include", h) for h in ("streamkit.h", "streamkit_python.h")]
    found = [p for h in headers for p in problems(h)]
    for p in found:
        print(p)
    if found:
        sys.exit(f"{len(found)} declarations lack the header's slots (Returns, Ownership, Lifetime, Threads, Blocks)")
    print("every declaration has its slots: " + ", ".join(os.path.basename(h) for h in headers))


if __name__ == "__main__":
    main()
