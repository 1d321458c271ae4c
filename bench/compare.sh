#!/usr/bin/env bash
# bench/compare.sh — s3io side by side with s5cmd, the AWS CRT client, rclone and the aws CLI,
# against the same local `s3io serve`, on the same files, in the same run.
#
# It finds the peer clients (or installs them with ../shared/peers/install.sh), builds s3io
# (release), starts `s3io serve` on 127.0.0.1 (OS-chosen port) in a temporary directory, and
# uploads through that server one SIZE object and N small objects. Then, for each case, it runs
# every client RUNS times — one run of each client per round, the order rotating between rounds,
# because the machine is shared and noisy — each under `timeout` and `/usr/bin/time`, and records
# wall time, client user+sys CPU, client peak RSS and the server's CPU over the run.
#
# Cases:
#   get    download the SIZE object to a file        (s3io: cp s3://b/k FILE)
#   null   download it with the bytes thrown away    (s3io: cp s3://b/k - >/dev/null)
#   put    upload a SIZE file as one object          (s3io: cp FILE s3://b/k)
#   batch  download the N small objects under small/ (s3io: cp 's3://b/small/*' DIR/)
# Bytes are checked: every run's output size, and a SHA-256 of the downloaded file, the uploaded
# object (as the server stored it) and the batch directory on each client's first run (VERIFY=all:
# every run).
#
# With NETWORK=SPEC the server emulates a network on every connection (`s3io serve --network`,
# e.g. NETWORK=rtt=20ms,bw=40MB/s,link=1GB/s): set-up uploads, every client and every case go
# through it; the shape is in the tables' header and in the CSV's `network` column.
#
# Output: one table per case (medians over the runs: MiB/s, client CPU s per GiB moved, client
# peak RSS, server CPU s per GiB, throughput relative to s3io) and every run in a CSV file.
#
# Usage:
#   bench/compare.sh                                  # 1 GiB, 200 × 1.2 MiB, 3 runs, all clients and cases
#   SIZE=256MiB RUNS=5 bench/compare.sh
#   CLIENTS="s3io s5cmd" CASES="get put" bench/compare.sh
#   NETWORK=rtt=20ms,bw=40MB/s,link=1GB/s CLIENTS="s3io s3io-c16 s3io-c32 s5cmd crt" CASES="get put" bench/compare.sh
#
# Settings (environment):
#   SIZE=1GiB  N=200  SMALL_SIZE=1.2MiB  RUNS=3
#   CLIENTS="s3io s5cmd crt rclone awscli"  CASES="get null put batch"
#              (s3io-cN: s3io with --concurrency N, e.g. s3io-c32, as a client of its own)
#   NETWORK   the emulated network, `s3io serve --network` grammar (default: none, plain loopback)
#   TIMEOUT   seconds allowed per transfer (default: max(120, one second per 5 MiB of SIZE))
#   CSV       where the raw runs go (default: ${TMPDIR:-/tmp}/s3io-compare-DATE.csv)
#   VERIFY    first (default) or all
#   S3IO_BIN, NO_BUILD, PEERS_DIR, S5CMD_BIN, AWS_BIN, PYTHON, RCLONE_BIN, NO_INSTALL: see bench/lib.sh
#   S3IO_ARGS extra global flags for s3io (e.g. "--concurrency 16 --part-size 16MiB")
#   S3IO_BASE_BIN another s3io binary (e.g. the build before a change), run as client
#              `s3io-base` in the same rounds (name it in CLIENTS); S3IO_BASE_REV labels it
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE="${SIZE:-1GiB}" N="${N:-200}" SMALL_SIZE="${SMALL_SIZE:-1.2MiB}" RUNS="${RUNS:-3}"
CLIENTS="${CLIENTS:-s3io s5cmd crt rclone awscli}" CASES="${CASES:-get null put batch}"
VERIFY="${VERIFY:-first}"
NETWORK="${NETWORK:-}"
export SERVE_NETWORK="$NETWORK"
stamp="$(date +%Y%m%d-%H%M%S)"
CSV="${CSV:-${TMPDIR:-/tmp}/s3io-compare-$stamp.csv}"
BUCKET=bench

