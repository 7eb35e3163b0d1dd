#!/usr/bin/env bash
# Fails when include/streamkit.h and the symbols libstreamkit exports drift apart: a function declared but not
# exported, or exported but not declared.  Usage: scripts/check_exports.sh path/to/libstreamkit.so
set -euo pipefail
lib=${1:?usage: $0 LIBRARY}
here=$(cd "$(dirname "$0")/.." && pwd)
declared=$(grep -hoE '\bsk_[a-z0-9_]+\(' "$here/include/streamkit.h" | tr -d '(' | sort -u)
exported=$(readelf --dyn-syms -W "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" { sub(/@.*/, "", $8); print $8 }' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
status=0
if [ -n "$missing" ]; then echo "declared in streamkit.h but not exported by $lib:"; echo "$missing" | sed 's/^/  /'; status=1; fi
if [ -n "$extra" ]; then echo "exported by $lib but not declared in streamkit.h:"; echo "$extra" | sed 's/^/  /'; status=1; fi
[ $status -eq 0 ] && echo "exports match streamkit.h: $(echo "$declared" | wc -l) functions"
exit $status
