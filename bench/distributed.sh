#!/usr/bin/env bash
# bench/distributed.sh — the distributed copy's Done-when run: bench/distributed_copy.py (10,000 small
# objects and 4 × 256 MiB between two buckets, a LocalCluster of 4 worker processes, one killed
# mid-run, every object's checksum compared) against a release `s3io serve`, with s3io's Python
# package built release into .venv-bench (as bench/python.sh does; dask installed there too).
#
# Usage: bench/distributed.sh [bench/distributed_copy.py arguments, e.g. --small 2000 --large 2]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [[ -z "${S3IO_BIN:-}" ]]; then
    nice -n 10 cargo build --release -p s3io-cli --bin s3io >&2
    S3IO_BIN="$repo/target/release/s3io"
fi
venv="$repo/.venv-bench"
[[ -x "$venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check maturin==1.16.0 "dask[distributed]==2026.8.0" >&2
VIRTUAL_ENV="$venv" nice -n 10 "$venv/bin/maturin" develop --release --quiet -m crates/s3io-py/Cargo.toml >&2

work="$(mktemp -d "${TMPDIR:-/tmp}/s3io-distributed.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
"$S3IO_BIN" serve --root "$work/data" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
endpoint=""
for _ in $(seq 100); do
    endpoint="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 || true)"
    [[ -n "$endpoint" ]] && break
    sleep 0.1
done
[[ -n "$endpoint" ]] || { cat "$work/serve.log" >&2; exit 1; }
time "$venv/bin/python" bench/distributed_copy.py "$endpoint" "$@"
