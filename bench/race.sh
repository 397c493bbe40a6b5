#!/usr/bin/env bash
# Benchmark (not a test): how often the race oracle catches an oversell. The oracle is the
# builtin `concurrent_preorders` of scenarios/required/orders-stock-concurrent.yaml (check
# `concurrent-preorders`, requirement ORD-LOCK-STOCK): stock of one SKU set to 3 through the admin
# endpoint, 8 one-unit pre-orders sent at once, more than 3 accepted is an oversell.
#
# RUNS times (default 100): start `mallcheck serve --admin --fault no-stock-lock`, run
# `mallcheck run --target URL --allow-orders --scenario order-stock-concurrent` with a fresh out
# and state folder, and read the check's row in report.json: fail = caught, pass = missed, no
# row / skip / blocked / no report = not judged. Then CLEAN_RUNS times (default 20) the same
# against the supplier without fault: a fail there is a false alarm. One markdown table row on
# stdout; progress and the runs that were not caught on stderr.
#
#   bench/race.sh                                # 100 runs + 20 clean, mallcheck built here (release)
#   MALLCHECK=/path/to/mallcheck bench/race.sh 20
#   CLEAN_RUNS=0 SUPPLIER=shared KEEP=1 bench/race.sh 100
#
# SUPPLIER=fresh (default): one supplier process per run. SUPPLIER=shared: one supplier for all
# runs of a loop; the scenario sets the stock through /__admin/stock before each race (set_stock
# makes `num` units available whatever earlier pre-orders still lock) and cancels what was
# accepted, and each run samples its SKU with a new seed. FAULT (default no-stock-lock), SCENARIO
# (default order-stock-concurrent) and SCENARIOS (a folder or file for `run --scenarios`; default:
# the embedded ones) choose what is measured; GUARD (default 120 s) bounds one run.
# Needs: python3, coreutils timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-${RUNS:-100}}
CLEAN_RUNS=${CLEAN_RUNS:-20}
SUPPLIER=${SUPPLIER:-fresh}
FAULT=${FAULT:-no-stock-lock}
SCENARIO=${SCENARIO:-order-stock-concurrent}
GUARD=${GUARD:-120}
CHECK=concurrent-preorders
case "$SUPPLIER" in fresh | shared) ;; *) echo "SUPPLIER must be fresh or shared" >&2; exit 2 ;; esac
case "$RUNS$CLEAN_RUNS" in *[!0-9]*) echo "RUNS and CLEAN_RUNS must be numbers" >&2; exit 2 ;; esac
scenarios_arg=()
if [ -n "${SCENARIOS:-}" ]; then scenarios_arg=(--scenarios "$(realpath "$SCENARIOS")"); fi

if [ -n "${MALLCHECK:-}" ]; then
    bin=$(realpath "$MALLCHECK")
else
    cargo build --release --locked --quiet --bin mallcheck
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/mallcheck")
fi
if ! "$bin" faults | grep -q "^$FAULT "; then
    echo "unknown fault: $FAULT (see mallcheck faults)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mallcheck-race.XXXXXX")
