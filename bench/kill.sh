#!/usr/bin/env bash
# Benchmark (not a test): nothing left open after a kill. Against `mallcheck serve --admin` with
# every pre-order answer held (default 300 ms), start `mallcheck run --tag orders` TRIES times and
# SIGKILL it at a random moment (0.3–3 s in), then run `mallcheck cleanup` once, and count the
# orders the supplier itself still holds as pre-ordered (`/__admin/orders`, phase "submitted").
# SIGNAL=TERM sends SIGTERM instead (then no cleanup is needed: the run closes its own orders).
# Each run also closes, before it starts, what the run killed before it left open.
#
#   bench/kill.sh                  # 10 tries, SIGKILL
#   TRIES=20 SIGNAL=TERM bench/kill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TRIES=${TRIES:-10}
SIGNAL=${SIGNAL:-KILL}
DELAY_MS=${DELAY_MS:-300}
if [ -n "${MALLCHECK:-}" ]; then bin=$(realpath "$MALLCHECK"); else
    cargo build --release --locked --quiet --bin mallcheck
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/mallcheck")
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mallcheck-kill.XXXXXX")
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
export MALLCHECK_USERNAME=tjmall MALLCHECK_PASSWORD=tjmall-test
"$bin" serve --admin --submit-delay-ms "$DELAY_MS" > "$work/url" 2>/dev/null &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(head -1 "$work/url")
open_orders() {
    curl -s -X POST "$url/__admin/orders" | python3 -c 'import json,sys; print(sum(o["phase"]=="submitted" for o in json.load(sys.stdin)["result"]))'
}
cd "$work"
for i in $(seq "$TRIES"); do
    "$bin" run --target "$url" --allow-orders --tag orders --out "out$i" > /dev/null 2>&1 &
    pid=$!
    sleep "$(python3 -c "import random; print(round(random.uniform(0.3, 3.0), 2))")"
    kill -s "$SIGNAL" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
left=$(open_orders)
submits=$(grep -c '"event":"submit"' .mallcheck/ledger.jsonl || true)
cleanup="-"
if [ "$left" != 0 ] || [ "$SIGNAL" = KILL ]; then
    "$bin" cleanup --target "$url" > cleanup.txt 2>&1 || true
    cleanup=$(open_orders)
fi
echo "| $TRIES × SIG$SIGNAL | $submits pre-orders sent | $left open after the runs | $cleanup open after cleanup | $(head -1 cleanup.txt 2>/dev/null | sed 's/.*: //' || echo -) |"