size_bytes="$(parse_size "$SIZE")"
small_bytes="$(parse_size "$SMALL_SIZE")"
TIMEOUT="${TIMEOUT:-$(awk -v b="$size_bytes" 'BEGIN { t = b / 5242880; printf "%d\n", (t < 120 ? 120 : t) }')}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
for c in $CLIENTS; do
    case $c in
        s3io | s3io-base | s5cmd | crt | rclone | awscli) ;;
        s3io-c*) [[ "${c#s3io-c}" =~ ^[1-9][0-9]*$ ]] || die "unknown client: $c (s3io-cN takes a concurrency N)" ;;
        *) die "unknown client: $c" ;;
    esac
done
for c in $CASES; do case $c in get | null | put | batch) ;; *) die "unknown case: $c" ;; esac; done
command -v /usr/bin/time >/dev/null || die "/usr/bin/time (GNU time) is needed: apt-get install time"

PEERS="$PEERS_DIR/peers.sh"
[[ -x "$PEERS" ]] || die "no peers.sh at $PEERS (set PEERS_DIR to the directory holding peers.sh and crt_cp.py)"
find_peers
build_s3io
# peers.sh's "new" slot runs s3io with an s5cmd-like command line; `null` uses `cp s3://b/k -`.
export NEW_TOOL="$S3IO" NEW_TOOL_ARGS="${S3IO_ARGS:-}" NEW_TOOL_NULL=cp

clients=()
declare -A version note
for c in $CLIENTS; do
    if peer_available "$c"; then
        clients+=("$c")
        version[$c]="$(peer_version "$c")"
    else
        log "skipping $c: not installed"
        note[$c]="not installed"
    fi
done
[[ ${#clients[@]} -gt 0 ]] || die "no client to run"

start_server
clk_tck="$(getconf CLK_TCK)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- data, uploaded through the server -------------------------------------------------------
src="$work/src" dl="$work/dl"
mkdir -p "$src/small" "$dl"
s3io_() { "$S3IO" --endpoint-url "$ENDPOINT" --quiet "$@"; }
s3io_ mb "s3://$BUCKET"
width=3; ((${#N} > 3)) && width=${#N}
if [[ " $CASES " == *" get "* || " $CASES " == *" null "* || " $CASES " == *" put "* ]]; then
    log "generating and uploading the $SIZE object ($size_bytes bytes)"
    make_file "$src/big.bin" "$size_bytes"
    big_sha="$(sha256sum "$src/big.bin" | awk '{print $1}')"
    s3io_ cp "$src/big.bin" "s3://$BUCKET/big"
fi
if [[ " $CASES " == *" batch "* ]]; then
    log "generating and uploading $N objects of $SMALL_SIZE under small/"
    for ((i = 0; i < N; i++)); do make_file "$src/small/$(printf "f%0${width}d" "$i")" "$small_bytes"; done
    (cd "$src/small" && sha256sum -- * | sort -k2) >"$work/small.sha256"
    s3io_ cp --recursive "$src/small/" "s3://$BUCKET/small/"
    listed="$(s3io_ ls --recursive "s3://$BUCKET/small/" | wc -l)"
    [[ "$listed" -eq "$N" ]] || die "uploaded $N small objects but the server lists $listed"
fi

# ---- one measured run ------------------------------------------------------------------------
echo "case,round,client,version,bytes,wall_s,user_s,sys_s,cpu_s,max_rss_kib,server_cpu_s,mib_per_s,cpu_s_per_gib,exit,verified,network" >"$CSV"
declare -A verified_once

# verify CASE CLIENT: sets vres to what was checked, or to the reason on failure (and returns 1). Full checksums on the
# client's first run of the case (or every run with VERIFY=all), sizes / counts otherwise.
verify() {
    local case=$1 client=$2 full=0
    if [[ "$VERIFY" == all || -z "${verified_once[$case:$client]:-}" ]]; then full=1; fi
    case $case in
        get)
            local got; got="$(stat -c %s "$dl/get.bin" 2>/dev/null || echo missing)"
            [[ "$got" == "$size_bytes" ]] || { vres="size $got, expected $size_bytes"; return 1; }
            if ((full)); then
                [[ "$(sha256sum "$dl/get.bin" | awk '{print $1}')" == "$big_sha" ]] || { vres="sha256 mismatch"; return 1; }
                verified_once[$case:$client]=1; vres=sha256; return 0
            fi
            vres=size ;;
        null) vres=- ;;
        put)
            # What the server stored, read back through S3 (the server keeps keys in an index).
            local got
            got="$(s3io_ ls "s3://$BUCKET/put/" 2>/dev/null | awk -v k="$client" '$NF == k { print $(NF - 1) }')"
            [[ "$got" == "$size_bytes" ]] || { vres="stored size ${got:-missing}, expected $size_bytes"; return 1; }
            if ((full)); then
                [[ "$(s3io_ cp "s3://$BUCKET/put/$client" - | sha256sum | awk '{print $1}')" == "$big_sha" ]] || { vres="stored sha256 mismatch"; return 1; }
                verified_once[$case:$client]=1; vres=sha256; return 0
            fi
            vres=size ;;
        batch)
            local count; count="$(find "$dl/batch" -type f | wc -l)"
            [[ "$count" -eq "$N" ]] || { vres="$count files, expected $N"; return 1; }
            if ((full)); then
                (cd "$dl/batch" && sha256sum -- * | sort -k2) | cmp -s - "$work/small.sha256" || { vres="sha256 mismatch"; return 1; }
                verified_once[$case:$client]=1; vres=sha256; return 0
            fi
            vres=count ;;
    esac
}

# peer_args CASE CLIENT: the arguments peers.sh takes after PEER OP ENDPOINT.
peer_args() {
    case $1 in
        get) echo "$BUCKET big $dl/get.bin" ;;
        null) echo "$BUCKET big" ;;
        put) echo "$BUCKET put/$2 $src/big.bin" ;;
        batch) echo "$BUCKET small/ $dl/batch" ;;
    esac
}

