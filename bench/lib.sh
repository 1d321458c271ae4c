# bench/lib.sh — shared by the scripts in bench/ that source it (compare.sh, peer_compat.sh,
# python.sh, distributed.sh, …; sourced, not run).
#
# Finds (or installs) the peer S3 clients, builds s3io, starts `s3io serve` on loopback in a
# temporary directory and removes everything on exit. Callers set `set -euo pipefail` first.
#
# Environment it honours:
#   S3IO_BIN     an s3io binary to use instead of building target/release/s3io (NO_BUILD=1 uses
#                target/release/s3io as it is)
#   PEERS_DIR    the directory holding peers.sh, crt_cp.py, install.sh (default: ../shared/peers
#                beside the repository)
#   S5CMD_BIN, AWS_BIN, PYTHON, RCLONE_BIN   peer binaries; found or installed when unset
#   NO_INSTALL=1 never run the peers' install.sh (missing peers are reported and skipped)

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$repo/../shared/peers}"

# Loopback only: the local server must never be reached through a proxy, and no client may go
# looking for credentials or regions on the network (IMDS).
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-s3io-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-s3io-local-secret}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 S3IO_ENDPOINT_URL HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The temporary directory and the server, removed and stopped on any exit.
work="$(mktemp -d "${TMPDIR:-/tmp}/s3io-bench.XXXXXX")"
server_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# find_peers: sets S5CMD_BIN AWS_BIN PYTHON RCLONE_BIN to real binaries (past pyenv shims, which
# add start-up time to every run); runs $PEERS_DIR/install.sh once if one is missing.
find_peers() {
    local py
    py="${PYTHON:-$(pyenv which python3 2>/dev/null || command -v python3 || true)}"
    PYTHON="$py"
    if [[ -z "${S5CMD_BIN:-}" && -n "$py" ]]; then
        S5CMD_BIN="$("$py" -c 'import os,s5cmd; print(os.path.join(os.path.dirname(s5cmd.__file__),"bin","s5cmd"))' 2>/dev/null || true)"
    fi
    AWS_BIN="${AWS_BIN:-$(pyenv which aws 2>/dev/null || command -v aws || true)}"
    RCLONE_BIN="${RCLONE_BIN:-$(command -v rclone || true)}"
    if ! peers_present && [[ "${NO_INSTALL:-0}" != 1 ]]; then
        [[ -x "$PEERS_DIR/install.sh" ]] || die "a peer is missing and $PEERS_DIR/install.sh is not there (set PEERS_DIR)"
        log "installing peers with $PEERS_DIR/install.sh"
        local line
        while IFS= read -r line; do
            case $line in
                S5CMD_BIN=*) S5CMD_BIN="${line#*=}" ;;
                AWS_BIN=*) AWS_BIN="${line#*=}" ;;
                PYTHON=*) PYTHON="${line#*=}" ;;
            esac
        done < <("$PEERS_DIR/install.sh")
        RCLONE_BIN="$(command -v rclone || true)"
    fi
    export S5CMD_BIN AWS_BIN PYTHON RCLONE_BIN
}

peers_present() {
    [[ -x "${S5CMD_BIN:-}" && -x "${AWS_BIN:-}" && -x "${RCLONE_BIN:-}" && -x "${PYTHON:-}" ]] &&
        "$PYTHON" -c 'import awscrt' 2>/dev/null
}

# peer_available CLIENT: true when that client can run here.
peer_available() {
    case $1 in
        s3io | s3io-c*) [[ -x "$S3IO" ]] ;;
        s3io-base) [[ -x "${S3IO_BASE_BIN:-}" ]] ;;
        s5cmd) [[ -x "${S5CMD_BIN:-}" ]] ;;
        awscli) [[ -x "${AWS_BIN:-}" ]] ;;
        rclone) [[ -x "${RCLONE_BIN:-}" ]] ;;
        crt) [[ -x "${PYTHON:-}" ]] && "$PYTHON" -c 'import awscrt' 2>/dev/null ;;
        *) return 1 ;;
    esac
}

# peer_version CLIENT: one short version string.
peer_version() {
    case $1 in
        s3io) echo "$("$S3IO" --version | awk '{print $2}') ($S3IO_REV)" ;;
        s3io-c*) echo "$(peer_version s3io) --concurrency ${1#s3io-c}" ;;
        s3io-base) echo "$("$S3IO_BASE_BIN" --version | awk '{print $2}') (${S3IO_BASE_REV:-base})" ;;
        s5cmd) "$S5CMD_BIN" version 2>/dev/null | head -1 ;;
        awscli) "$AWS_BIN" --version 2>&1 | awk '{print $1}' | sed 's|aws-cli/|aws-cli |' ;;
        rclone) "$RCLONE_BIN" version 2>/dev/null | awk 'NR==1 {print $2}' ;;
        crt) echo "awscrt $("$PYTHON" -c 'import awscrt; print(awscrt.__version__)' 2>/dev/null)" ;;
    esac
}

