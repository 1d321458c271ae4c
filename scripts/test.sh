#!/usr/bin/env bash
# Every test of the workspace — the README's one test command, and what `.ci/run` runs:
#   1. the Python environment (scripts/python-env.sh: it creates .venv at the repo root and
#      installs moto, maturin, pytest, numpy and dask if missing);
#   2. every unit and integration test under cargo-nextest (.config/nextest.toml: each test in
#      its own process, a per-test timeout so a hang fails in minutes, not at CI's limit);
#   3. the Python package (crates/s3io-py): `maturin develop` builds it into .venv (a debug
#      build in the workspace's target/, reusing the library the tests just compiled), then
#      pytest runs crates/s3io-py/tests against the `s3io` binary nextest built;
#   4. `s3io bench`'s test again in a build with the `alloc-count` feature, which counts heap
#      allocations (the default build does not);
#   5. the doctests (nextest does not run them);
#   6. the criterion benches in test mode: each benchmark runs once, so its set-up and
#      assertions are checked without measuring anything.
# The tests start their own embedded S3 servers on 127.0.0.1; nothing else is needed.
#
# Usage: scripts/test.sh [extra cargo-nextest arguments, e.g. a filter: -E 'test(retry)']
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python environment (scripts/python-env.sh)"
bash scripts/python-env.sh >/dev/null

if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

# `--lib --bins --tests`: the test targets only; the examples (which `cargo clippy --all-targets`
# compiles in .ci/run) and the benches (below) are not built here.
step "cargo nextest run --workspace --lib --bins --tests"
cargo nextest run --workspace --lib --bins --tests --no-tests=warn "$@" </dev/null

step "python package: maturin develop, then pytest crates/s3io-py/tests"
# The tests run the `s3io` binary; nextest builds it for the CLI's tests (a filtered run too).
if [[ ! -x target/debug/s3io ]]; then
    cargo build -p s3io-cli --bin s3io
fi
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop --quiet -m crates/s3io-py/Cargo.toml </dev/null
S3IO_BIN="$PWD/target/debug/s3io" .venv/bin/python -m pytest crates/s3io-py/tests -q -p no:cacheprovider </dev/null

step "s3io bench with the alloc-count feature (the allocation column's counting allocator)"
# The whole workspace's feature resolution with s3io-cli's feature added, so that only s3io-cli
# rebuilds (`-p s3io-cli` alone resolves its dependencies' features apart: 34 crates rebuilt);
# `--test it` builds the `s3io` binary and the integration tests that run it, not the binary's
# unit tests (the other packages' `it` tests are unchanged, so fresh).
cargo nextest run --workspace --features s3io-cli/alloc-count --test it --no-tests=fail \
    -E 'test(bench_runs_every_scenario)' </dev/null

# s3io-py is left out of the doctests and benches (it has none): cargo would build pyo3 for it
# without maturin's PYO3_BUILD_EXTENSION_MODULE, i.e. a second time (a minute of CI). Leaving it
# out changes no other crate's features.
step "cargo test --workspace --exclude s3io-py --doc"
cargo test --workspace --exclude s3io-py --doc </dev/null

# `--bench '*'`: the bench targets only (`--benches` would build and run the libraries' unit tests
# a second time, as they are bench targets too).
step "cargo test --workspace --exclude s3io-py --bench '*' (each benchmark once)"
cargo test --workspace --exclude s3io-py --bench '*' </dev/null
