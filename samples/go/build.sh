#!/usr/bin/env bash
# Builds the Go samples (hello, json, fib, logger) from source into
# samples/dist/<sample>-go.wasm with the Go SDK's build (sdk/go/build.mjs).
# A sample is skipped when a hash of its sources, the SDK, the WIT world and the Go and jco
# versions matches the stamp left by its last build (samples/dist/.<sample>-go.stamp).
# Usage: samples/go/build.sh [sample...]   (default: all four; GO=/path/to/go picks a toolchain)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dist="$root/samples/dist"
samples=("$@")
[ ${#samples[@]} -gt 0 ] || samples=(hello json fib logger)

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "error: Go toolchain not found (need Go 1.24 or later on PATH, or set GO)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node not found" >&2; exit 1; }
[ -f "$root/node_modules/@bytecodealliance/jco/package.json" ] ||
  { echo "error: jco is not installed: run npm install in $root" >&2; exit 1; }
export GO

mkdir -p "$dist"
# Fetch the modules the samples need (none beyond the SDK today) so a fresh machine builds.
(cd "$here" && "$GO" mod download)

hash_files() { # hash_files <path>... : content hash of the Go sources and build inputs under the paths
  (cd "$root" && find "$@" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.mjs' -o -name '*.wit' \) \
      -not -path '*/template/*' -not -name '*_test.go' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
common="$( {
  hash_files sdk/go abi/wit/1.0.0 samples/go/go.mod
  [ -f "$here/go.sum" ] && sha256sum "$here/go.sum"
  "$GO" env GOVERSION
  node -p "require('$root/node_modules/@bytecodealliance/jco/package.json').version"
} | sha256sum | cut -c1-64)"

# shellcheck source=../stamp.sh
. "$here/../stamp.sh"
for sample in "${samples[@]}"; do
  [ -f "$here/$sample/main.go" ] || { echo "error: no sample $here/$sample/main.go" >&2; exit 1; }
  out="$dist/$sample-go.wasm"
  want="$( { echo "$common"; hash_files "samples/go/$sample"; } | sha256sum | cut -c1-64)"
  stamped_build go "$out" "$want" node "$root/sdk/go/build.mjs" "$here/$sample" "$out"
done
