#!/usr/bin/env bash
# bench/network.sh — s3io on emulated networks: `s3io bench --network` at defaults and at fixed
# concurrencies, side by side, so the default can be held against the best fixed setting.
#
# For each of ROUNDS rounds, for each network in NETWORKS, it runs `s3io bench --json --network
# SPEC --scenarios $SCENARIOS` once per setting in CONCURRENCY ("default" = no flag, N =
# `--concurrency N`), the order of the settings rotating between rounds because the machine is
# shared and noisy. Each run has its own embedded server (emulating SPEC, on loopback) and its own
# client. With PLOT_DIR set, the last round's run at defaults also draws its chart there
# (`--plot`, SVG, and a PNG when rsvg-convert is installed: Debian's librsvg2-bin).
#
# Output: per network, a markdown table per scenario of median MiB/s, connections opened and the
# most open at once (from the bench's 10 ms timeline), and each setting against the best fixed
# concurrency; every run's figures go to a JSON-lines file.
#
# Usage:
#   bench/network.sh                                   # the two shapes below, 1 GiB, 3 rounds
#   NETWORKS="rtt=20ms,bw=40MB/s,link=1GB/s" CONCURRENCY="default 32" ROUNDS=5 bench/network.sh
#   PLOT_DIR=/tmp/charts bench/network.sh
#
# Settings (environment):
#   NETWORKS="rtt=20ms,bw=40MB/s,link=1GB/s rtt=2ms,bw=200MB/s"   (space-separated specs)
#   CONCURRENCY="default 8 16 32 64"  ROUNDS=3  SIZE=1GiB  SCENARIOS=large-download,large-upload
#   S3IO_ARGS   extra global flags for every run
#   TIMEOUT     seconds allowed per run (default 900)
#   RUNS_FILE   where the raw runs go (default: ${TMPDIR:-/tmp}/s3io-network-DATE.jsonl)
#   PLOT_DIR    where to draw the charts at defaults (default: none)
#   S3IO_BIN, NO_BUILD: see bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NETWORKS="${NETWORKS:-rtt=20ms,bw=40MB/s,link=1GB/s rtt=2ms,bw=200MB/s}"
CONCURRENCY="${CONCURRENCY:-default 8 16 32 64}" ROUNDS="${ROUNDS:-3}" SIZE="${SIZE:-1GiB}"
SCENARIOS="${SCENARIOS:-large-download,large-upload}" TIMEOUT="${TIMEOUT:-900}" S3IO_ARGS="${S3IO_ARGS:-}"
RUNS_FILE="${RUNS_FILE:-${TMPDIR:-/tmp}/s3io-network-$(date +%Y%m%d-%H%M%S).jsonl}"
PLOT_DIR="${PLOT_DIR:-}"

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
for c in $CONCURRENCY; do [[ $c == default || "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY: $c is neither default nor N"; done
command -v python3 >/dev/null || die "python3 is needed to read the bench's JSON"
[[ -z "$PLOT_DIR" ]] || mkdir -p "$PLOT_DIR"

build_s3io
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$RUNS_FILE"

# run NETWORK SETTING ROUND PLOT: one `s3io bench` run; appends one JSON line per scenario.
run() {
    local network=$1 setting=$2 round=$3 plot=$4 rc=0 out="$work/run.json" err="$work/run.err"
    local -a global=() bench=(bench --json --network "$network" --scenarios "$SCENARIOS" --size "$SIZE" --work-dir "$work")
    # shellcheck disable=SC2206  # the flag string is word-split on purpose
    global=($S3IO_ARGS)
    [[ $setting == default ]] || global+=(--concurrency "$setting")
    [[ -z "$plot" ]] || bench+=(--plot "$plot")
    timeout -k 10 "$TIMEOUT" "$S3IO" "${global[@]}" "${bench[@]}" >"$out" 2>"$err" || rc=$?
    local error=""
    if [[ $rc -ne 0 ]]; then
        case $rc in 124 | 137) error="timed out after ${TIMEOUT}s" ;; *) error="exit $rc: $(grep -v '^\s*$' "$err" | tail -n 1 | cut -c1-300)" ;; esac
    fi
    python3 - "$out" "$network" "$setting" "$round" "$rc" "$error" >>"$RUNS_FILE" <<'PY'
import json, sys
path, network, setting, round_, rc, error = sys.argv[1:]
base = {"network": network, "setting": setting, "round": int(round_), "ok": rc == "0", "error": error or None}
try:
    results = json.load(open(path)) if rc == "0" else []
except ValueError as e:
    results, base = [], dict(base, ok=False, error=f"unreadable bench JSON: {e}")
if not results:
    print(json.dumps(dict(base, scenario=None)))
for r in results:
    timeline = r.get("timeline", [])
    print(json.dumps(dict(base, scenario=r["scenario"], mib_per_second=r["mib_per_second"], seconds=r["seconds"],
                          connections_opened=r["connections_opened"],
                          most_open=max((s["connections"] for s in timeline), default=None),
                          cpu_seconds_per_gib=r["cpu_seconds_per_gib"], peak_rss_mib=r["peak_rss_mib"])))
PY
    python3 - "$RUNS_FILE" <<'PY' >&2
import json, sys
lines = open(sys.argv[1]).read().splitlines()
last = json.loads(lines[-1])
for r in (json.loads(l) for l in lines if json.loads(l)["round"] == last["round"] and json.loads(l)["setting"] == last["setting"]
          and json.loads(l)["network"] == last["network"]):
    if r["ok"]:
        print(f"  {r['network']:<32} {r['setting']:>7} round {r['round']}: {r['scenario']:<22} {r['mib_per_second']:7.1f} MiB/s"
              f"  conns {r['connections_opened']} opened, {r['most_open']} open at most")
    else:
        print(f"  {r['network']:<32} {r['setting']:>7} round {r['round']}: FAILED ({r['error']})")
PY
}

