#!/usr/bin/env bash
# bench/keys_peers.sh — every key shape S3 accepts, through `s3io serve`, with the aws CLI and boto3.
#
# Starts the embedded server on 127.0.0.1 (OS-chosen port) in a temporary directory. For each
# client and each key shape (folder marker `dir/`, `a` beside `a/b`, a 1,000-byte key without
# `/`, a leading `/`, `//`, `.` and `..` segments, control characters, ...) it runs
# put / head / get / list / copy / delete and checks each answer (bytes, size, listed key, copy's
# bytes, key gone after delete). Then it checks that nothing was written outside `--root` and
# that inside it only the store's own `.s3io/` holds files. Prints PASS/FAIL per step and a
# summary; exit code 1 if any step failed.
#
# Usage: bench/keys_peers.sh                  (both clients; builds target/release/s3io)
#        S3IO_BIN=target/debug/s3io bench/keys_peers.sh   (any build of s3io)
#        CLIENTS=boto3 bench/keys_peers.sh    (one of them)
# Needs python3 with boto3 and the aws CLI (see ../shared/peers/install.sh); it installs nothing.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS="${CLIENTS:-awscli boto3}"
PYTHON="${PYTHON:-$(pyenv which python3 2>/dev/null || command -v python3)}"
AWS_BIN="${AWS_BIN:-$(pyenv which aws 2>/dev/null || command -v aws || true)}"
export PYTHON AWS_BIN

build_s3io
start_server
log "versions: s3io $(peer_version s3io); $("$AWS_BIN" --version 2>&1 | awk '{print $1}'); boto3 $("$PYTHON" -c 'import boto3; print(boto3.__version__)')"

# Something beside the root, to see that nothing lands next to it.
ls -A "$work" >"$work/before.txt"

rc=0
"$PYTHON" - "$ENDPOINT" "$CLIENTS" <<'PY' || rc=$?
import json, os, subprocess, sys
import boto3
from botocore.config import Config

endpoint, clients = sys.argv[1], sys.argv[2].split()
aws = os.environ["AWS_BIN"]
shapes = {
    "folder marker": "dir/",
    "key a": "a",
    "a beside a/b": "a/b",
    "1,000-byte key": "x" * 1000,
    "300-byte components": "y" * 300 + "/" + "z" * 300,
    "leading /": "/leading",
    "a//b": "a//b",
    ". segment": "a/./b",
    ".. segments": "../../escape",
    "a/../../../x": "a/../../../escape2",
    "control characters": "ctl\x01\x07\x1ftab\tend",
    "spaces, + and %": "sp ace+plus%pct",
    "unicode": "ünï/ключ/鍵",
    "? and #": "q?x=1#frag",
    "1,024 bytes": "p" * 511 + "/" + "q" * 512,
}
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
passes = fails = 0

def step(client, shape, op, fn):
    global passes, fails
    try:
        fn()
        print(f"PASS  {client:7} {shape:22} {op}")
        passes += 1
    except Exception as e:  # report and go on with the next step
        print(f"FAIL  {client:7} {shape:22} {op}: {str(e)[-300:]!r}")
        fails += 1

def cli(*args, out=True):
    p = subprocess.run([aws, "--endpoint-url", endpoint, "s3api", *args], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode(errors="replace").strip())
    return json.loads(p.stdout) if out and p.stdout.strip() else None

def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")

for client in clients:
    bucket = f"keys-{client}"
    s3.create_bucket(Bucket=bucket)
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"keys-peers-{os.getpid()}")
    for n, (shape, key) in enumerate(shapes.items()):
        body = f"body of {key!r}".encode()
        copy = f"copies/{n:02}"  # "copies/" + a 1,024-byte key would be too long
        if client == "boto3":
            put = lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/x-key")
            head = lambda: expect(s3.head_object(Bucket=bucket, Key=key)["ContentLength"], len(body), "size")
            get = lambda: expect(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), body, "bytes")
            listed = lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])]
            cp = lambda: s3.copy_object(Bucket=bucket, Key=copy, CopySource={"Bucket": bucket, "Key": key})
            get_copy = lambda: expect(s3.get_object(Bucket=bucket, Key=copy)["Body"].read(), body, "copied bytes")
            delete = lambda: [s3.delete_object(Bucket=bucket, Key=k) for k in (key, copy)]
            def gone():
                try:
                    s3.head_object(Bucket=bucket, Key=key)
                except s3.exceptions.ClientError as e:
                    expect(e.response["Error"]["Code"], "404", "HEAD after delete")
                    return
                raise AssertionError("still there after delete")
        else:
            with open(tmp, "wb") as f:
                f.write(body)
            put = lambda: cli("put-object", "--bucket", bucket, "--key", key, "--body", tmp, "--content-type", "text/x-key")
            head = lambda: expect(cli("head-object", "--bucket", bucket, "--key", key)["ContentLength"], len(body), "size")
            def get():
                cli("get-object", "--bucket", bucket, "--key", key, tmp + ".out")
                expect(open(tmp + ".out", "rb").read(), body, "bytes")
            listed = lambda: [o["Key"] for o in (cli("list-objects-v2", "--bucket", bucket, "--prefix", key) or {}).get("Contents", [])]
            # botocore URL-encodes a string copy source itself.
            cp = lambda: cli("copy-object", "--bucket", bucket, "--key", copy, "--copy-source", f"{bucket}/{key}")
            def get_copy():
                cli("get-object", "--bucket", bucket, "--key", copy, tmp + ".out")
                expect(open(tmp + ".out", "rb").read(), body, "copied bytes")
            delete = lambda: [cli("delete-object", "--bucket", bucket, "--key", k, out=False) for k in (key, copy)]
            def gone():
                try:
                    cli("head-object", "--bucket", bucket, "--key", key)
                except RuntimeError as e:
                    if "404" in str(e) or "Not Found" in str(e):
                        return
                    raise
                raise AssertionError("still there after delete")
        step(client, shape, "put", put)
        step(client, shape, "head", head)
        step(client, shape, "get", get)
        step(client, shape, "list", lambda: expect(listed()[:1], [key], "first key listed under the key as prefix"))
        step(client, shape, "copy", lambda: (cp(), get_copy()))
        step(client, shape, "delete", lambda: (delete(), gone()))
    for p in (tmp, tmp + ".out"):
        if os.path.exists(p):
            os.remove(p)
    step(client, "(bucket)", "empty after deletes", lambda: expect(s3.list_objects_v2(Bucket=bucket).get("KeyCount"), 0, "keys left"))
    s3.delete_bucket(Bucket=bucket)

print(f"keys: {passes} passed, {fails} failed")
sys.exit(1 if fails else 0)
PY

# Nothing outside the root; inside it, only the store's own directory.
ls -A "$work" >"$work/after.txt"
if diff <(grep -v -e '^after.txt$' -e '^before.txt$' "$work/before.txt") <(grep -v -e '^after.txt$' -e '^before.txt$' "$work/after.txt") >/dev/null; then
    echo "PASS  nothing new beside --root ($(tr '\n' ' ' <"$work/after.txt"))"
else
    echo "FAIL  new entries beside --root:"; diff "$work/before.txt" "$work/after.txt" || true; rc=1
fi
outside="$(cd "$work/root" && find . -mindepth 1 -maxdepth 1 ! -name .s3io)"
if [[ -z "$outside" ]]; then
    echo "PASS  --root holds only .s3io/"
else
    echo "FAIL  --root holds more than .s3io/: $outside"; rc=1
fi
exit "$rc"
