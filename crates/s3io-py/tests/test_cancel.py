"""Ctrl-C in a real child Python process: the transfer is cancelled and cleaned up (no multipart
upload left, no temporary file), then KeyboardInterrupt ends the process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ACCESS_KEY, PART, SECRET_KEY, Server, data, wait_for

# The child installs Python's own SIGINT handler: a process started in the background by a
# non-interactive shell (as CI may start the tests) inherits SIGINT ignored, and Python then
# never raises KeyboardInterrupt. An interactive user's Python always has the handler.
CHILD_PRELUDE = """
import sys, time, io, signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import s3io
client = s3io.Client(sys.argv[1], access_key_id=sys.argv[2], secret_access_key=sys.argv[3],
                     part_size=5 * 1024 * 1024, concurrency=2)
try:
{body}
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def run_child(endpoint: str, body: str) -> subprocess.Popen:
    code = CHILD_PRELUDE.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.Popen(
        [sys.executable, "-c", code, endpoint, ACCESS_KEY, SECRET_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(child: subprocess.Popen) -> tuple[int, str, str]:
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"the child did not exit within 20 s of SIGINT: {out} {err}")
    return child.returncode, out, err


def test_sigint_during_a_multipart_upload_aborts_it_before_exiting(server, client, bucket):
    child = run_child(
        server.endpoint,
        f"""
        class Slow(io.RawIOBase):
            def readable(self): return True
            def read(self, n=-1):
                time.sleep(0.05)  # a slow pipe: 20 MiB/s
                return b"x" * min(n, 1024 * 1024)
        client.upload_stream({bucket!r}, "endless", Slow())
        """,
    )
    try:
        wait_for(lambda: client.list_multipart_uploads(bucket), "the child's multipart upload to start")
        returncode, out, err = interrupt(child)
    finally:
        if child.poll() is None:
            child.kill()
    assert returncode == 130, (out, err)
    assert out.strip() == "interrupted", err
    assert client.list_multipart_uploads(bucket) == [], "the multipart upload was left behind"


def test_sigint_during_a_download_leaves_no_temporary_file(tmp_path):
    # A server that answers the upload and the download's first GET, then nothing more: the
    # download waits (retrying) until it is interrupted.
    server = Server(tmp_path / "data", ["--faults", "outage=60s,outage-after=4,outage-mode=drop"])
    try:
        uploader = server.client(part_size=64 * 1024 * 1024)
        uploader.create_bucket("bkt")  # request 0
        uploader.upload_bytes("bkt", "big", data(3 * PART, seed=1))  # request 1: one PutObject
        target = tmp_path / "out"
        target.mkdir()
        child = run_child(server.endpoint, f"client.download_file('bkt', 'big', {str(target / 'big.bin')!r})")
        try:
            wait_for(lambda: any(target.iterdir()), "the download's temporary file")
            returncode, out, err = interrupt(child)
        finally:
            if child.poll() is None:
                child.kill()
        assert returncode == 130, (out, err)
        assert list(target.iterdir()) == [], "files left behind after Ctrl-C"
    finally:
        server.stop()