# build_s3io: sets S3IO to a private copy of the binary (other engineers may rebuild
# target/release/s3io while a benchmark runs) and S3IO_REV to the commit it was built from.
build_s3io() {
    local bin="${S3IO_BIN:-}"
    if [[ -z "$bin" ]]; then
        bin="${CARGO_TARGET_DIR:-$repo/target}/release/s3io"
        if [[ "${NO_BUILD:-0}" != 1 ]]; then
            log "building s3io (cargo build --release -p s3io-cli)"
            (cd "$repo" && cargo build --release --quiet -p s3io-cli) || die "cargo build failed"
        fi
    fi
    [[ -x "$bin" ]] || die "no s3io binary at $bin"
    mkdir -p "$work/bin"
    cp "$bin" "$work/bin/s3io"
    S3IO="$work/bin/s3io"
    S3IO_REV="$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(cd "$repo" && git status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
        S3IO_REV="$S3IO_REV+dirty"
    fi
    export S3IO S3IO_REV
}

# served_endpoint LOG PID: waits for the `s3io serve` of PID to print its endpoint into LOG and
# prints it; dies if the server exits or prints no loopback endpoint within 10 s.
served_endpoint() {
    local log_file="$1" pid="$2" endpoint=""
    for _ in $(seq 1 100); do
        endpoint="$(awk '/ at http:/ { print $NF; exit }' "$log_file")"
        [[ -n "$endpoint" ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log_file" >&2; die "s3io serve exited"; }
        sleep 0.1
    done
    [[ "$endpoint" == http://127.0.0.1:* ]] || die "s3io serve printed no loopback endpoint: $(cat "$log_file")"
    echo "$endpoint"
}

# start_server: starts `s3io serve` on 127.0.0.1 with an OS-chosen port (emulating the network
# SERVE_NETWORK names, if set: `s3io serve --network`); sets ENDPOINT.
start_server() {
    "$S3IO" serve --root "$work/root" --addr 127.0.0.1:0 ${SERVE_NETWORK:+--network "$SERVE_NETWORK"} \
        >"$work/serve.log" 2>&1 &
    server_pid=$!
    ENDPOINT="$(served_endpoint "$work/serve.log" "$server_pid")"
    export ENDPOINT
    log "s3io serve at $ENDPOINT (pid $server_pid)"
}

# newest_data_file: the path of the object data file `s3io serve` wrote last (objects are
# immutable files under root/.s3io/data/, named by id; keys live in the server's index, so the
# newest file is the object just uploaded).
newest_data_file() {
    local newest
    newest="$(ls -t "$work/root/.s3io/data" 2>/dev/null | head -n 1)"
    [[ -n "$newest" ]] && echo "$work/root/.s3io/data/$newest"
}

# server_cpu_ticks: user+system clock ticks the server has used so far.
server_cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$server_pid/stat" 2>/dev/null || echo 0
}

# parse_size "1GiB" -> bytes. Suffixes: K/KiB M/MiB G/GiB (binary), KB MB GB (decimal), none.
parse_size() {
    local s="$1" n unit
    [[ "$s" =~ ^([0-9]+(\.[0-9]+)?)[[:space:]]*([A-Za-z]*)$ ]] || die "bad size: $s"
    n="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[3]}"
    case ${unit,,} in
        "" | b) awk -v n="$n" 'BEGIN { printf "%d\n", n }' ;;
        k | kib) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1024 }' ;;
        m | mib) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1048576 }' ;;
        g | gib) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1073741824 }' ;;
        kb) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1000 }' ;;
        mb) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1000000 }' ;;
        gb) awk -v n="$n" 'BEGIN { printf "%d\n", n * 1000000000 }' ;;
        *) die "bad size unit: $s" ;;
    esac
}

# make_file PATH BYTES: incompressible test data.
make_file() {
    head -c "$2" /dev/urandom >"$1"
}

# venv_with DIR PACKAGE...: the virtualenv DIR (made once, with $PYTHON or python3) holding the
# pinned PACKAGEs (pip, quiet; quick when they are there already).
venv_with() {
    local dir="$1"
    shift
    [[ -x "$dir/bin/python" ]] || "${PYTHON:-python3}" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
}

# bench_venv PACKAGE...: the bench virtualenv .venv-bench with maturin and the pinned PACKAGEs,
# and s3io's Python package built release into it (`maturin develop --release`); sets BENCH_VENV.
bench_venv() {
    BENCH_VENV="$repo/.venv-bench"
    venv_with "$BENCH_VENV" maturin==1.16.0 "$@"
    log "building s3io's Python package (release) into $BENCH_VENV"
    (cd "$repo" && VIRTUAL_ENV="$BENCH_VENV" nice -n 10 "$BENCH_VENV/bin/maturin" develop --release --quiet \
        -m crates/s3io-py/Cargo.toml >&2)
}
