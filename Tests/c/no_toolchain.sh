#!/usr/bin/env bash
# Shows that the self-contained library needs no Swift toolchain: hides the toolchain's folder in a private mount
# namespace (root needed), then runs the C examples against the simulator of the Python package, both loading
# only .build-dist/lib/libstreamkit.so. Usage (after `make lib`): sudo Tests/c/no_toolchain.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
lib="$here/.build-dist/lib"
[ -f "$lib/libstreamkit.so" ] || { echo "run 'make lib' first"; exit 1; }
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
work=$(mktemp -d)
cp -r "$here/examples/c" "$work/c"
make -s -C "$work/c" LIBDIR="$lib" SK_CFLAGS="-I$here/include" clean all
STREAMKIT_LIBRARY="$lib/libstreamkit.so" python3 -m pip install -q --disable-pip-version-check --target "$work/site" \
    "$here/bindings/python" 2>&1 | grep -v "as the 'root' user" || true
unshare -m bash -euo pipefail -c "
    mount -t tmpfs none '$toolchain'
    echo \"toolchain at $toolchain hidden (\$(ls '$toolchain' | wc -l) entries); swift: \$(command -v swift || echo none)\"
    PYTHONPATH='$work/site' python3 -c \"import streamkit, time; s = streamkit.Simulator(api_key='test', speed=10); print(s.url, flush=True); time.sleep(30)\" > '$work/url' &
    for _ in \$(seq 1 100); do [ -s '$work/url' ] && break; sleep 0.1; done
    export STREAMKIT_URL=\$(head -1 '$work/url') CMC_API_KEY=test
    '$work/c/ticker' 4
    '$work/c/dump' onchain@transaction 14 0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d 2 | cut -c1-100
    kill %1
"
echo "no toolchain needed: ok"
