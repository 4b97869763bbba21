#!/usr/bin/env bash
# Builds the wasmtime addon (host/native) in release mode and installs it as
# host/native/wafer_native.node. Idempotent: cargo's target dir lives outside the clone
# (${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}/native-target), so CI and later
# runs reuse the compiled dependencies; a no-op rebuild takes about a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate="$root/host/native"
cache="${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}"
export CARGO_TARGET_DIR="$cache/native-target"
out="$crate/wafer_native.node"
log="$CARGO_TARGET_DIR/build-native.log"

fail() { echo "build-native: $*" >&2; exit 1; }

# rustup's cargo first: Debian's rustc-web (used for wasm guests) must not build the addon.
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null 2>&1 || fail "cargo not found: install Rust with rustup (wasmtime 48 needs Rust >= 1.95)"
rustc_version="$(rustc --version 2>/dev/null | awk '{print $2}')"
case "$rustc_version" in
  1.9[5-9].*|1.[1-9][0-9][0-9].*) ;;
  *) fail "rustc ${rustc_version:-missing} is too old: wasmtime 48 needs Rust >= 1.95 (rustup update stable)" ;;
esac

mkdir -p "$CARGO_TARGET_DIR"
if [ -e "$CARGO_TARGET_DIR/release/libwafer_native.so" ]; then
  echo "building wasmtime addon (incremental)..."
else
  echo "building wasmtime addon (first build takes ~10 min)..."
fi
start=$(date +%s)
# --locked: Cargo.lock is committed; a build must never silently pick other versions.
if ! (cd "$crate" && cargo build --release --locked) >"$log" 2>&1; then
  echo "build-native: cargo build failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

so="$CARGO_TARGET_DIR/release/libwafer_native.so"
[ -f "$so" ] || fail "cargo succeeded but $so is missing"
# Copy to a temp name and rename, so a running host never maps a half-written file.
cp "$so" "$out.tmp" && mv -f "$out.tmp" "$out"
echo "built $out ($(du -h "$out" | cut -f1), $(( $(date +%s) - start ))s)"
