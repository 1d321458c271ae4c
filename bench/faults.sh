#!/usr/bin/env bash
# bench/faults.sh — what injected faults cost s3io: the same `s3io bench` scenarios clean and
# against a faulty embedded server, side by side.
#
# For each of ROUNDS rounds it runs every scenario twice, once clean and once with
# `--faults seed=N,$FAULTS` (N = SEED + round, so each round meets other faults) and the client
# flags $FAULT_ARGS, the order of the two alternating between rounds because the machine is shared
# and noisy. Each run is its own `s3io bench --json --scenarios ONE` under `timeout`, with its own
# embedded server (started by bench, on loopback) and its own client, so a scenario that fails
# does not take the others with it and no scenario inherits another's retry budget. The bench's
# set-up (writing the test file, uploading the objects a download reads) is not timed; with
# faults, it is retried too.
#
# Output: a markdown table, per scenario and mode, of median wall time and MiB/s over the runs
# that completed, the slowdown against the clean median, retries by reason, requests, connections
# opened and requests on reused connections (each round's figure, `a/b/c`), and the runs that
# completed; then the failed runs with their last error line. Every run's figures also go to a
# JSON-lines file.
#
# Usage:
#   bench/faults.sh                               # 300 MiB, 200 × 1.2 MiB small objects, 3 rounds
#   ROUNDS=5 SIZE=1GiB bench/faults.sh
#   SCENARIOS=small FAULTS="503=0.3" FAULT_ARGS="--max-attempts 3" bench/faults.sh
#
# Settings (environment):
#   ROUNDS=3  SIZE=300MiB  SMALL_COUNT=200  SMALL_SIZE=1.2MiB  SEED=0
#   SCENARIOS="large-upload large-download small"   (names as in `s3io bench --scenarios`)
#   FAULTS="503=0.10,reset=0.05,reset-after=1MiB,stall=0.02,stall-for=5s"   (no seed: SEED + round)
#   FAULT_ARGS="--stall-timeout 1s --max-attempts 8"   client flags of the faulty runs
#   S3IO_ARGS   extra global flags for every run (e.g. "--concurrency 16")
#   TIMEOUT     seconds allowed per run (default 900)
#   RUNS_FILE   where the raw runs go (default: ${TMPDIR:-/tmp}/s3io-faults-DATE.jsonl)
#   S3IO_BIN, NO_BUILD: see bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-3}" SIZE="${SIZE:-300MiB}" SMALL_COUNT="${SMALL_COUNT:-200}" SMALL_SIZE="${SMALL_SIZE:-1.2MiB}"
SEED="${SEED:-0}" TIMEOUT="${TIMEOUT:-900}"
SCENARIOS="${SCENARIOS:-large-upload large-download small}"
FAULTS="${FAULTS:-503=0.10,reset=0.05,reset-after=1MiB,stall=0.02,stall-for=5s}"
FAULT_ARGS="${FAULT_ARGS:---stall-timeout 1s --max-attempts 8}"
S3IO_ARGS="${S3IO_ARGS:-}"
RUNS_FILE="${RUNS_FILE:-${TMPDIR:-/tmp}/s3io-faults-$(date +%Y%m%d-%H%M%S).jsonl}"

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be an unsigned integer"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a positive number of seconds"
[[ "$FAULTS" != *seed=* ]] || die "FAULTS must not set seed= (each round gets SEED + round)"
for s in $SCENARIOS; do
    case $s in large-upload | large-upload-stream | large-download | large-download-stream | small | mixed) ;;
        *) die "unknown scenario: $s" ;;
    esac
done
command -v python3 >/dev/null || die "python3 is needed to read the bench's JSON"

build_s3io
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$RUNS_FILE"

# run SCENARIO MODE ROUND: one `s3io bench` run; appends one JSON line to $RUNS_FILE.
run() {
    local scenario=$1 mode=$2 round=$3 seed=$((SEED + $3)) rc=0
    local out="$work/run.json" err="$work/run.err" spec="" t0 t1
    local -a global=() bench=(bench --json --scenarios "$scenario" --size "$SIZE" --small-count "$SMALL_COUNT"
        --small-size "$SMALL_SIZE" --work-dir "$work")
    # shellcheck disable=SC2206  # the flag strings are word-split on purpose
    global=($S3IO_ARGS)
    if [[ $mode == faults ]]; then
        spec="seed=$seed,$FAULTS"
        # shellcheck disable=SC2206
        global+=($FAULT_ARGS)
        bench+=(--faults "$spec")
    fi
    t0="$(date +%s%N)"
    timeout -k 10 "$TIMEOUT" "$S3IO" "${global[@]}" "${bench[@]}" >"$out" 2>"$err" || rc=$?
    t1="$(date +%s%N)"
    local error=""
    if [[ $rc -ne 0 ]]; then
        case $rc in 124 | 137) error="timed out after ${TIMEOUT}s" ;; *) error="exit $rc: $(grep -v '^\s*$' "$err" | tail -n 1 | cut -c1-300)" ;; esac
    fi
    python3 - "$out" "$scenario" "$mode" "$round" "$spec" "$rc" "$error" "$(((t1 - t0) / 1000000))" >>"$RUNS_FILE" <<'PY'
