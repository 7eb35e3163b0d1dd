#!/usr/bin/env bash
# Runs both examples briefly against STREAMKIT_URL and checks that they printed data. Used by Tests/c/run.sh.
set -euo pipefail
dir=${1:?usage: $0 EXAMPLES_DIR}
out=$(timeout 60 "$dir/ticker" 4)
echo "$out"
[ "$(echo "$out" | grep -cE '^(BTC|ETH) ')" -ge 4 ] || { echo "ticker printed no prices"; exit 1; }
out=$(timeout 60 "$dir/dump" onchain@transaction 14 0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d 3)
echo "$out" | cut -c1-160
[ "$(echo "$out" | grep -c '^onchain@transaction ts=.* tx=')" -eq 3 ] || { echo "dump printed no swaps"; exit 1; }
echo "C examples: ok"
