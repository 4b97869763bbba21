# Sourced by samples/<lang>/build.sh: rebuild a sample only when its inputs changed.
#
#   stamped_build <label> <out.wasm> <input-hash> <command...>
#
# Skips when <out.wasm> exists and its stamp (<dir>/.<name>.stamp, beside it) holds <input-hash>;
# otherwise runs <command...> and records the hash. The stamp is removed first, so a failed
# build never leaves a stale "up to date".
stamped_build() {
  local label="$1" out="$2" want="$3"
  shift 3
  local stamp
  stamp="$(dirname "$out")/.$(basename "$out" .wasm).stamp"
  if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$label: $(basename "$out") is up to date"
    return 0
  fi
  echo "$label: building $(basename "$out")"
  rm -f "$stamp"
  "$@"
  echo "$want" > "$stamp"
}