import json, sys
path, scenario, mode, round_, spec, rc, error, process_ms = sys.argv[1:]
record = {"case": scenario, "scenario": scenario, "mode": mode, "round": int(round_), "faults": spec or None,
          "ok": rc == "0", "error": error or None, "process_seconds": int(process_ms) / 1000}
if rc == "0":
    try:
        result = json.load(open(path))[0]
        result.pop("throughput", None)
        record.update({k: v for k, v in result.items() if k not in record or k == "scenario"})
    except (ValueError, IndexError, KeyError) as e:
        record.update(ok=False, error=f"unreadable bench JSON: {e}")
print(json.dumps(record))
PY
    python3 - "$RUNS_FILE" <<'PY' >&2
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
if r["ok"]:
    reasons = ", ".join(f"{n} {k}" for k, n in r["retries_by_reason"].items()) or "none"
    print(f"  {r['case']:<15} {r['mode']:<6} round {r['round']}: {r['seconds']:7.2f} s {r['mib_per_second']:7.1f} MiB/s"
          f"  retries: {reasons}; conns {r['connections_opened']} opened, {r['connections_reused']} reused")
else:
    print(f"  {r['case']:<15} {r['mode']:<6} round {r['round']}: FAILED ({r['error']})")
PY
}

log "s3io $S3IO_REV: $ROUNDS rounds of $SCENARIOS, clean and with faults $FAULTS ($FAULT_ARGS)"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then modes=(clean faults); else modes=(faults clean); fi
    for scenario in $SCENARIOS; do
        for mode in "${modes[@]}"; do
            run "$scenario" "$mode" "$r"
        done
    done
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- table -----------------------------------------------------------------------------------
echo
echo "s3io bench/faults.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), s3io $("$S3IO" --version | awk '{print $2}') ($S3IO_REV), $(nproc) cores, $(uname -r), loopback"
echo "large object $SIZE; small: $SMALL_COUNT × $SMALL_SIZE; $ROUNDS rounds, clean and faults alternating; medians over completed runs"
echo "faults: seed=$SEED+round,$FAULTS; client flags with faults: $FAULT_ARGS${S3IO_ARGS:+; every run: $S3IO_ARGS}"
echo "load average at start: $load_start; at end: $load_end"
echo
python3 - "$RUNS_FILE" "$ROUNDS" "$SCENARIOS" <<'PY'
import json, statistics, sys
path, rounds, order = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
runs = [json.loads(line) for line in open(path) if line.strip()]

def median(values):
    return statistics.median(values) if values else None

def per_round(rs, get):
    """Each round's figure, `a/b/c`, `-` for a run that failed."""
    by_round = {r["round"]: r for r in rs}
    return "/".join(str(get(by_round[i])) if by_round.get(i, {}).get("ok") else "-" for i in range(1, rounds + 1))

print("| scenario | mode | median wall s | median MiB/s | slowdown vs clean | retries by reason (per round) | requests (per round) | conns opened (per round) | reused (per round) | ok runs |")
print("|---|---|---:|---:|---:|---|---|---|---|---:|")
failed = []
for scenario in order:
    clean_wall = None
    for mode in ("clean", "faults"):
        rs = [r for r in runs if r["case"] == scenario and r["mode"] == mode]
        ok = [r for r in rs if r["ok"]]
        failed += [r for r in rs if not r["ok"]]
        name = ok[0]["scenario"] if ok else scenario
        wall = median([r["seconds"] for r in ok])
        mibs = median([r["mib_per_second"] for r in ok])
        if mode == "clean":
            clean_wall = wall
        slowdown = "-" if mode == "clean" or wall is None or not clean_wall else f"{wall / clean_wall:.2f}×"
        reasons = sorted({k for r in ok for k in r["retries_by_reason"]})
        retries = ", ".join(f"{k} {per_round(rs, lambda r, k=k: r['retries_by_reason'].get(k, 0))}" for k in reasons) or "none"
        print(f"| {name} | {mode} | {'-' if wall is None else f'{wall:.2f}'} | {'-' if mibs is None else f'{mibs:.0f}'} | {slowdown} "
              f"| {retries} | {per_round(rs, lambda r: r['requests'])} | {per_round(rs, lambda r: r['connections_opened'])} "
              f"| {per_round(rs, lambda r: r['connections_reused'])} | {len(ok)}/{len(rs)} |")
print()
print("wall = the timed part of the scenario (set-up excluded); retries: the client's counters by reason (throttled = 503")
print("SlowDown, transport = reset connections, timeout = stalled bodies or headers); reused = requests sent on a")
print("connection already open (requests − connections opened).")
if failed:
    print()
    print("failed runs:")
    for r in failed:
        print(f"  {r['case']} {r['mode']} round {r['round']}{' (' + r['faults'] + ')' if r['faults'] else ''}: {r['error']}")
PY
echo
echo "raw runs: $RUNS_FILE"
