#!/usr/bin/env bash
# Runs the harness against the independent JD-style supplier: once clean, once per fault.
# For each case: start jd_supplier.py on port 0, read its URL, run mallcheck, keep its exit code and
# its `required:` verdict line, stop the supplier. Prints a table at the end.
# Then the sweep section: `mallcheck sweep --images all` once clean and once per fault, a
# --partition 1/2 + 2/2 + `sweep merge`, and a --max-skus 20 + --resume, each checked by
# sweep_check.py against what the supplier's own code says is broken. Exits 1 when a sweep
# expectation does not hold (the run section's table has no expectations).
#
# Environment (all optional):
#   MALLCHECK   harness binary            (default target/debug/mallcheck, relative to the repo root)
#   PROFILE     profile folder            (default profiles/jd-style, relative to the repo root)
#   OUT         where reports and logs go (default tests/blackbox/out)
#   SHIP_AFTER  --ship-after of the supplier, seconds (default 5)
#   PYTHON      python interpreter        (default python3)
#   CASES       space-separated subset of cases (default: clean and every fault; none: no run)
#   SWEEP_CASES space-separated subset of sweep cases (default: clean, every fault, partition,
#               resume; none: no sweep)
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

if [ "${CASES:-}" = none ]; then
    cases=()
elif [ -n "${CASES:-}" ]; then
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

if [ "${#cases[@]}" -gt 0 ]; then
    printf '%-30s %-5s %s\n' "case" "exit" "verdict"
    printf '%-30s %-5s %s\n' "----" "----" "-------"
    for i in "${!rows_case[@]}"; do
        printf '%-30s %-5s %s\n' "${rows_case[$i]}" "${rows_rc[$i]}" "${rows_verdict[$i]}"
    done
fi

# ------------------------------------------------------------------------------------------------
# Sweep: the whole catalogue, every SKU judged (sweep_check.py derives what must be unsellable from
# jd_supplier.py itself). Each case gets its folders under $OUT/sweep/.

start_supplier() { # start_supplier LOG [SUPPLIER ARGS]: sets SUP_PID and URL (its first stdout line)
    local log="$1" fd
    shift
    URL=""
    coproc SUP { exec "$PYTHON" "$SUPPLIER" --port 0 --ship-after "$SHIP_AFTER" "$@" 2>"$log"; }
    fd="${SUP[0]:-}"
    # A blocking read of the line the supplier prints once it listens (EOF if it dies first).
    [ -n "$fd" ] && read -r -t 30 -u "$fd" URL
    case "$URL" in http://*) return 0 ;; esac
    URL=""
    return 1
}
run_sweep() { # run_sweep DIR [SWEEP FLAGS]: mallcheck sweep of $URL into DIR (a new folder); sets RC
    local dir="$1"
    shift
    rm -rf "${dir:?}"
    MALLCHECK_USERNAME=jd-user MALLCHECK_PASSWORD=jd-secret "$MALLCHECK" --profile "$PROFILE" sweep \
        --target "$URL" --images all --out "$dir" -q "$@" </dev/null >"$dir.log" 2>&1 &
    MC_PID=$!
    wait "$MC_PID"
    RC=$?
    MC_PID=""
}
check() { # check CASE CHECK-ARGS: sweep_check.py; its problems on stderr, its last line kept
    local case="$1" text
    shift
    text="$("$PYTHON" "$HERE/sweep_check.py" "$@" 2>&1)"
    local rc=$?
    [ -n "$checked" ] && checked+="; "
    checked+="$(tail -n 1 <<<"$text" | sed 's/^ok *//; s/^FAIL *//')"
    if [ "$rc" -ne 0 ]; then
        sed "s/^/sweep $case: /" <<<"$text" >&2
        sweep_failed=$((sweep_failed + 1))
        case_failed=1
    fi
}
seconds() { awk -v a="$1" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }

if [ "${SWEEP_CASES:-}" = none ]; then
    sweep_cases=()
elif [ -n "${SWEEP_CASES:-}" ]; then
    read -r -a sweep_cases <<<"$SWEEP_CASES"
