#!/usr/bin/env bash
# bench/field.sh — issue 15's field checks, by hand: transfers through server outages, signals
# during transfers, and SIGKILL then the same command again. Each case prints one table row:
# the command, what happened, and how long it took.
#
# Cases (each against its own `s3io serve`, loopback, `--log-requests` on, on one root):
#   outage   a SIZE download and a SIZE upload, default flags, through an outage of each of
#            OUTAGES (`outage=D,outage-after=N`, N = half the parts): byte-exact, and the request
#            log shows each part completed once (downloads: every part's range delivered whole
#            once; uploads: one 200 per part number);
#   long     the same download and upload through a LONG_OUTAGE: they fail in bounded time
#            (the retry timeout) with a message, and nothing is under the final name;
#   signals  SIGNAL_RUNS × SIGINT and SIGNAL_RUNS × SIGTERM during a SIGNAL_SIZE multipart upload
#            (zero uploads in progress after, exit 130/143) and during a SIGNAL_SIZE download (no
#            partial file left);
#   kill     SIGKILL at ~50% of a SIZE download and of a SIZE upload, then the same command:
#            byte-exact, and the bytes fetched (sent) by the second run as a share of SIZE.
#
# Usage:
#   S3IO_BIN=target/debug/s3io bench/field.sh              # all cases
#   CASES="kill signals" SIZE=256MiB bench/field.sh
#
# Settings (environment): SIZE=1GiB SIGNAL_SIZE=500MiB SIGNAL_RUNS=10 OUTAGES="10s 30s"
#   LONG_OUTAGE=600s CASES="outage long signals kill"; S3IO_BIN, NO_BUILD: see bench/lib.sh.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE="${SIZE:-1GiB}" SIGNAL_SIZE="${SIGNAL_SIZE:-500MiB}" SIGNAL_RUNS="${SIGNAL_RUNS:-10}"
OUTAGES="${OUTAGES:-10s 30s}" LONG_OUTAGE="${LONG_OUTAGE:-600s}" CASES="${CASES:-outage long signals kill}"
PART=$((8 * 1024 * 1024))
bytes="$(parse_size "$SIZE")"
signal_bytes="$(parse_size "$SIGNAL_SIZE")"
parts=$(((bytes + PART - 1) / PART))

build_s3io
mkdir -p "$work/root" "$work/out"
serve_log="$work/requests.jsonl"

# serve FAULTS: (re)starts `s3io serve` on the root with FAULTS (may be empty) and a fresh
# request log; sets ENDPOINT.
serve() {
    stop_server
    : >"$serve_log"
    local faults=()
    [[ -n "$1" ]] && faults=(--faults "$1")
    "$S3IO" serve --root "$work/root" --addr 127.0.0.1:0 --log-requests "$serve_log" "${faults[@]}" \
        >"$work/serve.log" 2>&1 &
    server_pid=$!
    ENDPOINT="$(served_endpoint "$work/serve.log" "$server_pid")"
    export S3IO_ENDPOINT_URL="$ENDPOINT"
}

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }

# analyse MODE SIZE: what the request log says of the last transfer. MODE get: bytes of 2xx GET
# bodies, and parts whose whole range was delivered more than once; MODE put: bytes of 200
# UploadPart bodies, and part numbers answered 200 more than once.
analyse() {
    python3 - "$serve_log" "$1" "$2" <<'EOF'
import json, re, sys, collections
log, mode, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
records = [json.loads(line) for line in open(log) if line.strip()]
if mode == "get":
    done = collections.Counter()
    moved = 0
    for r in records:
        if r["method"] != "GET" or not 200 <= r["status"] < 300 or "uploads" in r["query"]:
            continue
        moved += r["response_bytes"]
        m = re.match(r"bytes=(\d+)-(\d+)", r["range"] or "")
        if m and r["response_bytes"] == int(m[2]) - int(m[1]) + 1:
            done[int(m[2])] += 1
    twice = sum(1 for n in done.values() if n > 1)
else:
    done = collections.Counter()
    moved = 0
    for r in records:
        m = re.search(r"partNumber=(\d+)", r["query"])
        if r["method"] == "PUT" and m and r["status"] == 200:
            moved += r["request_bytes"]
            done[int(m[1])] += 1
    twice = sum(1 for n in done.values() if n > 1)
print(f"{moved} {100.0 * moved / size:.1f} {twice} {len(records)}")
EOF
}

