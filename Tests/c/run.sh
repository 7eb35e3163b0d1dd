#!/usr/bin/env bash
# Builds and runs the C API tests (Tests/c/test_cabi.c) and the C examples against a simulator, under
# AddressSanitizer + LeakSanitizer. Usage: Tests/c/run.sh LIBDIR STREAMKIT_BIN
#   LIBDIR        a folder holding libstreamkit.so (make lib) or SwiftPM's libStreamKitABI.so
#   STREAMKIT_BIN the streamkit executable (for `streamkit sim`)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
libdir=$(cd "${1:?usage: $0 LIBDIR STREAMKIT_BIN}" && pwd)
bin=${2:?usage: $0 LIBDIR STREAMKIT_BIN}
out="$here/.build-c"
mkdir -p "$out"
# The library's soname is libstreamkit.so: give SwiftPM's file that name.
[ -e "$libdir/libstreamkit.so" ] || ln -sf "$libdir/libStreamKitABI.so" "$out/libstreamkit.so"
[ -e "$libdir/libstreamkit.so" ] && ln -sf "$libdir/libstreamkit.so" "$out/libstreamkit.so"

"$here/scripts/check_exports.sh" "$out/libstreamkit.so"
python3 "$here/scripts/check_header_slots.py"
for std in "gcc -std=c99 -pedantic" "g++ -std=c++17 -x c++"; do
    for header in streamkit.h streamkit_python.h; do
        $std -Wall -Wextra -Werror -fsyntax-only -I"$here/include" "$here/include/$header"
    done
done
echo "headers (streamkit.h, streamkit_python.h) compile cleanly as C99 (gcc -pedantic) and C++17"

cc -std=c99 -Wall -Wextra -Werror -pedantic -D_POSIX_C_SOURCE=200809L -g -fsanitize=address \
    -I"$here/include" -o "$out/test_cabi" "$here/Tests/c/test_cabi.c" -L"$out" -lstreamkit -Wl,-rpath,"$out" -lpthread

"$bin" sim --port 0 --api-key test --speed 20 > "$out/sim.url" 2> "$out/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$out/sim.url" ] && break; sleep 0.1; done
url=$(head -1 "$out/sim.url")
echo "simulator at $url"
# detect_leaks: the C side must not leak; the Swift runtime's own caches are reachable and not reported.
STREAMKIT_URL="$url" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$out/test_cabi"

make -s -C "$here/examples/c" LIBDIR="$out" clean all
STREAMKIT_URL="$url" CMC_API_KEY=test "$here/examples/c/run-examples.sh" "$here/examples/c" "$out"
