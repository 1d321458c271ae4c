"""Fixtures: a real `s3io serve` on 127.0.0.1 (port 0) in a temporary directory, and clients.

The server is the `s3io` binary cargo built (``$S3IO_BIN``, else ``target/debug/s3io`` of this
repository); its endpoint is read from the first line it prints. One server serves the whole
session; each test gets a bucket of its own.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import s3io

REPO = Path(__file__).resolve().parents[3]
ACCESS_KEY = "s3io-local"
SECRET_KEY = "s3io-local-secret"
MIB = 1024 * 1024
#: The smallest part size S3 accepts for uploads: multi-part objects stay small in tests.
PART = 5 * MIB

_buckets = itertools.count()


def s3io_binary() -> str:
    binary = os.environ.get("S3IO_BIN") or str(REPO / "target" / "debug" / "s3io")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: build it with `cargo build -p s3io-cli` (scripts/test.sh does)")
    return binary


class Server:
    """A running `s3io serve`."""

    def __init__(self, root: Path, extra: list[str] | None = None) -> None:
        self.process = subprocess.Popen(
            [s3io_binary(), "serve", "--root", str(root), "--addr", "127.0.0.1:0", *(extra or [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()  # the server prints its endpoint first, then blocks
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"s3io serve did not say where it listens: {line!r} {self.process.stderr.read()!r}")
        self.endpoint = match.group(1)

    def client(self, **settings) -> s3io.Client:
        settings.setdefault("part_size", PART)
        return s3io.Client(self.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, **settings)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    server = Server(tmp_path_factory.mktemp("s3-data"))
    yield server
    server.stop()


@pytest.fixture
def client(server) -> s3io.Client:
    return server.client()


@pytest.fixture
def bucket(client) -> str:
    name = f"test-{os.getpid()}-{next(_buckets)}"
    client.create_bucket(name)
    return name


def data(size: int, seed: int = 0) -> bytes:
    """`size` bytes that differ from one seed to another and along the object."""
    block = bytes((seed * 31 + i * 7) % 251 for i in range(4093))
    return (block * (size // len(block) + 1))[:size]


def wait_for(condition, what: str, timeout: float = 10.0, every: float = 0.02):
    """Polls `condition` until it returns something true, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


PYTHON = sys.executable
