#!/usr/bin/env bash
# Benchmark (not a test): how `mallcheck run`, with its default settings, holds up against hostile
# suppliers (bench/hostile_supplier.py). For each mode: start the supplier, run
# `mallcheck run --target URL --out DIR` in a fresh folder (an empty mallcheck.toml, credentials
# from MALLCHECK_USERNAME / MALLCHECK_PASSWORD), and measure with GNU time the peak RSS and wall
# time of the run, its exit code, the size of the out folder and of report.json; look for every
# secret the supplier saw (password, its md5, the signs, the token; plain, upper/lower case,
# URL-encoded, JSON-escaped) in the out folder and the terminal output; count token calls.
# One markdown table row per mode on stdout; progress on stderr.
#
#   bench/bounds.sh                              # every mode, mallcheck built here (release)
#   MALLCHECK=/path/to/mallcheck bench/bounds.sh drip echo
#   GUARD=300 KEEP=1 bench/bounds.sh big-images  # guard per run (default 600 s); keep the folders
#
# A run still going after GUARD seconds gets SIGTERM (SIGKILL 10 s later) and shows as "hung".
# Needs: python3, GNU time (/usr/bin/time; apt-get install -y time), coreutils timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

ALL_MODES=(big-valid big-images many-items million-skus never-answers drip slow-status
    endless-chunked drip-all slow-status-all endless-chunked-all echo redirect-loop reset
    expired-token)
GUARD=${GUARD:-600}
if [ $# -gt 0 ]; then modes=("$@"); else modes=("${ALL_MODES[@]}"); fi
for mode in "${modes[@]}"; do
    case " ${ALL_MODES[*]} " in *" $mode "*) ;; *) echo "unknown mode: $mode (modes: ${ALL_MODES[*]})" >&2; exit 2 ;; esac
done
if [ ! -x /usr/bin/time ]; then
    echo "GNU time is missing: apt-get install -y time" >&2
    exit 2
fi

if [ -n "${MALLCHECK:-}" ]; then
    bin=$(realpath "$MALLCHECK")
else
    cargo build --release --locked --quiet --bin mallcheck
    bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/mallcheck")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mallcheck-bounds.XXXXXX")
supplier_pid=
run_pid=
cleanup() {
    # The run: GNU time -> timeout -> mallcheck; timeout passes SIGTERM on to mallcheck.
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

# Credentials with characters that URL-encoding and JSON escaping change.
export MALLCHECK_USERNAME=bench-user
export MALLCHECK_PASSWORD='Bench-Pa55/w0rd+secret'
unset MALLCHECK_TARGET MALLCHECK_ENVIRONMENT MALLCHECK_TIMEOUT_SECONDS

echo "mallcheck: $bin ($("$bin" --version 2>/dev/null || echo '?'))" >&2
echo "host: $(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC'), guard ${GUARD} s" >&2
echo "| mode | peak RSS MiB | wall s | exit | out folder | report.json | notes |"
echo "|---|---|---|---|---|---|---|"

# One measured run of one mode in $dir; sets supplier_died when the supplier was gone before
# the run ended (killed from outside: the figures of that run mean nothing).
measure() {
    local mode=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "# defaults: bench/bounds.sh measures them" > "$dir/mallcheck.toml"
    python3 "$repo/bench/hostile_supplier.py" --mode "$mode" --port 0 --log "$dir/supplier.log" \
        > "$dir/supplier.out" 2> "$dir/supplier.err" &
    supplier_pid=$!
    for _ in $(seq 200); do [ -s "$dir/supplier.out" ] && break; sleep 0.1; done
    url=$(awk 'NR == 1 {print $2}' "$dir/supplier.out")
    if [ -z "$url" ]; then echo "supplier $mode did not start" >&2; cat "$dir/supplier.err" >&2; exit 3; fi
    echo "== $mode: $url" >&2

    (cd "$dir" && exec /usr/bin/time -v -o "$dir/time.txt" timeout -k 10 "$GUARD" \
        "$bin" run --target "$url" --out "$dir/out" > "$dir/run.out" 2> "$dir/run.err") &
    run_pid=$!
    rc=0
    wait "$run_pid" || rc=$?
    run_pid=

    supplier_died=
    grep VmHWM "/proc/$supplier_pid/status" > "$dir/supplier.hwm" 2>/dev/null || supplier_died=1
    kill -TERM "$supplier_pid" 2>/dev/null || true
    wait "$supplier_pid" 2>/dev/null || true
    supplier_pid=
    echo "$rc" > "$dir/rc"
}

for mode in "${modes[@]}"; do
    dir="$work/$mode"
    measure "$mode" "$dir"
    if [ -n "$supplier_died" ]; then
        echo "the supplier of $mode was gone before the run ended ($(tail -1 "$dir/supplier.err")): measuring again" >&2
        mv "$dir" "$dir.supplier-died"
        measure "$mode" "$dir"
    fi
    rc=$(cat "$dir/rc")
    SUPPLIER_DIED=$supplier_died python3 - "$mode" "$dir" "$rc" "$GUARD" <<'PY'
import hashlib, json, os, re, sys, urllib.parse

mode, d, rc, guard = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
password = os.environ["MALLCHECK_PASSWORD"]

def read(name):
    try:
        with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""

def size(n):
    if n is None:
        return "none"
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"

timing = read("time.txt")
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing)
rss = f"{int(m.group(1)) / 1024:.0f}" if m else "?"
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", timing)
wall = 0.0
if m:
    for part in m.group(1).split(":"):
        wall = wall * 60 + float(part)
