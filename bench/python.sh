#!/usr/bin/env bash
# bench/python.sh — s3io's Python package against boto3 (with and without its CRT transfer
# client), obstore and s3fs, from Python, against one local `s3io serve`, in the same run.
#
# Set-up (idempotent): the release `s3io` binary (cargo, unless S3IO_BIN names one); a bench
# virtualenv `.venv-bench` with the pinned peers and s3io's package built with
# `maturin develop --release`; s3fs in `.venv-bench-s3fs` of its own (its aiobotocore pins a
# botocore that boto3's release does not accept). Then `s3io serve` on 127.0.0.1 (port 0) in a
# temporary directory, one 1 GiB object and 1,000 × 1.2 MiB objects put through it.
#
# Cases (bench/python_clients.py has the code each client runs):
#   large-mem   the 1 GiB object into memory   (s3io: download_bytes; boto3: download_fileobj
#               into BytesIO; CRT: its transfer manager into BytesIO; obstore: get().bytes();
#               s3fs: cat_file)
#   large-file  the 1 GiB object into a file   (download_file / get().stream() / get_file)
#   small       1,000 × 1.2 MiB into memory, 16 threads   (download_bytes / get_object().read() /
#               the CRT manager / obstore.get().bytes() / cat_file)
# Every measurement is one client process (a warm-up GET first, then the case): wall time,
# user+sys CPU of the process, its peak RSS, and per-object latency for `small`. Bytes are
# checked (the large object's SHA-256, every length). RUNS rounds after one warm-up round, the
# clients' order rotating between rounds; the table has the medians.
#
# Usage: bench/python.sh                    RUNS=3 SMALL=1000 CLIENTS="s3io boto3 boto3-crt obstore s3fs"
#        CASES="large-mem large-file small"  MEMORY_LIMIT=268435456 (s3io's client memory limit)
#        S3IO_BIN, NO_BUILD: see bench/lib.sh (which also starts the server and cleans up)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
RUNS="${RUNS:-3}"
SMALL="${SMALL:-1000}"
CLIENTS="${CLIENTS:-s3io boto3 boto3-crt obstore s3fs}"
CASES="${CASES:-large-mem large-file small}"
MEMORY_LIMIT="${MEMORY_LIMIT:-268435456}"
PYTHON="${PYTHON:-python3}"

log() { printf 'bench/python.sh: %s\n' "$*" >&2; }

build_s3io

bench_venv "boto3==1.44.18" "awscrt==0.38.1" "obstore==0.12.1"
bench_venv="$BENCH_VENV"
s3fs_venv="$repo/.venv-bench-s3fs"
venv_with "$s3fs_venv" s3fs==2026.9.0
mkdir -p "$work/out"
start_server
endpoint="$ENDPOINT"
log "putting 1 GiB and $SMALL × 1.2 MiB"

sha256="$("$bench_venv/bin/python" - "$endpoint" "$SMALL" <<'PY'
import hashlib, os, sys
import s3io
endpoint, small = sys.argv[1], int(sys.argv[2])
client = s3io.Client(endpoint, access_key_id="s3io-local", secret_access_key="s3io-local-secret")
client.create_bucket("bench")
block = os.urandom(1 << 20)
large = bytearray()
for i in range(1024):
    large += hashlib.sha256(block + i.to_bytes(4, "big")).digest() * (1 << 15)
client.upload_bytes("bench", "large", large)
piece = bytes(large[: 1258291])
for i in range(small):
    client.upload_bytes("bench", f"small/{i:05}", piece)
print(hashlib.sha256(large).hexdigest())
PY
)"

results="$work/results.jsonl"
round=0
read -r -a clients <<<"$CLIENTS"
while (( round <= RUNS )); do
    for case in $CASES; do
        n=${#clients[@]}
        for (( i = 0; i < n; i++ )); do
            client="${clients[$(( (i + round) % n ))]}"
            python="$bench_venv/bin/python"
            [[ "$client" == s3fs ]] && python="$s3fs_venv/bin/python"
            line="$(timeout 600 nice -n 0 "$python" bench/python_clients.py "$client" "$case" "$endpoint" bench \
                --target "$work/out" --sha256 "$sha256" --small-count "$SMALL" --memory-limit "$MEMORY_LIMIT")" || {
                log "$client $case failed (round $round)"
                continue
            }
            if (( round > 0 )); then
                echo "$line" >>"$results"
            fi
            log "round $round: $line"
        done
    done
    round=$((round + 1))
done

"$bench_venv/bin/python" - "$results" "$MEMORY_LIMIT" <<'PY'
import json, statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[(r["scenario"], r["client"])].append(r)
mib, gib = 1 << 20, 1 << 30
for scenario in ["large-mem", "large-file", "small"]:
    rows = [(c, rs) for (s, c), rs in runs.items() if s == scenario]
    if not rows:
        continue
    print(f"\n{scenario} (medians of {len(rows[0][1])} runs)")
    header = "| client | MiB/s | CPU s/GiB | peak RSS MiB |" + (" p50 ms | p99 ms |" if scenario == "small" else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for client, rs in sorted(rows, key=lambda cr: -statistics.median(r["bytes"] / r["seconds"] for r in cr[1])):
        m = lambda f: statistics.median(f(r) for r in rs)
        line = f"| {client} | {m(lambda r: r['bytes'] / r['seconds'] / mib):.0f} | {m(lambda r: r['cpu'] / (r['bytes'] / gib)):.2f} | {m(lambda r: r['peak_rss'] / mib):.0f} |"
        if scenario == "small":
            line += f" {m(lambda r: r['p50_ms']):.1f} | {m(lambda r: r['p99_ms']):.1f} |"
        print(line)
PY