supplier_pid=
run_pid=
cleanup() {
    if [ -n "$run_pid" ]; then
        pkill -TERM -P "$run_pid" 2>/dev/null || true
        kill -TERM "$run_pid" 2>/dev/null || true
    fi
    if [ -n "$supplier_pid" ]; then kill -TERM "$supplier_pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "folders kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export MALLCHECK_USERNAME=tjmall
export MALLCHECK_PASSWORD=tjmall-test
unset MALLCHECK_TARGET MALLCHECK_ENVIRONMENT MALLCHECK_TIMEOUT_SECONDS MALLCHECK_PROFILE

# Starts a supplier (fault $1, or none when empty) logging into folder $2; sets url, supplier_pid.
start_supplier() {
    local fault=$1 dir=$2
    local args=(serve --admin --addr 127.0.0.1:0)
    if [ -n "$fault" ]; then args+=(--fault "$fault"); fi
    mkdir -p "$dir"
    "$bin" "${args[@]}" > "$dir/supplier.out" 2> "$dir/supplier.err" &
    supplier_pid=$!
    url=
    for _ in $(seq 200); do
        url=$(head -1 "$dir/supplier.out" 2>/dev/null || true)
        [ -n "$url" ] && break
        sleep 0.05
    done
    if [ -z "$url" ]; then echo "the supplier did not start" >&2; cat "$dir/supplier.err" >&2; exit 3; fi
}

stop_supplier() {
    if [ -n "$supplier_pid" ]; then
        kill -TERM "$supplier_pid" 2>/dev/null || true
        wait "$supplier_pid" 2>/dev/null || true
        supplier_pid=
    fi
}

# One run in folder $1 against $url; its outcome as one line in $1/outcome.
one_run() {
    local dir=$1
    mkdir -p "$dir"
    echo "# defaults: bench/race.sh" > "$dir/mallcheck.toml"
    local rc=0
    (cd "$dir" && exec timeout -k 10 "$GUARD" "$bin" run --target "$url" --allow-orders \
        "${scenarios_arg[@]}" --scenario "$SCENARIO" --out "$dir/out" --state-dir "$dir/state" \
        > "$dir/run.out" 2> "$dir/run.err") &
    run_pid=$!
    wait "$run_pid" || rc=$?
    run_pid=
    python3 - "$dir" "$rc" "$CHECK" > "$dir/outcome" <<'PY'
import json, os, re, sys

d, rc, check = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(os.path.join(d, "out", "report.json"), encoding="utf-8") as f:
        report = json.load(f)
except (OSError, ValueError) as e:
    print(f"not-judged\trc {rc}, no report.json ({type(e).__name__})\tno-race\t-")
    sys.exit()
rows = [r for r in report.get("results", []) if r.get("check") == check]
statuses = sorted({r.get("status") for r in rows})
# Spread of the race's submits as the harness saw them (start of the first to end of the last).
subs, ok_count = [], 0
try:
    with open(os.path.join(d, "out", "events.jsonl"), encoding="utf-8") as f:
        lines = f.readlines()
except OSError:
    lines = []
for line in lines:
    try:
        e = json.loads(line).get("Exchange")
    except ValueError:
        continue
    if not isinstance(e, dict):
        continue
    params = dict((p[0], p[1]) for p in (e.get("request") or {}).get("params") or [] if len(p) == 2)
    # The race's pre-orders carry yggc_order = <run id>-R<attempt>.
    if e.get("interface") != "submit" or not re.search(r"-R\d+$", str(params.get("yggc_order", ""))):
        continue
    subs.append((e.get("started_at_ms") or 0, e.get("duration_ms") or 0))
    try:
        ok_count += json.loads((e.get("response") or {}).get("body") or "").get("success") is True
    except (ValueError, AttributeError):
        pass
spread = (max(s + t for s, t in subs) - min(s for s, _ in subs)) if subs else "-"
# Accepted pre-orders: from the check's finding, else the race's answers with success true.
accepted = str(ok_count) if subs else "no-race"
for r in rows:
    m = re.search(r"(\d+) accepted", r.get("actual") or "")
    if m:
        accepted = m.group(1)
seed = report.get("scope", {}).get("seed")
if "fail" in statuses:
    kind = "caught"
elif statuses == ["pass"]:
    kind = "missed"
else:
    kind = "not-judged"
note = f"rc {rc}, seed {seed}, rows {statuses or 'none'}, submits {len(subs)}"
if kind != "caught":
    msgs = [r.get("message", "") for r in rows] or [
        f"{s.get('id')}: {s.get('status')} {s.get('note') or ''}" for s in report.get("scenarios", [])
    ]
    note += "; " + " | ".join(m[:200] for m in msgs)
print(f"{kind}\t{note}\t{accepted}\t{spread}")
PY
}

# The loop: $1 runs against fault $2 ("" = clean) under label $3; sets the counts.
loop() {
    local runs=$1 fault=$2 label=$3
    caught=0 missed=0 not_judged=0
    accepted_seen=() spreads=()
    local start end i dir kind note accepted spread
    start=$(date +%s.%N)
    if [ "$SUPPLIER" = shared ] && [ "$runs" -gt 0 ]; then start_supplier "$fault" "$work/$label"; fi
    for i in $(seq "$runs"); do
        dir="$work/$label/run-$i"
        if [ "$SUPPLIER" = fresh ]; then start_supplier "$fault" "$dir"; fi
        one_run "$dir"
        if [ "$SUPPLIER" = fresh ]; then stop_supplier; fi
        IFS=$'\t' read -r kind note accepted spread < "$dir/outcome"
        case "$kind" in
            caught) caught=$((caught + 1)) ;;
            missed) missed=$((missed + 1)) ;;
            *) not_judged=$((not_judged + 1)) ;;
        esac
        accepted_seen+=("$accepted")
        spreads+=("$spread")
        if [ "$kind" != caught ] && [ -n "$fault" ]; then echo "  $label run $i: $kind ($note)" >&2; fi
        if [ "$kind" = caught ] && [ -z "$fault" ]; then echo "  $label run $i: FALSE ALARM ($note)" >&2; fi
        if [ $((i % 10)) -eq 0 ]; then
            if [ -n "$fault" ]; then
                echo "  $label: $i/$runs (caught $caught, missed $missed, not judged $not_judged)" >&2
            else
                echo "  $label: $i/$runs (false alarms $caught, no oversell $missed, not judged $not_judged)" >&2
            fi
        fi
    done
    stop_supplier
    end=$(date +%s.%N)
    wall=$(python3 -c "print(f'{$end - $start:.1f}')")
    # "8×97" = 8 accepted in 97 runs.
    accepted_hist=$(printf '%s\n' "${accepted_seen[@]}" | awk 'NF' | sort -n | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')
    spread_range=$(printf '%s\n' "${spreads[@]}" | awk '/^[0-9]+$/' | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%s–%s ms (median %s)", a[1], a[NR], a[int((NR+1)/2)]; else printf "-"}')
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "mallcheck: $bin ($("$bin" --version 2>/dev/null || echo '?'))" >&2
echo "host: $(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $load_before, $(date -u '+%Y-%m-%d %H:%M UTC'); supplier $SUPPLIER, fault $FAULT, scenario $SCENARIO${SCENARIOS:+ from $SCENARIOS}" >&2

echo "== $RUNS runs against --fault $FAULT" >&2
loop "$RUNS" "$FAULT" fault
f_caught=$caught f_missed=$missed f_nj=$not_judged f_wall=$wall f_acc=$accepted_hist f_spread=$spread_range
echo "== $CLEAN_RUNS runs against the clean supplier" >&2
loop "$CLEAN_RUNS" "" clean
c_false=$caught c_nj=$not_judged c_wall=$wall c_acc=$accepted_hist

echo "| runs | caught | missed | not judged | false alarms (clean) | clean not judged | wall (fault / clean) | accepted (fault; clean) | submit spread (fault) | supplier | host |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
echo "| $RUNS | $f_caught | $f_missed | $f_nj | $c_false / $CLEAN_RUNS | $c_nj | $f_wall s / $c_wall s | ${f_acc:--}; ${c_acc:--} | $f_spread | $SUPPLIER | $(nproc) CPU, load $load_before → $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d') |"
