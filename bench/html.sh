#!/usr/bin/env bash
# How a large run's report.html opens: a run of ~10,000 exchanges (every SKU's detail read, one
# fault so that the page has failures to show), then the size of each file of the folder, and
# the time headless Chromium takes to load the page and draw it (a screenshot, with the first
# failure opened: its evidence is drawn from the JSON in the page), against a minimal page.
#
#   bench/html.sh                  # SKUS=10000
#   SKUS=30000 bench/html.sh
#
# Needs: cargo, chromium (apt-get install chromium), /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
SKUS=${SKUS:-10000}
ROUNDS=${ROUNDS:-3}
cargo build --release --quiet --bin mallcheck
MALLCHECK=$PWD/target/release/mallcheck
CHROMIUM=${CHROMIUM:-$(command -v chromium)}

work=$(mktemp -d)
serve_pid=
trap '[ -n "$serve_pid" ] && kill $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
"$MALLCHECK" serve --admin --skus "$SKUS" --fault price-above-market >"$work/serve.out" 2>/dev/null &
serve_pid=$!
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/serve.out")

export MALLCHECK_USERNAME=tjmall MALLCHECK_PASSWORD=tjmall-test
/usr/bin/time -f "%e s wall, %M KiB peak RSS" -o "$work/time" \
    "$MALLCHECK" run --target "$url" --allow-orders --sample all --seed 1 --out "$work/out" \
    --state-dir "$work/state" >/dev/null 2>&1 || true
exchanges=$(grep -c '^{"Exchange":' "$work/out/events.jsonl")
echo "run: $exchanges exchanges, $(cat "$work/time")"
for f in report.html report.json exchanges.har events.jsonl junit.xml summary.md; do
    printf '  %-14s %8d KiB\n' "$f" $(( $(stat -c %s "$work/out/$f") / 1024 ))
done
/usr/bin/time -f "%e s" -o "$work/render" "$MALLCHECK" report "$work/out" --format html -o "$work/again.html" 2>/dev/null
echo "mallcheck report --format html: $(cat "$work/render")"

echo '<!DOCTYPE html><html><body><p>minimal</p></body></html>' >"$work/minimal.html"
shot() { # file → seconds for chromium to load and draw it
    local start end
    start=$(date +%s.%N)
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" --window-size=1280,1500 \
        --screenshot="$work/shot.png" "file://$1#first-failure" >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "print(round($end - $start, 2))"
}
for round in $(seq "$ROUNDS"); do
    echo "round $round: chromium minimal page $(shot "$work/minimal.html") s, report.html $(shot "$work/out/report.html") s"
done