else
    sweep_cases=(clean)
    while IFS=$'\t' read -r name _; do sweep_cases+=("$name"); done < <("$PYTHON" "$SUPPLIER" --list-faults)
    sweep_cases+=(partition resume)
fi
# partition and resume sweep a supplier with these faults: unsellable SKUs in both shares.
SWEEP_FAULTS=(price-above-market missing-brand)

sweep_failed=0
SW="$OUT/sweep"
mkdir -p "$SW"
declare -a srows_case srows_rc srows_time srows_check

for case in "${sweep_cases[@]}"; do
    case "$case" in
        clean) faults=() ;;
        partition | resume) faults=("${SWEEP_FAULTS[@]}") ;;
        *) faults=("$case") ;;
    esac
    fault_args=()
    for f in "${faults[@]}"; do fault_args+=(--fault "$f"); done
    checked=""
    case_failed=0
    if ! start_supplier "$SW/$case.supplier.log" "${fault_args[@]}"; then
        echo "sweep $case: supplier did not start (see $SW/$case.supplier.log)" >&2
        stop_pid "$SUP_PID"; SUP_PID=""
        srows_case+=("$case"); srows_rc+=("-"); srows_time+=("-"); srows_check+=("FAIL supplier did not start")
        sweep_failed=$((sweep_failed + 1))
        continue
    fi
    echo "== sweep $case: $URL" >&2
    t0="${EPOCHREALTIME/,/.}"
    run_sweep "$SW/$case"
    rc_full=$RC
    rcs="$RC"
    case "$case" in
        partition)
            run_sweep "$SW/$case.1of2" --partition 1/2
            rcs+=" $RC"
            run_sweep "$SW/$case.2of2" --partition 2/2
            rcs+=" $RC"
            rm -rf "${SW:?}/$case.merged"
            "$MALLCHECK" --profile "$PROFILE" sweep merge "$SW/$case.1of2" "$SW/$case.2of2" \
                --out "$SW/$case.merged" </dev/null >"$SW/$case.merged.log" 2>&1
            rc_merged=$?
            rcs+=" $rc_merged"
            ;;
        resume)
            run_sweep "$SW/$case.resumed" --max-skus 20
            rc_stopped=$RC
            rcs+=" $RC"
            # what the stopped session left, before --resume adds to it
            check "$case" stopped "$SW/$case.resumed" "$rc_stopped" 20
            run_sweep "$SW/$case.resumed" --resume
            rc_resumed=$RC
            rcs+=" $RC"
            ;;
    esac
    elapsed="$(seconds "$t0")"
    stop_pid "$SUP_PID"; SUP_PID=""

    check "$case" case "$SW/$case" "$rc_full" "${faults[@]}"
    case "$case" in
        partition)
            check "$case" shares "$SW/$case" "$SW/$case.1of2" "$SW/$case.2of2"
            check "$case" same "$SW/$case" "$rc_full" "$SW/$case.merged" "$rc_merged"
            ;;
        resume)
            check "$case" same "$SW/$case" "$rc_full" "$SW/$case.resumed" "$rc_resumed"
            ;;
    esac
    if [ "$case_failed" -eq 0 ]; then checked="ok: $checked"; else checked="FAIL: $checked"; fi
    srows_case+=("$case"); srows_rc+=("$rcs"); srows_time+=("${elapsed}s"); srows_check+=("$checked")
done

if [ "${#sweep_cases[@]}" -gt 0 ]; then
    echo
    printf '%-30s %-9s %-6s %s\n' "sweep case" "exit" "time" "check"
    printf '%-30s %-9s %-6s %s\n' "----------" "----" "----" "-----"
    for i in "${!srows_case[@]}"; do
        printf '%-30s %-9s %-6s %s\n' "${srows_case[$i]}" "${srows_rc[$i]}" "${srows_time[$i]}" "${srows_check[$i]}"
    done
    if [ "$sweep_failed" -gt 0 ]; then
        echo "run.sh: $sweep_failed sweep expectation(s) did not hold (details above, on stderr; folders in $SW)" >&2
        exit 1
    fi
fi
exit 0
