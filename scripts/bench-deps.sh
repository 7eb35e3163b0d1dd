#!/usr/bin/env bash
# Installs what `make bench` measures StreamKit against, when missing: simdjson, RapidJSON and jansson (Debian
# packages), orjson and websockets (pip). Node.js is used when present (the Node row needs node >= 20.10 with
# --experimental-websocket; it is skipped otherwise).
set -euo pipefail
missing=()
[ -f /usr/include/simdjson.h ] || missing+=(libsimdjson-dev)
[ -f /usr/include/rapidjson/document.h ] || missing+=(rapidjson-dev)
[ -f /usr/include/jansson.h ] || missing+=(libjansson-dev)
command -v g++ >/dev/null || missing+=(g++)
command -v zstd >/dev/null || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
fi
python3 -c 'import orjson, websockets' 2>/dev/null || python3 -m pip install -q orjson websockets 2>/dev/null \
    || python3 -m pip install -q --break-system-packages orjson websockets
