#!/usr/bin/env bash
# The s3io round trip, end to end, with nothing to set up: starts the embedded S3 server on
# loopback in a temporary directory, uploads a generated file, downloads it back and checks that
# the SHA-256 digests match. Everything it creates is removed on exit.
#
# Usage: scripts/demo.sh            (256 MiB)
#        DEMO_SIZE_MIB=1024 scripts/demo.sh
#
# `cargo run --release -p s3io-cli -- bench` runs the full benchmark suite the same way; this is
# the quick check that `s3io serve` and `s3io cp` move bytes exactly.
set -euo pipefail

size_mib="${DEMO_SIZE_MIB:-256}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

echo "==> building s3io (release)"
cargo build --release --quiet -p s3io-cli
s3io="${CARGO_TARGET_DIR:-$repo/target}/release/s3io"

work="$(mktemp -d "${TMPDIR:-/tmp}/s3io-demo.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting the embedded S3 server"
"$s3io" serve --root "$work/root" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
endpoint=""
for _ in $(seq 1 100); do
    endpoint="$(awk '/ at http:/ { print $NF; exit }' "$work/serve.log")"
    [[ -n "$endpoint" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$endpoint" ]] || { echo "the server printed no endpoint" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "    $endpoint"

# The server's documented local-only default credentials.
export S3IO_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=s3io-local
export AWS_SECRET_ACCESS_KEY=s3io-local-secret
export AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

echo "==> generating ${size_mib} MiB of random data"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/original.bin"
original_sha="$(sha256sum "$work/original.bin" | cut -d' ' -f1)"

"$s3io" --quiet mb s3://demo

seconds() { date +%s.%N; }
rate() { awk -v mib="$size_mib" -v t="$1" 'BEGIN { printf "%.2f s, %.0f MiB/s", t, (t > 0 ? mib / t : 0) }'; }

echo "==> upload:   s3io cp original.bin s3://demo/original.bin"
start="$(seconds)"
"$s3io" --quiet cp "$work/original.bin" s3://demo/original.bin
echo "    $(rate "$(awk -v a="$start" -v b="$(seconds)" 'BEGIN { print b - a }')")"

echo "==> download: s3io cp s3://demo/original.bin copy.bin"
start="$(seconds)"
"$s3io" --quiet cp s3://demo/original.bin "$work/copy.bin"
echo "    $(rate "$(awk -v a="$start" -v b="$(seconds)" 'BEGIN { print b - a }')")"

"$s3io" ls s3://demo/
copy_sha="$(sha256sum "$work/copy.bin" | cut -d' ' -f1)"
echo "==> sha256 original $original_sha"
echo "    sha256 copy     $copy_sha"
if [[ "$original_sha" != "$copy_sha" ]]; then
    echo "FAIL: the downloaded bytes differ" >&2
    exit 1
fi
echo "OK: ${size_mib} MiB round-tripped byte for byte"
