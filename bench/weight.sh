#!/usr/bin/env bash
# Build weight of a minimal here_now binary: the SDK vs plain reqwest + serde_json + tokio.
# Cold release builds in fresh target dirs (dependencies already downloaded).
set -euo pipefail
cd "$(dirname "$0")/weight"
printf '| binary | unique packages | cold `cargo build --release` (s) | binary size (KiB) |\n|---|---:|---:|---:|\n'
for crate in plain sdk; do
  packages=$(cd "$crate" && cargo tree -e normal,build --prefix none 2>/dev/null | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | wc -l)
  target=$(mktemp -d)
  start=$(date +%s.%N)
  (cd "$crate" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)
  end=$(date +%s.%N)
  size=$(( $(stat -c %s "$target/release/weight-$crate") / 1024 ))
  printf '| %s | %s | %.1f | %s |\n' "$crate" "$packages" "$(echo "$end - $start" | bc)" "$size"
  rm -rf "$target"
done