read -ra settings <<<"$CONCURRENCY"
n=${#settings[@]}
log "s3io $S3IO_REV: $ROUNDS rounds of $SCENARIOS ($SIZE) at ${CONCURRENCY} on: $NETWORKS"
for ((r = 1; r <= ROUNDS; r++)); do
    for network in $NETWORKS; do
        for ((k = 0; k < n; k++)); do
            setting="${settings[$(((k + r - 1) % n))]}"
            plot=""
            if [[ -n "$PLOT_DIR" && $r -eq $ROUNDS && $setting == default ]]; then
                plot="$PLOT_DIR/network-$(echo "$network" | tr -c 'A-Za-z0-9\n' '_').svg"
            fi
            run "$network" "$setting" "$r" "$plot"
            if [[ -n "$plot" && -f "$plot" ]] && command -v rsvg-convert >/dev/null; then
                rsvg-convert -o "${plot%.svg}.png" "$plot"
            fi
        done
    done
done

echo
echo "s3io bench/network.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), s3io $("$S3IO" --version | awk '{print $2}') ($S3IO_REV), $(nproc) cores, $(uname -r)"
echo "$SIZE, $ROUNDS rounds, settings rotating; medians over completed runs${S3IO_ARGS:+; every run: $S3IO_ARGS}"
echo "load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RUNS_FILE" "$NETWORKS" "$CONCURRENCY" <<'PY'
import json, statistics, sys
path, networks, settings = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
runs = [json.loads(l) for l in open(path) if l.strip()]
med = lambda v: statistics.median(v) if v else None
failed = [r for r in runs if not r["ok"]]
for network in networks:
    scenarios = list(dict.fromkeys(r["scenario"] for r in runs if r["network"] == network and r["ok"]))
    for scenario in scenarios:
        print(f"\n### {scenario}, network {network}\n")
        print("| setting | ok runs | MiB/s | vs best fixed | conns opened | most open | CPU s/GiB | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        rows = {}
        for s in settings:
            ok = [r for r in runs if r["network"] == network and r["scenario"] == scenario and r["setting"] == s and r["ok"]]
            rows[s] = (ok, med([r["mib_per_second"] for r in ok]))
        fixed = [m for s, (_, m) in rows.items() if s != "default" and m is not None]
        best = max(fixed) if fixed else None
        for s, (ok, mibs) in rows.items():
            f = lambda key, fmt: "-" if not ok else format(med([r[key] for r in ok if r[key] is not None]) or 0, fmt)
            vs = "-" if mibs is None or not best else f"{100 * mibs / best:.0f}%"
            label = "defaults" if s == "default" else f"--concurrency {s}"
            print(f"| {label} | {len(ok)} | {'-' if mibs is None else f'{mibs:.0f}'} | {vs} | {f('connections_opened', '.0f')} "
                  f"| {f('most_open', '.0f')} | {f('cpu_seconds_per_gib', '.2f')} | {f('peak_rss_mib', '.0f')} |")
print("\nMiB/s = the timed part of the scenario (the set-up upload of a download excluded); most open = the most TCP")
print("connections the client had open at one 10 ms sample; vs best fixed = against the best median of the fixed settings.")
if failed:
    print("\nfailed runs:")
    for r in failed:
        print(f"  {r['network']} {r['setting']} round {r['round']}: {r['error']}")
PY
echo
echo "raw runs: $RUNS_FILE"
[[ -z "$PLOT_DIR" ]] || echo "charts: $PLOT_DIR"