# journal_parts FILE: the part records in a download's resume journal (0 without one): its
# header is "S3IOJNL1", size, part size (u64 each), the ETag's length (u16), the ETag and a
# CRC32C (u32); then 12 bytes per finished part.
journal_parts() {
    python3 - "$1" <<'EOF'
import struct, sys
try:
    data = open(sys.argv[1], "rb").read()
    etag_len = struct.unpack_from("<H", data, 24)[0]
    print(max(0, (len(data) - 26 - etag_len - 4) // 12))
except (OSError, struct.error):
    print(0)
EOF
}

same() { cmp -s "$1" "$2" && echo "byte-exact" || echo "DIFFERS"; }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

log "s3io $S3IO_REV ($("$S3IO" --version)), SIZE=$SIZE, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
make_file "$work/src.bin" "$bytes"
head -c "$signal_bytes" "$work/src.bin" >"$work/sig.bin"
serve ""
"$S3IO" -q mb s3://field
"$S3IO" -q cp "$work/src.bin" s3://field/big
"$S3IO" -q cp "$work/sig.bin" s3://field/sig

echo "| command | result | time |"
echo "|---|---|---|"

for case in $CASES; do
    case $case in
    outage)
        for d in $OUTAGES; do
            serve "outage=$d,outage-after=$((parts / 2))"
            rm -f "$work/out/big"
            t=$(now)
            if out="$("$S3IO" -q cp s3://field/big "$work/out/big" 2>&1)"; then
                read -r moved pct twice reqs < <(analyse get "$bytes")
                row "cp s3://field/big (download $SIZE), outage=$d after $((parts / 2)) requests" \
                    "$(same "$work/src.bin" "$work/out/big"); $reqs requests; GET bytes $pct% of the object; parts delivered whole twice: $twice" "$(since "$t")"
            else
                row "cp s3://field/big (download $SIZE), outage=$d" "FAILED: $out" "$(since "$t")"
            fi
            serve "outage=$d,outage-after=$((parts / 2 + 2))"
            t=$(now)
            if out="$("$S3IO" -q cp "$work/src.bin" "s3://field/up-$d" 2>&1)"; then
                read -r moved pct twice reqs < <(analyse put "$bytes")
                "$S3IO" -q cp "s3://field/up-$d" "$work/out/up"
                row "cp src.bin s3://field/up-$d (upload $SIZE), outage=$d after $((parts / 2 + 2)) requests" \
                    "$(same "$work/src.bin" "$work/out/up"); $reqs requests; part bytes $pct% of the file; parts answered 200 twice: $twice" "$(since "$t")"
                rm -f "$work/out/up"
            else
                row "cp src.bin s3://field/up-$d (upload $SIZE), outage=$d" "FAILED: $out" "$(since "$t")"
            fi
        done
        ;;
    long)
        serve "outage=$LONG_OUTAGE,outage-after=$((parts / 2))"
        rm -f "$work/out/big"
        t=$(now)
        set +e
        out="$("$S3IO" cp s3://field/big "$work/out/big" 2>&1)"
        rc=$?
        set -e
        final="$( [[ -e "$work/out/big" ]] && echo "a file under the final name" || echo "nothing under the final name")"
        partial="$(ls -A "$work/out" | tr '\n' ' ')"
        row "cp s3://field/big (download), outage=$LONG_OUTAGE" "exit $rc: $(echo "$out" | tail -n 2 | tr '\n' ' '); $final; kept for a re-run: $partial" "$(since "$t")"
        rm -f "$work/out/"* "$work/out/".[!.]* 2>/dev/null || true
        serve "outage=$LONG_OUTAGE,outage-after=$((parts / 2 + 2))"
        t=$(now)
        set +e
        out="$("$S3IO" cp "$work/src.bin" s3://field/up-long 2>&1)"
        rc=$?
        set -e
        serve ""
        exists="$("$S3IO" ls s3://field/up-long 2>/dev/null | grep -c up-long || true)"
        row "cp src.bin s3://field/up-long (upload), outage=$LONG_OUTAGE" "exit $rc: $(echo "$out" | tail -n 2 | tr '\n' ' '); object exists after: $exists; uploads in progress: $("$S3IO" mpu ls s3://field/ | wc -l)" "$(since "$t")"
        "$S3IO" -q mpu abort --all s3://field >/dev/null 2>&1 || true
        ;;
    signals)
        # Job control on: background commands keep SIGINT (a non-interactive shell starts them
        # with it ignored).
        set -m
        serve ""
        for sig in INT TERM; do
            codes="" left=0 t=$(now)
            for i in $(seq 1 "$SIGNAL_RUNS"); do
                "$S3IO" -q cp "$work/sig.bin" "s3://field/sig-$sig-$i" >/dev/null 2>&1 &
                pid=$!
                for _ in $(seq 1 300); do
                    [[ -n "$("$S3IO" mpu ls s3://field/sig-"$sig"-"$i" 2>/dev/null)" ]] && break
                    sleep 0.05
                done
                kill -"$sig" "$pid"
                set +e; wait "$pid"; rc=$?; set -e
                codes="$codes $rc"
                left=$((left + $("$S3IO" mpu ls s3://field/ | wc -l)))
            done
            row "$SIGNAL_RUNS × SIG$sig during cp sig.bin ($SIGNAL_SIZE upload)" "exit codes:$codes; uploads in progress after: $left" "$(since "$t")"
            codes="" left=0 t=$(now)
            for i in $(seq 1 "$SIGNAL_RUNS"); do
                "$S3IO" -q cp s3://field/sig "$work/out/sig" >/dev/null 2>&1 &
                pid=$!
                for _ in $(seq 1 300); do
                    [[ -s "$work/out/.sig.s3io-partial.journal" ]] && break
                    sleep 0.05
                done
                kill -"$sig" "$pid"
                set +e; wait "$pid"; rc=$?; set -e
                codes="$codes $rc"
                # What this download left: the file itself or its partial file and journal.
                left=$((left + $(ls -A "$work/out" | grep -c '^\(\.sig\.\|sig$\)' || true)))
                rm -f "$work/out/sig"
            done
            row "$SIGNAL_RUNS × SIG$sig during cp s3://field/sig ($SIGNAL_SIZE download)" "exit codes:$codes; files left after: $left" "$(since "$t")"
        done
        set +m
        ;;
    kill)
        serve ""
        journal="$work/out/.big.s3io-partial.journal"
        "$S3IO" -q cp s3://field/big "$work/out/big" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 6000); do
            [[ "$(journal_parts "$journal")" -ge $((parts / 2)) ]] && break
            sleep 0.01
        done
        kill -KILL "$pid" || die "the download ended before it was killed"
        wait "$pid" 2>/dev/null || true
        kept="$(journal_parts "$journal")"
        serve ""
        t=$(now)
        "$S3IO" -q cp s3://field/big "$work/out/big"
        read -r moved pct twice reqs < <(analyse get "$bytes")
        row "SIGKILL at ~$((100 * kept / parts))% of cp s3://field/big ($SIZE download), then the same command" \
            "$(same "$work/src.bin" "$work/out/big"); second run fetched $moved bytes = $pct% of the object" "$(since "$t")"
        rm -f "$work/out/big"
        serve ""
        "$S3IO" -q cp "$work/src.bin" s3://field/killed >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 6000); do
            [[ $(grep -c '"status":200' "$serve_log" || true) -ge $((parts / 2 + 2)) ]] && break
            sleep 0.01
        done
        kill -KILL "$pid" || die "the upload ended before it was killed"
        wait "$pid" 2>/dev/null || true
        serve ""
        t=$(now)
        "$S3IO" -q cp "$work/src.bin" s3://field/killed
        read -r moved pct twice reqs < <(analyse put "$bytes")
        "$S3IO" -q cp s3://field/killed "$work/out/killed"
        row "SIGKILL at ~50% of cp src.bin s3://field/killed ($SIZE upload), then the same command" \
            "$(same "$work/src.bin" "$work/out/killed"); second run sent $moved part bytes = $pct% of the file; uploads in progress after: $("$S3IO" mpu ls s3://field/ | wc -l)" "$(since "$t")"
        rm -f "$work/out/killed"
        ;;
    *) die "unknown case $case" ;;
    esac
done
