#!/usr/bin/env bash
# Fails when the headers and the symbols libstreamkit exports drift apart: a function declared but not exported,
# exported but declared in no header, or declared in both headers. The headers are include/streamkit.h (the C
# API) and include/streamkit_python.h (the Python binding's private functions: exported by the same library, so
# checked the same way). Usage: scripts/check_exports.sh path/to/libstreamkit.so
set -euo pipefail
lib=${1:?usage: $0 LIBRARY}
here=$(cd "$(dirname "$0")/.." && pwd)
headers=("$here/include/streamkit.h" "$here/include/streamkit_python.h")
# Declarations only: a line starting with a return type, then the name and "(" (comments start with /* or **, so
# the functions they mention do not count).
declarations() { grep -hoE '^[A-Za-z_][A-Za-z0-9_ ]*[ *]sk_[a-z0-9_]+\(' "$1" | grep -oE 'sk_[a-z0-9_]+\($' | tr -d '(' | sort; }
public=$(declarations "${headers[0]}")
private=$(declarations "${headers[1]}")
declared=$(printf '%s\n%s\n' "$public" "$private" | sed '/^$/d' | sort -u)
twice=$( (echo "$public" | sort -u; echo "$private" | sort -u) | sed '/^$/d' | sort | uniq -d)
exported=$(readelf --dyn-syms -W "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" { sub(/@.*/, "", $8); print $8 }' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
status=0
if [ -n "$twice" ]; then echo "declared in both streamkit.h and streamkit_python.h:"; echo "$twice" | sed 's/^/  /'; status=1; fi
if [ -n "$missing" ]; then echo "declared in a header but not exported by $lib:"; echo "$missing" | sed 's/^/  /'; status=1; fi
if [ -n "$extra" ]; then echo "exported by $lib but declared in no header:"; echo "$extra" | sed 's/^/  /'; status=1; fi
[ $status -eq 0 ] && echo "exports match the headers: $(echo "$public" | sed '/^$/d' | wc -l) functions in" \
    "streamkit.h, $(echo "$private" | sed '/^$/d' | wc -l) in streamkit_python.h"
exit $status
