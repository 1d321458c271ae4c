#!/usr/bin/env bash
# The project's Python environment: a virtualenv `.venv` at the repository root holding
#   - moto's standalone S3 server (PyPI `moto[server]`), the second, independent S3 implementation
#     the library's conformance suite runs against (crates/s3io/tests/it/conformance/);
#   - maturin and pytest, which build the Python package crates/s3io-py into .venv and run its
#     tests (scripts/test.sh), with numpy and dask[distributed] that those tests use.
#
# Usage: scripts/python-env.sh        prints the path of `moto_server` on stdout (and nothing else)
#
# The Rust tests use $S3IO_MOTO_SERVER instead of .venv's moto_server when it names one; the
# environment is made all the same, for the Python package's tests.
#
# Idempotent and quick when the environment is there: a stamp file inside `.venv` records the
# pinned packages and a digest of the constraints file they were installed with, so a second run
# only compares two strings. A missing, partial or differently pinned environment is (re)made:
# `python3 -m venv`, then `pip install` of the packages below with every transitive dependency
# pinned by `scripts/python-constraints.txt` (from PyPI, through pip's own settings).
# Progress goes to stderr. `.venv` is git-ignored; delete it to start over.
#
# The Rust tests find the server as `$S3IO_MOTO_SERVER`, else `<repo>/.venv/bin/moto_server`.
set -euo pipefail

# The moto release the suite's per-case skips were written against (see conformance/server.rs).
MOTO_VERSION=5.2.5
# What builds and tests the Python package (crates/s3io-py).
PACKAGES=("moto[server]==$MOTO_VERSION" maturin==1.16.0 pytest==9.2.0 numpy==2.4.6 "dask[distributed]==2026.8.0")

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
constraints="$repo/scripts/python-constraints.txt"
server="$venv/bin/moto_server"
stamp="$venv/.s3io-moto"

python="${PYTHON:-python3}"
want="${PACKAGES[*]} $(sha256sum "$constraints" | cut -d' ' -f1)"

if [[ -x "$server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$server"
    exit 0
fi

log() { printf 'python-env: %s\n' "$*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    log "$python not found: install Python 3.9 or later (the conformance suite runs moto's S3 server)"
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv with $("$python" --version 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

log "installing ${PACKAGES[*]} into $venv"
rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -c "$constraints" "${PACKAGES[@]}" >&2

if [[ ! -x "$server" ]]; then
    log "pip finished but $server is missing"
    exit 1
fi
# Each must at least import: a broken dependency shows here, not as a test timeout.
"$venv/bin/python" -c 'import moto.server, moto.s3, pytest, numpy, distributed' >&2
printf '%s\n' "$want" >"$stamp"
log "moto $MOTO_VERSION, maturin, pytest, numpy and dask ready"
echo "$server"
