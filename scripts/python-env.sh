#!/usr/bin/env bash
# The project's Python environment: a virtualenv `.venv` at the repository root holding moto's
# standalone S3 server (PyPI `moto[server]`), the second, independent S3 implementation the
# library's conformance suite runs against (crates/s3io/tests/it/conformance/).
#
# Usage: scripts/python-env.sh        prints the path of `moto_server` on stdout (and nothing else)
#
# Idempotent and quick when the environment is there: a stamp file inside `.venv` records the
# pinned moto version and a digest of the constraints file it was installed with, so a second run
# only compares two strings. A missing, partial or differently pinned environment is (re)made:
# `python3 -m venv`, then `pip install` of `moto[server]==$MOTO_VERSION` with every transitive
# dependency pinned by `scripts/python-constraints.txt` (from PyPI, through pip's own settings).
# Progress goes to stderr. `.venv` is git-ignored; delete it to start over.
#
# The Rust tests find the server as `$S3IO_MOTO_SERVER`, else `<repo>/.venv/bin/moto_server`.
set -euo pipefail

# The moto release the suite's per-case skips were written against (see conformance/server.rs).
MOTO_VERSION=5.2.5

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
constraints="$repo/scripts/python-constraints.txt"
server="$venv/bin/moto_server"
stamp="$venv/.s3io-moto"

python="${PYTHON:-python3}"
want="moto[server]==$MOTO_VERSION $(sha256sum "$constraints" | cut -d' ' -f1)"

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

log "installing moto[server]==$MOTO_VERSION into $venv"
rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -c "$constraints" "moto[server]==$MOTO_VERSION" >&2

if [[ ! -x "$server" ]]; then
    log "pip finished but $server is missing"
    exit 1
fi
# The server must at least import: a broken dependency shows here, not as a test timeout.
"$venv/bin/python" -c 'import moto.server, moto.s3' >&2
printf '%s\n' "$want" >"$stamp"
log "moto $MOTO_VERSION ready"
echo "$server"