# measure CASE CLIENT ROUND: one timed transfer; appends a CSV row; prints a progress line.
measure() {
    local case=$1 client=$2 round=$3 peer=$2 bytes=$size_bytes tool_args="${S3IO_ARGS:-}"
    [[ $client == s3io* ]] && peer=new
    [[ $client == s3io-c* ]] && tool_args="$tool_args --concurrency ${client#s3io-c}"
    local tool="$S3IO"
    [[ $client == s3io-base ]] && tool="$S3IO_BASE_BIN"
    [[ $case == batch ]] && bytes=$((N * small_bytes))
    rm -rf "$dl/get.bin" "$dl/batch"
    [[ $case == batch ]] && mkdir -p "$dl/batch"
    sync
    local tfile="$work/time.out" lfile="$work/run.log" t0 t1 s0 s1 rc=0
    # shellcheck disable=SC2046  # peer_args is word-split on purpose (no spaces in its paths)
    {
        s0="$(server_cpu_ticks)"; t0="$(date +%s%N)"
        NEW_TOOL="$tool" NEW_TOOL_ARGS="$tool_args" timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$tfile" \
            "$PEERS" "$peer" "$case" "$ENDPOINT" $(peer_args "$case" "$client") >"$lfile" 2>&1 || rc=$?
        t1="$(date +%s%N)"; s1="$(server_cpu_ticks)"
    }
    local wall user sys rss
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    read -r _ user sys rss < <(tail -n 1 "$tfile" 2>/dev/null || echo "0 0 0 0")
    [[ "$user" =~ ^[0-9.]+$ ]] || { user=0 sys=0 rss=0; }
    local server_cpu cpu mibs cpg ver="-"
    server_cpu="$(awk -v a="$s0" -v b="$s1" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    mibs="$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.1f", b / 1048576 / w }')"
    cpg="$(awk -v c="$cpu" -v b="$bytes" 'BEGIN { printf "%.2f", c / (b / 1073741824) }')"
    if [[ $rc -eq 0 ]]; then
        verify "$case" "$client" || rc=99
        ver="$vres"
    fi
    if [[ $rc -ne 0 ]]; then
        local why
        case $rc in 124 | 137) why="timed out after ${TIMEOUT}s" ;; 99) why="bytes wrong: $ver" ;; *) why="exit $rc" ;; esac
        printf '  %-6s %-6s round %d: FAILED (%s)\n' "$case" "$client" "$round" "$why" >&2
        sed 's/^/      | /' "$lfile" | tail -n 8 >&2
        failures+=("$case $client round $round: $why: $(grep -v '^Command exited' "$lfile" | tail -n 1 | cut -c1-200)")
        ver="FAILED"
    else
        printf '  %-6s %-6s round %d: %8s MiB/s  %6s s  cpu %5s s/GiB  rss %5d MiB  server %5s s  [%s]\n' \
            "$case" "$client" "$round" "$mibs" "$wall" "$cpg" $((rss / 1024)) "$server_cpu" "$ver" >&2
    fi
    echo "$case,$round,$client,${version[$client]},$bytes,$wall,$user,$sys,$cpu,$rss,$server_cpu,$mibs,$cpg,$rc,$ver,${NETWORK:-loopback}" >>"$CSV"
    rm -rf "$dl/get.bin" "$dl/batch"
    if [[ $case == put ]]; then s3io_ rm "s3://$BUCKET/put/$client" >/dev/null 2>&1 || true; fi
}

