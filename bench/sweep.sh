#!/usr/bin/env bash
# Benchmark (not a test) of `mallcheck sweep` against the reference supplier on loopback, in one
# run: mallcheck's SKUs/s and peak RSS (GNU time), the ceiling (wrk sending the same detail and
# batch requests at the same concurrency), and the same sweep as a plain Python script
# (bench/sweep.py, stdlib, 8 threads). Then the peak RSS of a sweep of 1 000 000 SKUs.
#
#   bench/sweep.sh                       # 100 000 SKUs, --jobs 16, then 1 000 000
#   SKUS=20000 JOBS=8 MILLION=0 bench/sweep.sh
#   PERF=1 bench/sweep.sh                # also `perf record` the sweep (perf report after)
#
# Needs: wrk (apt-get install -y wrk), GNU time (apt-get install -y time), python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
SKUS=${SKUS:-100000}
JOBS=${JOBS:-16}
MILLION=${MILLION:-1}
DURATION=${DURATION:-10}
for tool in wrk /usr/bin/time python3 curl; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
if [ -n "${MALLCHECK:-}" ]; then
    bin=$(realpath "$MALLCHECK")
else
    cargo build --release --locked --quiet --bin mallcheck
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/mallcheck")
fi
work=$(mktemp -d)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
export MALLCHECK_USERNAME=tjmall MALLCHECK_PASSWORD=tjmall-test

start_serve() {
    "$bin" serve --skus "$1" > "$work/serve.out" 2>/dev/null &
    serve_pid=$!
    for _ in $(seq 100); do
        url=$(head -n1 "$work/serve.out" 2>/dev/null || true)
        [ -n "$url" ] && break
        sleep 0.1
    done
}

# mallcheck sweep: SKUs/s from its summary, peak RSS from GNU time.
sweep() { # skus images label
    local out="$work/sweep-$3"
    (cd "$work" && /usr/bin/time -v "$bin" sweep --target "$url" --out "$out" --jobs "$JOBS" \
        --images "$2" --quiet 2> "$work/time-$3.txt" || true)
    python3 - "$out/sweep.json" "$work/time-$3.txt" "$3" "$1" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", t).group(1)
cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
print(f"| mallcheck sweep ({sys.argv[3]}) | {s['skus']['swept']} | {s['skus_per_second']:.0f} SKU/s "
      f"({s['requests'] / s['elapsed_seconds']:.0f} req/s) | {rss / 1024:.1f} MiB | {wall} | "
      f"unsellable {s['skus']['unsellable']}, not judged {s['skus']['not_judged']}, retries {s['retries']}, "
      f"CPU {cpu:.1f} s = {cpu * 1e6 / max(s['skus']['swept'], 1):.0f} µs/SKU |")
PY
}

start_serve "$SKUS"
echo "supplier: $url ($SKUS SKUs)" >&2
# A token and the first SKUs, for wrk.
read -r token skus <<<"$(python3 - "$url" <<'PY'
import hashlib, json, sys, urllib.request, urllib.parse
from datetime import datetime, timedelta, timezone
base = sys.argv[1]
pw = hashlib.md5(b"tjmall-test").hexdigest()
ts = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
sign = hashlib.md5(("tjmall" + pw + ts + pw).encode()).hexdigest()
def post(path, **p):
    return json.load(urllib.request.urlopen(base + path, urllib.parse.urlencode(p).encode()))
token = post("/api/auth2/access_token", username="tjmall", password=pw, timestamp=ts, sign=sign)["result"]["access_token"]
skus = post("/api/product/skus", token=token, catalog_id="A0101")["result"][:100]
print(token, ",".join(skus))
PY
)"
first=${skus%%,*}
echo "| what | SKUs | rate | peak RSS | wall | notes |"
echo "|---|---|---|---|---|---|"
sweep "$SKUS" none "images none"
sweep "$SKUS" sample "images sample"
# The ceiling: wrk at the same concurrency on the same requests.
wrk_rate() { # path body
    BODY="$2" wrk -t2 -c"$JOBS" -d"${DURATION}s" -s bench/post.lua "$url$1" 2>/dev/null \
        | awk '/Requests\/sec/ {print $2}'
}
detail=$(wrk_rate /api/product/detail "token=$token&sku=$first")
batch=$(wrk_rate /api/product/prices "token=$token&sku=$skus")
# A SKU costs one detail call and 1/100 of each of the three batch calls of --images none (prices,
# shelf states, images; stock too when the area is found: four).
ceiling=$(python3 -c "print(round(1 / (1 / $detail + 4 / (100 * $batch))))")
echo "| wrk, detail (1 SKU) | – | $detail req/s | – | ${DURATION} s | -c $JOBS -t 2 |"
echo "| wrk, prices (100 SKUs) | – | $batch req/s | – | ${DURATION} s | -c $JOBS -t 2 |"
echo "| ceiling: 1 detail + 4/100 batch per SKU | – | $ceiling SKU/s | – | – | from the two wrk rates |"
python_line=$(python3 bench/sweep.py "$url" --threads 8)
python3 - "$python_line" <<'PY'
import json, sys
p = json.loads(sys.argv[1])
print(f"| bench/sweep.py (Python, 8 threads) | {p['skus']} | {p['skus_per_second']:.0f} SKU/s | – | {p['seconds']} s | unsellable {p['unsellable']} |")
PY
if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    (cd "$work" && perf record -g -o "$repo/perf.sweep.data" "$bin" sweep --target "$url" \
        --out "$work/perf" --jobs "$JOBS" --images none --quiet 2>/dev/null || true)
    echo "perf data: $repo/perf.sweep.data (perf report -i perf.sweep.data --no-children)" >&2
fi
kill $serve_pid; wait $serve_pid 2>/dev/null || true
if [ "$MILLION" = 1 ]; then
    start_serve 1000000
    sweep 1000000 none "1 000 000 SKUs, images none"
    kill $serve_pid; wait $serve_pid 2>/dev/null || true
fi
