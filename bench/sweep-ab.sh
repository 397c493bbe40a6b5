#!/usr/bin/env bash
# Benchmark (not a test): the CPU a sweep spends per SKU, for one or more mallcheck binaries side
# by side. One `serve --skus SKUS` (of the first binary) on loopback; each binary sweeps it in turn
# (`--images none --jobs 16`), ROUNDS times, alternating, so that load from other processes falls
# on all alike. Per sweep: SKU/s, CPU (user + system, GNU time) and µs of CPU per SKU, peak RSS.
# With CALLGRIND=1, also each binary's instruction count (valgrind --tool=callgrind: the same
# from run to run, whatever the load) for a sweep of CG_SKUS SKUs, and per SKU from the
# difference with a sweep of 200 SKUs.
#
#   bench/sweep-ab.sh OLD_BIN NEW_BIN
#   SKUS=20000 ROUNDS=5 bench/sweep-ab.sh target/release/mallcheck
#   CALLGRIND=1 CG_SKUS=10000 bench/sweep-ab.sh OLD_BIN NEW_BIN
#
# Needs: GNU time (apt-get install -y time), python3; valgrind with CALLGRIND=1.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 MALLCHECK_BIN..." >&2; exit 2; }
SKUS=${SKUS:-100000}
ROUNDS=${ROUNDS:-3}
CG_SKUS=${CG_SKUS:-10000}
work=$(mktemp -d)
serve_pid=
trap '[ -n "$serve_pid" ] && kill $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
export MALLCHECK_USERNAME=tjmall MALLCHECK_PASSWORD=tjmall-test

start_serve() { # skus
    "$1" serve --skus "$2" > "$work/serve.out" 2>/dev/null &
    serve_pid=$!
    url=
    for _ in $(seq 300); do
        url=$(head -n1 "$work/serve.out" 2>/dev/null || true)
        [ -n "$url" ] && break
        sleep 0.1
    done
}
stop_serve() {
    kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
}

start_serve "$1" "$SKUS"
echo "supplier: $url ($SKUS SKUs)" >&2
echo "| binary | round | rate | CPU | CPU per SKU | peak RSS |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        out="$work/out-$round"
        /usr/bin/time -v "$bin" sweep --target "$url" --out "$out" --jobs 16 --images none \
            --quiet 2> "$work/time.txt" > /dev/null || true
        python3 - "$out/sweep.json" "$work/time.txt" "$bin" "$round" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
user, system = (float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
n = max(s["skus"]["swept"], 1)
print(f"| {sys.argv[3]} | {sys.argv[4]} | {s['skus_per_second']:.0f} SKU/s | user {user:.2f} s + sys {system:.2f} s "
      f"| {(user + system) * 1e6 / n:.1f} µs | {rss / 1024:.1f} MiB |")
PY
        rm -rf "$out"
    done
done
stop_serve

if [ "${CALLGRIND:-0}" = 1 ]; then
    echo
    echo "| binary | instructions, $CG_SKUS SKUs | instructions, 200 SKUs | per SKU |"
    echo "|---|---|---|---|"
    for bin in "$@"; do
        counts=()
        for skus in "$CG_SKUS" 200; do
            start_serve "$bin" "$skus"
            valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" sweep \
                --target "$url" --out "$work/cg" --jobs 16 --images none --quiet \
                > /dev/null 2> "$work/vg.txt" || true
            stop_serve
            counts+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/vg.txt")")
            rm -rf "$work/cg"
        done
        python3 -c "a, b = $((counts[0])), $((counts[1])); print(f'| $bin | {a:,} | {b:,} | {(a - b) / ($CG_SKUS - 200):,.0f} |')"
    done
fi
