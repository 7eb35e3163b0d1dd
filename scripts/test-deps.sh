#!/usr/bin/env bash
# Installs what `make test` needs when it is missing (`make deps` runs it first; so do test-c, test-python, wheel):
# - Debian packages: make, openssl, pkg-config, gcc, g++ (the C tests, under AddressSanitizer), libjansson-dev (the
#   C examples), zstd (the capture tests compare `zstd -dc` with the uncompressed capture; the runtime,
#   libzstd1, is on every Debian already), python3-venv (Debian's own python3 has no venv without it). As root they are installed with
#   apt-get; otherwise one line names them and the command to run, and the script fails.
# - Python packages: pytest, websockets (the tests) and auditwheel (the wheel's tag checked), into a virtual
#   environment of the project's own (default .build-py/venv, git-ignored), never into the user's interpreter.
#   It is made with `python3 -m venv` and reused while it has them: a second run installs nothing and prints
#   nothing.
# Usage: scripts/test-deps.sh [VENV]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.build-py/venv}
py_packages=(pytest "websockets>=13" auditwheel)

missing=()
command -v make >/dev/null || missing+=(make)
command -v openssl >/dev/null || missing+=(openssl)
command -v gcc >/dev/null || missing+=(gcc)
command -v g++ >/dev/null || missing+=(g++)
command -v zstd >/dev/null || missing+=(zstd)
if command -v pkg-config >/dev/null; then
    pkg-config --exists jansson || missing+=(libjansson-dev)
else
    missing+=(pkg-config)
    [ -f /usr/include/jansson.h ] || missing+=(libjansson-dev)
fi
python=$(command -v python3 || true)
if [ -z "$python" ]; then
    missing+=(python3 python3-venv)
elif ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian splits venv's ensurepip into python3-venv; any other python3 without it is not ours to fix.
    case $(readlink -f "$python") in
        /usr/bin/python3*) missing+=(python3-venv) ;;
        *) echo "test-deps: $python cannot make a virtual environment (no ensurepip); use a python3 that can" \
               "(Debian's: apt-get install python3-venv)" >&2
           exit 1 ;;
    esac
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "test-deps: missing ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "test-deps: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    python=$(command -v python3)
fi

if ! "$venv/bin/python" -c 'import pytest, websockets, auditwheel' 2>/dev/null; then
    # A venv whose interpreter is gone (python3 upgraded or removed) is made again.
    "$venv/bin/python" -c '' 2>/dev/null || { rm -rf "$venv"; "$python" -m venv "$venv"; }
    echo "test-deps: installing ${py_packages[*]} into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${py_packages[@]}" \
        || { echo "test-deps: pip could not install ${py_packages[*]} into $venv (offline?)" >&2; exit 1; }
fi
