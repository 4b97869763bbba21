#!/usr/bin/env bash
# Builds the TypeScript samples (hello, json, fib, logger, and the wasi:http http-hello and
# http-echo, whose wafer.world file selects that world) from source into
# samples/dist/<sample>-ts.wasm with the TypeScript SDK's build helper (sdk/typescript/build.mjs).
# A sample is skipped when a hash of its sources, the SDK, the build helper, the WIT world and
# the componentize-js version matches the stamp left by its last build (samples/dist/.<sample>-ts.stamp).
# Usage: samples/ts/build.sh [sample...]   (default: all six)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dist="$root/samples/dist"
samples=("$@")
[ ${#samples[@]} -gt 0 ] || samples=(hello json fib logger http-hello http-echo)

command -v node >/dev/null || { echo "error: node not found" >&2; exit 1; }
componentize="$root/node_modules/@bytecodealliance/componentize-js/package.json"
[ -f "$componentize" ] || { echo "error: componentize-js is not installed: run npm install in $root" >&2; exit 1; }
mkdir -p "$dist"

hash_files() { # hash_files <path>... : content hash of the build inputs under the paths (tests excluded)
  (cd "$root" && find "$@" -type f \( -name '*.ts' -o -name '*.mjs' -o -name '*.wit' -o -name wafer.world \) -not -name '*.test.ts' \
      -not -path '*/template/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
common="$( {
  hash_files sdk/typescript/src sdk/typescript/build.mjs abi/wit/1.0.0 sdk/wasi-http/wit
  node -p "require('$componentize').version"
  node -p "require('$root/node_modules/rolldown/package.json').version"
} | sha256sum | cut -c1-64)"

# shellcheck source=../stamp.sh
. "$here/../stamp.sh"
for sample in "${samples[@]}"; do
  [ -f "$here/$sample/handler.ts" ] || { echo "error: no sample $here/$sample/handler.ts" >&2; exit 1; }
  out="$dist/$sample-ts.wasm"
  want="$( { echo "$common"; hash_files "samples/ts/$sample"; } | sha256sum | cut -c1-64)"
  stamped_build ts "$out" "$want" node "$root/sdk/typescript/build.mjs" "$here/$sample/handler.ts" "$out"
done
