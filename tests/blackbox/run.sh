#!/usr/bin/env bash
# Runs the harness against the independent JD-style supplier: once clean, once per fault.
# For each case: start jd_supplier.py on port 0, read its URL, run mallcheck, keep its exit code and
# its `required:` verdict line, stop the supplier. Prints a table at the end.
#
# Environment (all optional):
#   MALLCHECK   harness binary            (default target/debug/mallcheck, relative to the repo root)
#   PROFILE     profile folder            (default profiles/jd-style, relative to the repo root)
#   OUT         where reports and logs go (default tests/blackbox/out)
#   SHIP_AFTER  --ship-after of the supplier, seconds (default 5)
#   PYTHON      python interpreter        (default python3)
#   CASES       space-separated subset of cases (default: clean and every fault)
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT" || exit 2

MALLCHECK="${MALLCHECK:-target/debug/mallcheck}"
PROFILE="${PROFILE:-profiles/jd-style}"
OUT="${OUT:-$HERE/out}"
SHIP_AFTER="${SHIP_AFTER:-5}"
PYTHON="${PYTHON:-python3}"
SUPPLIER="$HERE/jd_supplier.py"

SUP_PID=""
MC_PID=""
stop_pid() { # stop one process we started, by its id
    local pid="$1"
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() { stop_pid "$MC_PID"; MC_PID=""; stop_pid "$SUP_PID"; SUP_PID=""; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP

if [ ! -x "$MALLCHECK" ]; then
    echo "run.sh: harness binary not found: $MALLCHECK (build it with cargo build, or set MALLCHECK)" >&2
    exit 2
fi
[ -d "$PROFILE" ] || echo "run.sh: warning: profile folder not found: $PROFILE (running anyway)" >&2

if [ -n "${CASES:-}" ]; then
    read -r -a cases <<<"$CASES"
else
    cases=(clean)
    while IFS=$'\t' read -r name _; do cases+=("$name"); done < <("$PYTHON" "$SUPPLIER" --list-faults)
fi

mkdir -p "$OUT"
declare -a rows_case rows_rc rows_verdict

for case in "${cases[@]}"; do
    fault_args=()
    [ "$case" = clean ] || fault_args=(--fault "$case")
    rm -rf "${OUT:?}/$case" "$OUT/$case.state"
    sup_log="$OUT/$case.supplier.log"
    mc_log="$OUT/$case.mallcheck.log"
    url_file="$OUT/$case.url"
    : >"$url_file"

    "$PYTHON" "$SUPPLIER" --port 0 --ship-after "$SHIP_AFTER" "${fault_args[@]}" >"$url_file" 2>"$sup_log" &
    SUP_PID=$!
    URL=""
    for _ in $(seq 1 100); do
        URL="$(head -n 1 "$url_file" 2>/dev/null)"
        [ -n "$URL" ] && break
        kill -0 "$SUP_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$URL" ]; then
        rows_case+=("$case"); rows_rc+=("-"); rows_verdict+=("supplier did not start (see $sup_log)")
        stop_pid "$SUP_PID"; SUP_PID=""
        continue
    fi
    echo "== $case: $URL" >&2

    MALLCHECK_USERNAME=jd-user MALLCHECK_PASSWORD=jd-secret "$MALLCHECK" --profile "$PROFILE" run \
        --target "$URL" --allow-orders --out "$OUT/$case" --state-dir "$OUT/$case.state" \
        </dev/null >"$mc_log" 2>&1 &
    MC_PID=$!
    wait "$MC_PID"
    rc=$?
    MC_PID=""

    stop_pid "$SUP_PID"; SUP_PID=""

    verdict="$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$mc_log" | grep -m 1 'required:' | sed 's/^[[:space:]]*//')"
    [ -n "$verdict" ] || verdict="(no 'required:' line; see $mc_log)"
    rows_case+=("$case"); rows_rc+=("$rc"); rows_verdict+=("$verdict")
done

printf '%-30s %-5s %s\n' "case" "exit" "verdict"
printf '%-30s %-5s %s\n' "----" "----" "-------"
for i in "${!rows_case[@]}"; do
    printf '%-30s %-5s %s\n' "${rows_case[$i]}" "${rows_rc[$i]}" "${rows_verdict[$i]}"
done
