#!/usr/bin/env bash
# Builds the Python samples into samples/dist/<sample>-python.wasm with sdk/python/build.sh.
# A sample is skipped when its sources, the SDK and the ABI's WIT are unchanged since its last
# build (stamp: samples/dist/<sample>-python.wasm.sha256); FORCE=1 rebuilds everything.
#
#   samples/python/build.sh [sample...]     (default: hello json fib logger http-hello http-echo;
#   the last two are wasi:http components: their wafer.world file selects the world)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dist="$root/samples/dist"
samples=("$@")
[ ${#samples[@]} -gt 0 ] || samples=(hello json fib logger http-hello http-echo)
mkdir -p "$dist"

# Hash of everything a sample's component is made from.
inputs_hash() {
  (
    cd "$root"
    find "samples/python/$1" sdk/python/src sdk/wasi-http/wit -type f -not -path '*/__pycache__/*' -print
    echo sdk/python/build.sh
    echo abi/wit/1.0.0/world.wit
  ) | LC_ALL=C sort | (cd "$root" && xargs sha256sum) | sha256sum | cut -d' ' -f1
}

n=${#samples[@]}
i=0
for sample in "${samples[@]}"; do
  i=$((i + 1))
  src="$here/$sample"
  out="$dist/$sample-python.wasm"
  [ -f "$src/app.py" ] || { echo "samples/python/build.sh: no sample $sample ($src/app.py missing)" >&2; exit 1; }
  hash=$(inputs_hash "$sample")
  if [ -z "${FORCE:-}" ] && [ -f "$out" ] && [ "$(cat "$out.sha256" 2>/dev/null)" = "$hash" ]; then
    echo "[$i/$n] $sample-python: up to date ($out)"
    continue
  fi
  echo "[$i/$n] $sample-python: building"
  rm -f "$out.sha256"
  "$root/sdk/python/build.sh" "$src" "$out"
  echo "$hash" >"$out.sha256"
done
