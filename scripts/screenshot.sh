#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium to PNGs, one per language, for looking at the
# page while working on it (and for the README's screenshot). Development only; not run by CI.
#
#   scripts/screenshot.sh [RUN_DIR] [OUT_DIR]
#
# Without RUN_DIR it runs mallcheck against the embedded supplier with one fault first, so the
# page shows a failure. Needs chromium (apt-get install chromium) and a built mallcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
MALLCHECK=${MALLCHECK:-target/release/mallcheck}
[ -x "$MALLCHECK" ] || MALLCHECK=target/debug/mallcheck
[ -x "$MALLCHECK" ] || { echo "build mallcheck first (cargo build --release)" >&2; exit 2; }
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "chromium not found: apt-get install chromium" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RUN_DIR=${1:-}
OUT_DIR=${2:-docs/screenshots}
if [ -z "$RUN_DIR" ]; then
    RUN_DIR="$WORK/run"
    "$MALLCHECK" run --out "$RUN_DIR" --seed 1 --fault price-above-market >/dev/null 2>&1 || true
fi
mkdir -p "$OUT_DIR"
"$MALLCHECK" report "$RUN_DIR" --format html --lang zh -o "$WORK/zh.html" 2>/dev/null
"$MALLCHECK" report "$RUN_DIR" --format html --lang en -o "$WORK/en.html" 2>/dev/null

for lang in zh en; do
    # A closed network: no background connections, a fresh profile, nothing remembered.
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$WORK/profile-$lang" --hide-scrollbars \
        --window-size=1280,1500 --screenshot="$OUT_DIR/report-$lang.png" \
        "file://$WORK/$lang.html#first-failure" >/dev/null 2>&1
    echo "$OUT_DIR/report-$lang.png"
done
