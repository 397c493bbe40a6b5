#!/usr/bin/env bash
# Runs the `judge` fuzz target for a fixed budget and prints what it did:
#   fuzz/run.sh [SECONDS]        (default 60)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Not part of
# CI (stable only): the unit tests of src/fuzzing.rs run the seeds and their mutations there.
# SANITIZER=address turns AddressSanitizer on (mallcheck forbids unsafe code, so it is off by
# default: a panic is what this looks for, and it runs about twice as fast without). Extra
# arguments after SECONDS go to libFuzzer (e.g. -jobs=2).
# Exits non-zero when the run left a crash (or an out-of-memory or timeout input) behind.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
case "$seconds" in
  ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [libFuzzer flags…]" >&2; exit 2 ;;
esac
mkdir -p artifacts/judge corpus/judge regressions/judge
stamp="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$stamp" "$log"' EXIT
# Built first, so that the time below is the fuzzing's own.
cargo +nightly fuzz build --sanitizer "${SANITIZER:-none}" judge || exit 2
started="$(date +%s)"
# The crash inputs of regressions/ are read first with the corpus: a fix that regressed fails at once.
cargo +nightly fuzz run --sanitizer "${SANITIZER:-none}" judge "$PWD/corpus/judge" "$PWD/regressions/judge" -- \
  -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1 \
  -dict="$PWD/judge.dict" "$@" 2>&1 | tee "$log" | grep -vE '^(#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|"|###### )'
status="${PIPESTATUS[0]}"
elapsed="$(( $(date +%s) - started ))"
# libFuzzer's own count; else its last "#N DONE" (or any "#N") status line.
execs="$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')"
if [ -z "$execs" ]; then
  execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
fi
crashes="$(find artifacts/judge -type f -newer "$stamp" | wc -l)"
total="$(find artifacts/judge -type f | wc -l)"
corpus="$(find corpus/judge -type f | wc -l)"
echo "fuzz judge: ${execs:-0} executions in ${elapsed} s (budget ${seconds} s), ${crashes} crashes (${total} in fuzz/artifacts/judge), corpus ${corpus} inputs"
if [ "$crashes" -gt 0 ] || [ "$status" -ne 0 ]; then
  find artifacts/judge -type f -newer "$stamp" | sed 's/^/  new artifact: fuzz\//'
  exit 1
fi