hung = rc in (124, 137)
wall_text = f"> {guard} (hung)" if hung else f"{wall:.1f}"

out = os.path.join(d, "out")
files = [os.path.join(root, f) for root, _, names in os.walk(out) for f in names]
out_size = sum(os.path.getsize(f) for f in files) if os.path.isdir(out) else None
report = os.path.join(out, "report.json")
report_size = os.path.getsize(report) if os.path.exists(report) else None

# What the supplier saw.
requests = []
for line in read("supplier.log").splitlines():
    try:
        requests.append(json.loads(line))
    except ValueError:
        pass

notes = []
if os.environ.get("SUPPLIER_DIED"):
    notes.append("INVALID: the supplier was killed from outside during the run, twice")
if hung:
    # Still calling when killed (one timeout after another) or stuck on one call?
    last = requests[-1]["t"] - requests[0]["t"] if requests else 0
    notes.append(f"hung: killed by the guard after {guard} s, last request {last:.0f} s after the first")
if report_size is not None and report_size < 200 * 1024 * 1024:
    try:
        with open(report, encoding="utf-8") as f:
            verdict = json.load(f).get("verdict", {})
        notes.append(f"required {verdict.get('required')}, optional {verdict.get('optional')}")
    except (OSError, ValueError) as e:
        notes.append(f"report.json unreadable ({type(e).__name__})")
terminal = read("run.err") + read("run.out")
if not any(n.startswith("required ") for n in notes):
    # A report too big to read here: the verdict line of the terminal.
    m = re.search(r"required: .*?([A-Z_]{3,}).*?optional: .*?([A-Z_]{3,})", terminal)
    if m:
        notes.append(f"required {m.group(1).lower()}, optional {m.group(2).lower()} (terminal)")
if "panicked" in terminal:
    notes.append("PANIC: " + next(l for l in terminal.splitlines() if "panicked" in l)[:160])
for line in terminal.splitlines()[-40:]:
    if "memory allocation" in line or "Killed" in line:
        notes.append(line.strip()[:160])

token_calls = sum(1 for r in requests if r["path"].endswith("/access_token"))
images = sum(1 for r in requests if r["path"].startswith("/img/"))
notes.append(f"{len(requests)} requests")
if mode == "expired-token" or token_calls > 2:
    notes.append(f"token calls {token_calls}")
if images:
    notes.append(f"image GETs {images}")
summary = read("supplier.err")
m = re.search(r"bytes_sent=(\d+)", summary)
if m and int(m.group(1)) > 64 * 1024 * 1024:
    notes.append(f"supplier sent {size(int(m.group(1)))}")
m = re.search(r"VmHWM:\s+(\d+)", read("supplier.hwm"))
supplier_hwm = int(m.group(1)) // 1024 if m else None

# Secrets: the password and its md5 (plain text never travels), every password, sign and token
# value the supplier saw; each plain, URL-encoded (two ways), form-encoded and JSON-escaped,
# looked for without regard to case (so upper and lower case are covered).
secrets = {"password": password, "password md5": hashlib.md5(password.encode()).hexdigest()}
for r in requests:
    for field in ("password", "sign", "token", "access_token"):
        v = r.get("form", {}).get(field)
        if v and len(v) >= 6:
            secrets.setdefault(f"{field} {v[:6]}…", v)
forms = {}
for label, s in secrets.items():
    for how, f in (("plain", s), ("url", urllib.parse.quote(s, safe="")),
                   ("url/", urllib.parse.quote(s, safe="/")), ("form", urllib.parse.quote_plus(s)),
                   ("json", json.dumps(s)[1:-1].replace("/", "\\/"))):
        forms.setdefault(f.lower().encode(), f"{label} ({how})")
longest = max(len(f) for f in forms)

def leaks(paths):
    found = {}
    for p in paths:
        try:
            with open(p, "rb") as fh:
                tail = b""
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        break
                    hay = (tail + chunk).lower()
                    for f, label in forms.items():
                        if f in hay:
                            found.setdefault(label, set()).add(os.path.relpath(p, d))
                    tail = hay[-longest:]
        except OSError:
            pass
    return found

in_out = leaks(files)
in_terminal = leaks([os.path.join(d, "run.err"), os.path.join(d, "run.out")])
if in_out or in_terminal:
    for where, found in (("out/", in_out), ("terminal", in_terminal)):
        for label, paths in sorted(found.items()):
            notes.append(f"LEAK in {where}: {label} in {', '.join(sorted(paths))}")
elif mode == "echo":
    notes.append(f"no secret in out/ or terminal ({len(secrets)} secrets, {len(forms)} forms)")
if supplier_hwm is not None and supplier_hwm > 100:
    notes.append(f"supplier RSS {supplier_hwm} MiB")

print(f"| {mode} | {rss} | {wall_text} | {rc} | {size(out_size)} | {size(report_size)} | "
      + "; ".join(notes) + " |", flush=True)
PY
done
