#!/usr/bin/env bash
# Benchmark of the harness itself: wall time and peak memory of `mallcheck run` (every scenario,
# orders allowed) against the reference supplier with SKUS SKUs (default: 1 000 and 1 000 000).
# Figures go to bench/README.md by hand. Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/mallcheck
work=$(mktemp -d)
trap 'rm -rf "$work"; kill "${serve_pid:-0}" 2>/dev/null || true' EXIT
export MALLCHECK_USERNAME=tjmall MALLCHECK_PASSWORD=tjmall-test
for skus in ${SKUS:-1000 1000000}; do
  "$bin" serve --skus "$skus" --admin > "$work/url" 2>/dev/null &
  serve_pid=$!
  until [ -s "$work/url" ]; do sleep 0.05; done
  url=$(head -1 "$work/url")
  for round in 1 2 3; do
    /usr/bin/time -f "skus=$skus round=$round wall=%e s peak_rss=%M KB" \
      "$bin" run --target "$url" --allow-orders --out "$work/out" --state-dir "$work/state-$round" 2>&1 \
      | grep -E '^skus=|required:' | tr '\n' ' '
    echo
  done
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
  : > "$work/url"
done