failures=()
for case in $CASES; do
    case_clients=("${clients[@]}")
    if [[ $case == batch && " ${clients[*]} " == *" s3io "* ]]; then
        # s3io's batch form (`cp 's3://b/small/*' DIR/`) may not exist yet: probe it once, untimed.
        mkdir -p "$dl/probe"
        if ! timeout 120 "$PEERS" new batch "$ENDPOINT" "$BUCKET" small/ "$dl/probe" >"$work/probe.log" 2>&1 ||
            [[ "$(find "$dl/probe" -type f | wc -l)" -ne "$N" ]]; then
            note[batch:s3io]="skipped: \`s3io cp 's3://$BUCKET/small/*' DIR/\` fails: $(head -n 1 "$work/probe.log" | cut -c1-160)"
            log "batch: s3io ${note[batch:s3io]}"
            case_clients=()
            for c in "${clients[@]}"; do [[ $c == s3io ]] || case_clients+=("$c"); done
        fi
        rm -rf "$dl/probe"
    fi
    log "case $case: ${RUNS} rounds of ${case_clients[*]}"
    n=${#case_clients[@]}
    for ((r = 1; r <= RUNS; r++)); do
        for ((k = 0; k < n; k++)); do
            measure "$case" "${case_clients[$(((k + r - 1) % n))]}" "$r"
        done
    done
done

# ---- tables ----------------------------------------------------------------------------------
# median COLUMN CASE CLIENT: median of a CSV column over the successful runs.
median() {
    awk -F, -v col="$1" -v cs="$2" -v cl="$3" '$1 == cs && $3 == cl && $14 == 0 { print $col }' "$CSV" |
        sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ok_runs() { awk -F, -v cs="$1" -v cl="$2" '$1 == cs && $3 == cl && $14 == 0' "$CSV" | wc -l; }

echo
echo "s3io bench/compare.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), server: s3io serve $(peer_version s3io)"
if [[ -n "$NETWORK" ]]; then echo "network: emulated, $NETWORK (s3io serve --network)"; else echo "network: loopback"; fi
echo "object: $SIZE ($size_bytes B); batch: $N × $SMALL_SIZE; $RUNS runs per client, alternating; medians"
echo "load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
for case in $CASES; do
    case $case in
        get) title="get: one $SIZE object → file" ;;
        null) title="null: one $SIZE object → /dev/null" ;;
        put) title="put: one $SIZE file → object" ;;
        batch) title="batch: $N × $SMALL_SIZE objects → directory" ;;
    esac
    echo
    echo "### $title"
    echo
    echo "| client | version | ok runs | MiB/s | CPU s/GiB | peak RSS MiB | server CPU s/GiB | vs s3io |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    base="$(median 12 "$case" s3io)"
    for c in $CLIENTS; do
        [[ -n "${version[$c]:-}" ]] || { echo "| $c | - | - | - | - | - | - | ${note[$c]} |"; continue; }
        if [[ -n "${note[$case:$c]:-}" ]]; then
            echo "| $c | ${version[$c]} | - | - | - | - | - | ${note[$case:$c]} |"
            continue
        fi
        mibs="$(median 12 "$case" "$c")"
        rss="$(median 10 "$case" "$c")"
        [[ "$rss" == - ]] || rss="$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')"
        server="$(awk -F, -v cs="$case" -v cl="$c" '$1 == cs && $3 == cl && $14 == 0 { print $11 / ($5 / 1073741824) }' "$CSV" |
            sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
        ratio="-"
        if [[ "$base" != - && "$mibs" != - ]]; then
            ratio="$(awk -v a="$mibs" -v b="$base" 'BEGIN { printf "%.2f×", a / b }')"
        fi
        echo "| $c | ${version[$c]} | $(ok_runs "$case" "$c")/$RUNS | $mibs | $(median 13 "$case" "$c") | $rss | $server | $ratio |"
    done
done
echo
echo "MiB/s = bytes / wall time of the client process; CPU = the client's user+sys; RSS = the client's peak;"
echo "server CPU = s3io serve's user+sys over the same run (client and server share the $(nproc) cores)."
echo "raw runs: $CSV"
if [[ ${#failures[@]} -gt 0 ]]; then
    echo
    echo "failed runs:"
    printf '  %s\n' "${failures[@]}"
fi
