#!/usr/bin/env bash
# Builds the Rust samples into samples/dist/<sample>-rust.wasm with sdk/rust/build.sh.
# Skips the build when the samples, the SDK, the WIT and the toolchain are unchanged since
# the last successful build (a hash stamp in samples/dist/); FORCE=1 rebuilds anyway.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
dist="$repo/samples/dist"
stamp="$dist/.rust-build.sha256"
samples=(hello json fib logger http-hello http-echo http-chain)

inputs_hash() {
  {
    (cd "$repo" && find samples/rust sdk/rust abi/wit -type f \
      \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock -o -name '*.wit' -o -name '*.sh' \) \
      -not -path '*/target/*' -not -path 'sdk/rust/template/*' -not -path sdk/rust/Cargo.lock -print0 | sort -z | xargs -0 sha256sum)
    dpkg-query -W rustc-web cargo-web rust-web-src 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

mkdir -p "$dist"
hash=$(inputs_hash)
up_to_date=1
[[ ${FORCE:-} != 1 && -f $stamp && $(cat "$stamp") == "$hash" ]] || up_to_date=0
for s in "${samples[@]}"; do [[ -f $dist/$s-rust.wasm ]] || up_to_date=0; done
if ((up_to_date)); then
  echo "rust samples: up to date in samples/dist/ (FORCE=1 to rebuild)"
  exit 0
fi

rm -f "$stamp"
i=0
for s in "${samples[@]}"; do
  i=$((i + 1))
  echo "rust samples: [$i/${#samples[@]}] building $s ..."
  start=$SECONDS
  "$repo/sdk/rust/build.sh" "$here/$s" "$dist/$s-rust.wasm" >/dev/null \
    || { echo "rust samples: error: building $s failed" >&2; exit 1; }
  echo "rust samples: [$i/${#samples[@]}] $s-rust.wasm $(stat -c %s "$dist/$s-rust.wasm") bytes in $((SECONDS - start)) s"
done
# Hashed again: the first build may have written Cargo.lock.
inputs_hash >"$stamp"
