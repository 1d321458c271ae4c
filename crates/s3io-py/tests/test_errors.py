"""Errors become the exceptions of s3io.exceptions, carrying the S3 code, bucket and key."""

from __future__ import annotations

import pickle
import socket

import pytest

import s3io
from s3io import exceptions
from conftest import ACCESS_KEY, PART


def test_a_missing_key_is_no_such_key_and_file_not_found(client, bucket):
    with pytest.raises(s3io.NoSuchKey) as raised:
        client.download_bytes(bucket, "no/such\nkey")
    error = raised.value
    assert isinstance(error, FileNotFoundError) and isinstance(error, s3io.NotFound)
    assert (error.code, error.status, error.bucket, error.key) == ("NoSuchKey", 404, bucket, "no/such\nkey")
    assert error.operation == "GetObject"
    # The key's line break is escaped in the message: it cannot forge a line of output.
    assert f"GetObject s3://{bucket}/no/such\\nkey failed: NoSuchKey (HTTP 404)" in str(error)
    assert "\n" not in str(error)


def test_a_missing_bucket_is_no_such_bucket_for_every_operation(client, tmp_path):
    operations = [
        lambda: client.download_bytes("no-such-bucket", "k"),
        lambda: client.download_file("no-such-bucket", "k", tmp_path / "k"),
        lambda: client.upload_bytes("no-such-bucket", "k", b"x"),
        lambda: list(client.list("no-such-bucket")),
        lambda: client.head("no-such-bucket", "k"),
    ]
    for operation in operations:
        with pytest.raises(s3io.NotFound) as raised:
            operation()
        assert raised.value.bucket == "no-such-bucket"
        assert raised.value.status == 404
    with pytest.raises(s3io.NoSuchBucket):
        client.download_bytes("no-such-bucket", "k")
    assert list(tmp_path.iterdir()) == []


def test_wrong_credentials_are_access_denied_and_permission_error(server, bucket):
    wrong = s3io.Client(server.endpoint, access_key_id=ACCESS_KEY, secret_access_key="wrong", max_attempts=1)
    with pytest.raises(exceptions.AccessDenied) as raised:
        wrong.download_bytes(bucket, "k")
    assert isinstance(raised.value, PermissionError)
    assert raised.value.status == 403 and raised.value.code
    assert raised.value.request_id is not None or raised.value.code


def test_a_closed_port_is_a_connection_error_after_bounded_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = s3io.Client(
        f"http://127.0.0.1:{port}",
        access_key_id="a",
        secret_access_key="b",
        max_attempts=2,
        retry_timeout=0.5,
        connect_timeout=1.0,
    )
    with pytest.raises((exceptions.S3ConnectionError, exceptions.S3TimeoutError)) as raised:
        client.download_bytes("bkt", "k")
    assert isinstance(raised.value, (ConnectionError, TimeoutError))
    assert raised.value.bucket == "bkt" and raised.value.key == "k"
    assert f"127.0.0.1:{port}" in str(raised.value) or "endpoint" in str(raised.value) or raised.value.operation


def test_settings_are_checked_when_the_client_is_made(server):
    with pytest.raises(exceptions.ConfigError, match="memory limit"):
        server.client(part_size=8 * PART, memory_limit=PART)
    with pytest.raises(exceptions.ConfigError) as raised:
        server.client(concurrency=0)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(ValueError, match="addressing_style"):
        server.client(addressing_style="sideways")
    with pytest.raises(ValueError, match="retry_timeout"):
        server.client(retry_timeout=-1)
    with pytest.raises(ValueError, match="not a mix"):
        s3io.Client(server.endpoint, access_key_id="only-the-id")
    with pytest.raises(exceptions.ConfigError, match="scheme"):
        s3io.Client("ftp://127.0.0.1:1", anonymous=True)


def test_a_part_size_below_s3s_minimum_is_refused_for_multipart_uploads(server, bucket):
    client = server.client(part_size=1024)
    with pytest.raises(exceptions.ConfigError, match="minimum"):
        client.upload_bytes(bucket, "k", b"x" * 4096)


def test_exceptions_pickle_with_their_attributes(client, bucket):
    # Dask and multiprocessing ship exceptions between processes.
    with pytest.raises(s3io.NoSuchKey) as raised:
        client.head(bucket, "missing")
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is s3io.NoSuchKey
    assert (copy.bucket, copy.key, copy.code, copy.status) == (bucket, "missing", "NoSuchKey", 404)
    assert str(copy) == str(raised.value)


def test_every_exception_is_an_s3_error():
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.S3Error), name
