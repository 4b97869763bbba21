#!/usr/bin/env bash
# Builds one wafer function crate (a cdylib using the `wafer` SDK) into a component.
#
#   sdk/rust/build.sh <crate-dir> <out.wasm>
#
# rustup's toolchains on our machines have no wasm targets, so this uses Debian's `rustc-web`
# (installed on demand) with build-std for wasm32-wasip1, linking through wasm-component-ld
# with the WASI reactor adapter so that cargo emits a component directly. std is built once
# into a shared target dir: $WAFER_CACHE_DIR (default ~/.cache/wafer)/rust-guest-target.
set -euo pipefail

die() { echo "sdk/rust/build.sh: error: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: sdk/rust/build.sh <crate-dir> <out.wasm>"
crate_dir=$1
out=$2
[[ -f $crate_dir/Cargo.toml ]] || die "no Cargo.toml in '$crate_dir'"

packages=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get (Debian 12 with bookworm-updates is required)"
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing Debian packages ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
    sudo=(sudo)
  fi
  echo "sdk/rust/build.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 \
    || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; } \
    || die "could not install ${missing[*]}"
fi

# Debian's toolchain, never rustup's proxies (which would shadow it on PATH).
export PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER
host=$(rustc -vV | sed -n 's/^host: //p')
linker="$(rustc --print sysroot)/lib/rustlib/$host/bin/wasm-component-ld"
[[ -x $linker ]] || die "wasm-component-ld not found at $linker (package rust-web-llvm)"
[[ -x /usr/bin/wasm-ld-22 ]] || die "/usr/bin/wasm-ld-22 not found (package lld-22)"
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || die "/usr/lib/wasm32-wasi/libc.a not found (package wasi-libc)"

# build-std needs nightly flags; Debian's stable rustc allows them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${WAFER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wafer}/rust-guest-target"
export CARGO_TARGET_WASM32_WASIP1_LINKER="$linker"
# RUSTFLAGS would replace the target's flags below; the linker setup is not optional.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L native=/usr/lib/wasm32-wasi \
-C link-arg=--wasm-ld-path=/usr/bin/wasm-ld-22 -C link-arg=--wasi-adapter=reactor"

artifacts=$(mktemp -d)
trap 'rm -rf "$artifacts"' EXIT
cargo build --release --manifest-path "$crate_dir/Cargo.toml" --target wasm32-wasip1 \
  -Zbuild-std=std,panic_abort -Zunstable-options --artifact-dir "$artifacts" \
  || die "cargo build failed for $crate_dir (see above)"

shopt -s nullglob
built=("$artifacts"/*.wasm)
((${#built[@]} == 1)) || die "expected one .wasm from $crate_dir, got ${#built[@]}: is it a single crate with crate-type = [\"cdylib\"]?"
mkdir -p "$(dirname "$out")"
cp "${built[0]}" "$out"
echo "$out $(stat -c %s "$out") bytes"
