#!/usr/bin/env bash
# bench/serve_ab.sh — the embedded server's GET path, build against build: one `s3io serve` per
# given binary, each serving the same SIZE object, fetched by curl (one stream, to /dev/null) in
# interleaved rounds (the order rotating), because the machine is shared and noisy. Prints per
# binary the median MiB/s (min–max) and the median server CPU seconds per GiB served.
#
# OP=put measures the upload path instead: each round uploads the SIZE file to every server as a
# multipart upload by one client (CLIENT_BIN, default the last binary given, the same for every
# server), and reports the median MiB/s and server CPU seconds per GiB received.
#
# Usage: bench/serve_ab.sh OLD_S3IO NEW_S3IO [MORE…]      SIZE=1GiB RUNS=11 OP=get (defaults)
# e.g.   git worktree add /tmp/old <rev> && (cd /tmp/old && cargo build --release -p s3io-cli)
#        bench/serve_ab.sh /tmp/old/target/release/s3io target/release/s3io
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 2)) || die "usage: bench/serve_ab.sh S3IO_BIN S3IO_BIN [S3IO_BIN…]"
command -v curl >/dev/null || die "curl not found"
SIZE="${SIZE:-1GiB}" RUNS="${RUNS:-11}" OP="${OP:-get}"
[[ $OP == get || $OP == put ]] || die "OP must be get or put"
bins=("$@")
client_bin="${CLIENT_BIN:-${bins[$((${#bins[@]} - 1))]}}"
bytes="$(parse_size "$SIZE")"
make_file "$work/object.bin" "$bytes"

# One server per binary, each on its own root and OS-chosen port (read from its banner).
pids=() endpoints=()
on_exit() {
    local rc=$?
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap on_exit EXIT
for i in "${!bins[@]}"; do
    mkdir -p "$work/root$i"
    "${bins[$i]}" serve --root "$work/root$i" --addr 127.0.0.1:0 >"$work/serve$i.log" 2>&1 &
    pids+=($!)
    endpoint="$(served_endpoint "$work/serve$i.log" "${pids[$i]}")"
    endpoints+=("$endpoint")
    "${bins[$i]}" --endpoint-url "$endpoint" mb s3://bench >/dev/null
    "${bins[$i]}" --endpoint-url "$endpoint" cp -q "$work/object.bin" s3://bench/object.bin
    log "server $i: ${bins[$i]} ($("${bins[$i]}" --version)) at $endpoint"
done
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

tck="$(getconf CLK_TCK)"
sigv4=(--aws-sigv4 "aws:amz:${AWS_REGION}:s3" --user "${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
n="${#bins[@]}"
for r in $(seq 1 "$RUNS"); do
    for j in $(seq 0 $((n - 1))); do
        k=$(((j + r) % n))
        before="$(awk '{ print $14 + $15 }' "/proc/${pids[$k]}/stat")"
        if [[ $OP == get ]]; then
            speed="$(curl -sSf "${sigv4[@]}" -o /dev/null -w '%{speed_download}' "${endpoints[$k]}/bench/object.bin")"
        else
            t0="$(date +%s%N)"
            "$client_bin" --endpoint-url "${endpoints[$k]}" --quiet cp "$work/object.bin" "s3://bench/put"
            speed="$(awk -v b="$bytes" -v a="$t0" -v z="$(date +%s%N)" 'BEGIN { printf "%.0f", b / ((z - a) / 1e9) }')"
        fi
        after="$(awk '{ print $14 + $15 }' "/proc/${pids[$k]}/stat")"
        echo "$k $speed $((after - before))"
    done
done | awk -v t="$tck" -v b="$bytes" '
    { n[$1]++; s[$1, n[$1]] = $2 / 1048576; c[$1, n[$1]] = $3 / t / (b / 1073741824) }
    function sort(a, k, m,   i, j, x) { for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[k, i] > a[k, j]) { x = a[k, i]; a[k, i] = a[k, j]; a[k, j] = x } }
    END {
        print "| server | runs | median MiB/s (min–max) | median server CPU s/GiB |"
        print "|---|---:|---:|---:|"
        for (k = 0; k in n; k++) {
            m = n[k]; sort(s, k, m); sort(c, k, m)
            printf "| %d | %d | %.0f (%.0f–%.0f) | %.2f |\n", k, m, s[k, int((m + 1) / 2)], s[k, 1], s[k, m], c[k, int((m + 1) / 2)]
        }
    }'
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
