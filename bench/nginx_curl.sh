#!/usr/bin/env bash
# bench/nginx_curl.sh — one 1 GiB GET by curl (one stream, to /dev/null) from `s3io serve` and
# from nginx serving the very same file, side by side (issue 3's "at least as fast as nginx").
#
# Starts `s3io serve` on 127.0.0.1 (OS-chosen port) in a temporary directory, uploads one SIZE
# object with s3io, then starts nginx (Debian's nginx; sendfile on, one worker, access log off)
# on 127.0.0.1 with the object's file as its document root. Each of RUNS rounds fetches the object
# with curl from both servers, alternating which goes first; curl signs its request to s3io
# with SigV4 (nginx ignores the signature). Prints the medians: MiB/s and the server's CPU
# seconds per GiB (utime+stime of its process(es) over the request).
#
# Usage: bench/nginx_curl.sh          SIZE=1GiB RUNS=5 (defaults)
#        S3IO_BIN=/path/to/s3io NO_BUILD=1 bench/nginx_curl.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE="${SIZE:-1GiB}" RUNS="${RUNS:-5}"
NGINX_BIN="${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}"
[[ -x "$NGINX_BIN" ]] || die "nginx not found (apt-get install nginx-light, or set NGINX_BIN)"
command -v curl >/dev/null || die "curl not found"

build_s3io
start_server
bytes="$(parse_size "$SIZE")"
make_file "$work/object.bin" "$bytes"
"$S3IO" --endpoint-url "$ENDPOINT" mb s3://bench >/dev/null
"$S3IO" --endpoint-url "$ENDPOINT" cp -q "$work/object.bin" s3://bench/object.bin
# The bytes the embedded server stores (its one data file under root/.s3io/data/) are what nginx serves.
served="$(newest_data_file)"
cmp -s "$served" "$work/object.bin" || die "expected the object's bytes at $served"

nginx_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$work/nginx"
# As root, nginx's workers would drop to nobody, who cannot read the private work directory.
user_line=""
[[ $EUID -eq 0 ]] && user_line="user root;"
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/root/.s3io/data;
    }
}
CONF
"$NGINX_BIN" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
trap 'rc=$?; kill "$nginx_pid" 2>/dev/null || true; (exit $rc); cleanup' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$nginx_port/$(basename "$served")" && break; sleep 0.1; done

# nginx_ticks: user+system ticks of nginx's master and workers.
nginx_ticks() {
    local pids total=0 t
    pids="$(pgrep -P "$nginx_pid" 2>/dev/null || true) $nginx_pid"
    for p in $pids; do
        t="$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)"
        total=$((total + t))
    done
    echo "$total"
}
tck="$(getconf CLK_TCK)"
sigv4=(--aws-sigv4 "aws:amz:${AWS_REGION}:s3" --user "${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")

# fetch NAME: one GET; appends "name mib_s cpu_s_per_gib" to results.
results="$work/results"
fetch() {
    local name="$1" before after wall url
    if [[ $name == s3io ]]; then before="$(server_cpu_ticks)"; url="$ENDPOINT/bench/object.bin"; else before="$(nginx_ticks)"; url="http://127.0.0.1:$nginx_port/$(basename "$served")"; fi
    if [[ $name == s3io ]]; then
        wall="$(curl -sSf "${sigv4[@]}" -o /dev/null -w '%{time_total}' "$url")"
        after="$(server_cpu_ticks)"
    else
        wall="$(curl -sSf -o /dev/null -w '%{time_total}' "$url")"
        after="$(nginx_ticks)"
    fi
    awk -v n="$name" -v b="$bytes" -v w="$wall" -v c="$((after - before))" -v t="$tck" \
        'BEGIN { printf "%s %.1f %.3f\n", n, b / w / 1048576, c / t / (b / 1073741824) }' | tee -a "$results" >&2
}

log "versions: s3io $("$S3IO" --version | awk '{print $2}') ($S3IO_REV); $("$NGINX_BIN" -v 2>&1); $(curl --version | head -1 | awk '{print $1, $2}')"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$RUNS"); do
    if ((round % 2)); then fetch s3io; fetch nginx; else fetch nginx; fetch s3io; fi
done
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "| server | runs | median MiB/s | median server CPU s/GiB |"
echo "|---|---:|---:|---:|"
for name in s3io nginx; do
    awk -v n="$name" '$1 == n { mibs[++k] = $2; cpu[k] = $3 }
        function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
        END { printf "| %s | %d | %.1f | %.2f |\n", n, k, median(mibs, k), median(cpu, k) }' "$results"
done
