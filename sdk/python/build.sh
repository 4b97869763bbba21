#!/usr/bin/env bash
# Builds a Python wafer function into a WebAssembly component.
#
#   sdk/python/build.sh <function-dir> <out.wasm>
#
# <function-dir> holds app.py with `def handle(req: wafer.Request) -> wafer.Response`, plus any
# modules it imports. The output is a component of the world `handler` in
# abi/wit/1.0.0/world.wit (wafer:function@1.0.0), made by componentize-py, which this script
# installs at a pinned version into a private venv on first use (never globally):
#   ${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}/py-venv
# When <function-dir> holds a `wafer.world` file reading `wasi:http/proxy`, the component is a
# standard wasi:http/proxy one instead: app.py defines `class IncomingHandler` against
# componentize-py's `wit_world` bindings of sdk/wasi-http/wit (no wafer SDK on the path).
# Environment: PYTHON picks the interpreter for that venv (default python3).
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

die() { echo "sdk/python/build.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: build.sh <function-dir> <out.wasm>"
fn_dir=$1
out=$2
sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit_dir="$sdk_dir/../../abi/wit/1.0.0"
[ -d "$fn_dir" ] || die "$fn_dir is not a directory"
[ -f "$fn_dir/app.py" ] || die "$fn_dir has no app.py (it must define handle(req) -> Response)"
[ -f "$wit_dir/world.wit" ] || die "cannot find the ABI's WIT at $wit_dir"
world=wafer
if [ -f "$fn_dir/wafer.world" ]; then
  named=$(sed 's/#.*//' "$fn_dir/wafer.world" | tr -d '[:space:]')
  [ "$named" = "wasi:http/proxy" ] || die "$fn_dir/wafer.world names '$named'; the only world it may name is wasi:http/proxy"
  world=http
  wit_dir="$sdk_dir/../wasi-http/wit"
  [ -f "$wit_dir/world.wit" ] || die "cannot find the wasi:http WIT at $wit_dir"
fi
out_dir=$(dirname "$out")
mkdir -p "$out_dir" || die "cannot create $out_dir"
out="$(cd "$out_dir" && pwd)/$(basename "$out")"

cache_dir=${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}
venv="$cache_dir/py-venv"
cpy="$venv/bin/componentize-py"

have_componentize_py() {
  [ -x "$cpy" ] && [ "$("$cpy" --version 2>/dev/null)" = "componentize-py $COMPONENTIZE_PY_VERSION" ]
}

install_componentize_py() {
  local python=${PYTHON:-python3}
  command -v "$python" >/dev/null || die "$python not found: install Python 3 (with venv) or set PYTHON"
  echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "could not create a venv with $python (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION" \
    || { rm -rf "$venv"; die "pip could not install componentize-py==$COMPONENTIZE_PY_VERSION (is PyPI reachable?)"; }
  have_componentize_py || { rm -rf "$venv"; die "componentize-py $COMPONENTIZE_PY_VERSION did not install a working binary"; }
}

if ! have_componentize_py; then
  mkdir -p "$cache_dir"
  if command -v flock >/dev/null; then
    # Two builds at once must not install into the same venv together.
    exec 9>"$cache_dir/py-venv.lock"
    flock 9
  fi
  have_componentize_py || install_componentize_py
fi

# componentize-py writes __pycache__ into every directory on its path: build from copies so
# the user's tree and the SDK stay clean.
stage=$(mktemp -d "${TMPDIR:-/tmp}/wafer-py-build.XXXXXX")
tmp_out="$out.tmp.$$"
trap 'rm -rf "$stage" "$tmp_out"' EXIT
mkdir -p "$stage/sdk" "$stage/app"
cp -R "$sdk_dir/src/wafer" "$sdk_dir/src/wafer_entry.py" "$stage/sdk/"
tar -C "$fn_dir" --exclude=__pycache__ --exclude=.git --exclude=.venv --exclude=venv \
  --exclude=node_modules --exclude='*.wasm' -cf - . | tar -C "$stage/app" -xf - \
  || die "could not copy $fn_dir"

start=$(date +%s%N)
# The SDK comes first on the path so a function cannot shadow `wafer` or `wafer_entry`.
if [ "$world" = http ]; then
  (cd "$stage" && RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 "$cpy" -q -d "$wit_dir" -w proxy componentize \
    -p "$stage/app" app -o "$tmp_out") \
    || die "componentize-py failed for $fn_dir (see the Python error above)"
else
  (cd "$stage" && RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 "$cpy" -q -d "$wit_dir" -w handler componentize \
    -p "$stage/sdk" -p "$stage/app" wafer_entry -o "$tmp_out") \
    || die "componentize-py failed for $fn_dir (see the Python error above)"
fi
[ -s "$tmp_out" ] || die "componentize-py wrote no output"
mv -f "$tmp_out" "$out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
size=$(wc -c <"$out" | tr -d ' ')
echo "$out ($size bytes, $(( size / 1048576 )).$(( size % 1048576 * 10 / 1048576 )) MiB, ${ms} ms)"
