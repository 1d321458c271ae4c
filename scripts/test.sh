#!/usr/bin/env bash
# Every test of the workspace — the README's one test command, and what `.ci/run` runs:
#   1. the Python environment of the conformance tests (scripts/python-env.sh, when present:
#      it creates .venv at the repo root and installs moto if missing);
#   2. every unit and integration test under cargo-nextest (.config/nextest.toml: each test in
#      its own process, a per-test timeout so a hang fails in minutes, not at CI's limit);
#   3. `s3io bench`'s test again in a build with the `alloc-count` feature, which counts heap
#      allocations (the default build does not);
#   4. the doctests (nextest does not run them);
#   5. the criterion benches in test mode: each benchmark runs once, so its set-up and
#      assertions are checked without measuring anything.
# The tests start their own embedded S3 servers on 127.0.0.1; nothing else is needed.
#
# Usage: scripts/test.sh [extra cargo-nextest arguments, e.g. a filter: -E 'test(retry)']
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

if [[ -f scripts/python-env.sh ]]; then
    step "python environment (scripts/python-env.sh)"
    bash scripts/python-env.sh
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

step "cargo nextest run --workspace"
cargo nextest run --workspace --no-tests=warn "$@" </dev/null

step "s3io bench with the alloc-count feature (the allocation column's counting allocator)"
# The whole workspace's feature resolution with s3io-cli's feature added, so that only s3io-cli
# rebuilds (`-p s3io-cli` alone resolves its dependencies' features apart: 34 crates rebuilt).
cargo nextest run --workspace --features s3io-cli/alloc-count --no-tests=fail -E 'test(bench_runs_every_scenario)' </dev/null

step "cargo test --workspace --doc"
cargo test --workspace --doc </dev/null

# `--bench '*'`: the bench targets only (`--benches` would build and run the libraries' unit tests
# a second time, as they are bench targets too).
step "cargo test --workspace --bench '*' (each benchmark once)"
cargo test --workspace --bench '*' </dev/null
