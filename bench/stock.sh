#!/usr/bin/env bash
# Loads the stocks interface of `mallcheck serve` (release build) and a minimal axum handler
# returning a fixed body of the same size (examples/bench_fixed.rs), one after the other in one
# run, with wrk: POST, form body with a token and a 20-SKU batch.
#
#   bench/stock.sh                      # defaults: 3 rounds of 10 s per target, 2 threads, 32 connections
#   DURATION=30s CONNECTIONS=64 bench/stock.sh
#
# Needs: cargo, wrk (apt-get install -y wrk), curl, md5sum, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
SKUS=${SKUS:-1000000}
ROUNDS=${ROUNDS:-3}

cargo build --release --quiet --bin mallcheck --example bench_fixed

workdir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$workdir"
}
trap cleanup EXIT

# Starts a server printing its base URL as the first stdout line; echoes that URL.
start() {
    local out="$workdir/$1.out"
    shift
    "$@" >"$out" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 100); do
        if [ -s "$out" ]; then head -1 "$out"; return; fi
        sleep 0.1
    done
    echo "server did not start: $*" >&2
    exit 3
}

supplier=$(start supplier target/release/mallcheck serve --skus "$SKUS")
fixed=$(start fixed target/release/examples/bench_fixed)

password=$(printf '%s' tjmall-test | md5sum | cut -d' ' -f1)
timestamp=$(TZ=Asia/Shanghai date '+%Y-%m-%d %H:%M:%S')
sign=$(printf '%s' "tjmall${password}${timestamp}${password}" | md5sum | cut -d' ' -f1)
token=$(curl -s -X POST "$supplier/api/auth2/access_token" \
    --data-urlencode username=tjmall --data-urlencode password="$password" \
    --data-urlencode "timestamp=$timestamp" --data-urlencode sign="$sign" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["access_token"])')
batch=$(curl -s -X POST "$supplier/api/product/skus" -d token="$token" -d catalog_id=A0101 |
    python3 -c 'import json,sys; print("%2C".join(json.load(sys.stdin)["result"][:20]))')
export BODY="token=$token&sku=$batch&area_id=120101"

check=$(curl -s -X POST "$supplier/api/product/stocks" --data "$BODY" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["success"], len(d["result"]))')
echo "stocks answer: success, SKUs = $check"

run() {
    echo "== $2"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/post.lua "$3" | tee "$workdir/$1.wrk"
    awk '/Requests\/sec/ {print $2}' "$workdir/$1.wrk" >>"$workdir/$1.rates"
}
# Alternate the two targets so that load from other processes hits both alike.
for round in $(seq "$ROUNDS"); do
    echo "### round $round of $ROUNDS"
    run supplier "mallcheck serve: stocks, 20 SKUs, $SKUS-SKU catalogue" "$supplier/api/product/stocks"
    run fixed "minimal axum handler: fixed body of the same size" "$fixed/"
done

median() { sort -n "$workdir/$1.rates" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
python3 -c "s, f = float('$(median supplier)'), float('$(median fixed)'); print(f'median requests/s over $ROUNDS rounds: supplier {s:.0f}, fixed {f:.0f}, ratio {s / f:.2f}')"
