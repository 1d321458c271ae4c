#!/usr/bin/env bash
# bench/distributed.sh — the distributed copy's Done-when run: bench/distributed_copy.py (10,000 small
# objects and 4 × 256 MiB between two buckets, a LocalCluster of 4 worker processes, one killed
# mid-run, every object's checksum compared) against a release `s3io serve`, with s3io's Python
# package built release into .venv-bench (as bench/python.sh does; dask installed there too).
#
# Usage: bench/distributed.sh [bench/distributed_copy.py arguments, e.g. --small 2000 --large 2]
# The binary, the server and its temporary directory: bench/lib.sh (S3IO_BIN, NO_BUILD honoured).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
build_s3io
bench_venv "dask[distributed]==2026.8.0"
start_server
time "$BENCH_VENV/bin/python" bench/distributed_copy.py "$ENDPOINT" "$@"
