"""Every transfer, byte for byte, against `s3io serve`: to and from memory, files and streams,
one part and several, and what each reports."""

from __future__ import annotations

import array
import hashlib
import io
import time

import pytest

import s3io
from conftest import MIB, PART, data

SIZES = [0, 1, 1000, PART, 2 * PART + 12345]


@pytest.mark.parametrize("size", SIZES)
def test_upload_bytes_then_download_bytes_is_byte_exact(client, bucket, size):
    payload = data(size, seed=size % 7)
    uploaded = client.upload_bytes(bucket, f"obj-{size}", payload)
    assert uploaded.size == size
    assert uploaded.parts == (0 if size <= PART else 3)
    assert uploaded.checksum_algorithm == "CRC64NVME"
    got = client.download_bytes(bucket, f"obj-{size}")
    assert type(got) is bytes
    assert got == payload


def test_upload_bytes_takes_any_buffer_without_copying_it(client, bucket):
    payload = data(PART + 7, seed=3)
    client.upload_bytes(bucket, "from-bytearray", bytearray(payload))
    client.upload_bytes(bucket, "from-memoryview", memoryview(payload)[7:])
    ints = array.array("I", range(1000))
    client.upload_bytes(bucket, "from-array", ints)
    assert client.download_bytes(bucket, "from-bytearray") == payload
    assert client.download_bytes(bucket, "from-memoryview") == payload[7:]
    assert client.download_bytes(bucket, "from-array") == ints.tobytes()


def test_download_into_fills_a_caller_buffer_in_place_and_reuses_it(client, bucket):
    first, second = data(2 * PART + 1, seed=1), data(PART // 2, seed=2)
    client.upload_bytes(bucket, "first", first)
    client.upload_bytes(bucket, "second", second)
    buffer = bytearray(3 * PART)
    address = id(buffer)
    assert client.download_into(bucket, "first", buffer) == len(first)
    assert buffer[: len(first)] == first
    assert client.download_into(bucket, "second", buffer) == len(second)
    assert buffer[: len(second)] == second
    assert buffer[len(second) : len(first)] == first[len(second) :], "bytes past the object were touched"
    assert len(buffer) == 3 * PART and id(buffer) == address
    # A slice of a larger buffer, through a memoryview.
    view = memoryview(buffer)[100 : 100 + len(second)]
    client.download_into(bucket, "second", view)
    assert buffer[100 : 100 + len(second)] == second


def test_download_into_a_numpy_array(client, bucket):
    np = pytest.importorskip("numpy")
    values = np.arange(PART // 4 + 3, dtype=np.uint32)
    client.upload_bytes(bucket, "array", values)
    out = np.zeros_like(values)
    assert client.download_into(bucket, "array", out) == values.nbytes
    assert (out == values).all()


def test_download_into_refuses_read_only_short_and_strided_buffers(client, bucket):
    client.upload_bytes(bucket, "ten", b"0123456789")
    with pytest.raises(TypeError, match="writable buffer"):
        client.download_into(bucket, "ten", b"x" * 20)
    short = bytearray(9)
    with pytest.raises(s3io.exceptions.BufferTooSmall) as raised:
        client.download_into(bucket, "ten", short)
    assert raised.value.bucket == bucket and raised.value.key == "ten"
    assert "the object is 10 bytes and the buffer for it only 9" in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert short == bytearray(9)
    with pytest.raises(BufferError, match="C-contiguous"):
        client.download_into(bucket, "ten", memoryview(bytearray(40))[::2])


def test_download_file_and_upload_file(client, bucket, tmp_path):
    payload = data(2 * PART + 3, seed=5)
    source = tmp_path / "source.bin"
    source.write_bytes(payload)
    uploaded = client.upload_file(bucket, "file", source)
    assert (uploaded.size, uploaded.parts) == (len(payload), 3)
    target = tmp_path / "out" / "target.bin"
    target.parent.mkdir()
    downloaded = client.download_file(bucket, "file", str(target))
    assert target.read_bytes() == payload
    assert downloaded.size == len(payload) and downloaded.parts == 3
    assert downloaded.checksum_algorithm == "CRC64NVME" and downloaded.checksum == uploaded.checksum
    assert downloaded.etag == uploaded.etag
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.bin"], "temporary files left"


def test_download_file_of_a_missing_key_leaves_no_file(client, bucket, tmp_path):
    with pytest.raises(s3io.NoSuchKey):
        client.download_file(bucket, "missing", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_upload_stream_reads_a_file_like_object(client, bucket):
    payload = data(2 * PART + 99, seed=6)
    uploaded = client.upload_stream(bucket, "stream", io.BytesIO(payload))
    assert uploaded.size == len(payload) and uploaded.parts == 3
    assert client.download_bytes(bucket, "stream") == payload
    small = client.upload_stream(bucket, "small-stream", io.BytesIO(b"tiny"))
    assert small.size == 4 and small.parts == 0
    assert client.download_bytes(bucket, "small-stream") == b"tiny"


def test_upload_stream_raises_the_stream_own_error_and_leaves_no_upload(client, bucket):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.calls += 1
            if self.calls > 6:
                raise OSError("disk on fire")
            return b"x" * min(n, MIB)

    with pytest.raises(OSError, match="disk on fire"):
        client.upload_stream(bucket, "broken", Broken())
    assert client.list_multipart_uploads(bucket) == []
    with pytest.raises(TypeError, match="binary mode"):
        client.upload_stream(bucket, "text", io.StringIO("text"))


def test_copy_within_and_across_buckets(client, bucket):
    other = bucket + "-copy"
    client.create_bucket(other)
    payload = data(PART + 1, seed=8)
    client.upload_bytes(bucket, "src", payload)
    copied = client.copy(bucket, "src", other, "dst")
    assert copied.size == len(payload)
    assert copied.source_etag == client.head(bucket, "src").etag
    assert client.download_bytes(other, "dst") == payload
    assert client.head(other, "dst").checksums == client.head(bucket, "src").checksums


def test_head_reports_size_etag_checksum_and_time(client, bucket):
    payload = data(1234, seed=9)
    uploaded = client.upload_bytes(bucket, "h", payload)
    info = client.head(bucket, "h")
    assert info.size == 1234
    assert info.etag == uploaded.etag == '"%s"' % hashlib.md5(payload).hexdigest()
    assert info.checksums["CRC64NVME"] == uploaded.checksum
    assert info.last_modified.tzinfo is not None
    assert info.metadata == {}


def test_list_iterates_page_by_page(client, bucket):
    keys = [f"dir/{i:03}" for i in range(25)] + ["other/x", "top"]
    for key in keys:
        client.upload_bytes(bucket, key, key.encode())
    assert [o.key for o in client.list(bucket)] == sorted(keys)
    pages = list(client.list_pages(bucket, "dir/", page_size=10))
    assert [len(p.objects) for p in pages] == [10, 10, 5]
    assert pages[-1].next_token is None and pages[0].next_token
    listed = list(client.list(bucket, "dir/", page_size=7))
    assert [(o.key, o.size) for o in listed] == [(k, len(k)) for k in keys[:25]]
    assert all(o.etag and o.last_modified for o in listed)
    assert [o.key for o in client.list(bucket, "dir/", start_after="dir/020")] == keys[21:25]
    top = list(client.list_pages(bucket, delimiter="/"))
    assert top[0].common_prefixes == ["dir/", "other/"]
    assert [o.key for o in top[0].objects] == ["top"]
    assert list(client.list(bucket, "nothing/")) == []


def test_delete_removes_the_object_and_is_idempotent(client, bucket):
    client.upload_bytes(bucket, "gone", b"x")
    client.delete(bucket, "gone")
    with pytest.raises(s3io.NoSuchKey):
        client.head(bucket, "gone")
    client.delete(bucket, "gone")  # as S3: deleting a missing key succeeds


def test_presigned_urls_work_without_credentials(client, bucket):
    import urllib.request

    client.upload_bytes(bucket, "shared", b"presigned bytes")
    url = client.presign(bucket, "shared", expires_in=60)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"presigned bytes"
    put = client.presign(bucket, "put-here", method="PUT")
    request = urllib.request.Request(put, data=b"via PUT", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert client.download_bytes(bucket, "put-here") == b"via PUT"
    with pytest.raises(ValueError, match="GET' or 'PUT"):
        client.presign(bucket, "x", method="DELETE")


def test_progress_callback_counts_every_byte(client, bucket, tmp_path):
    payload = data(3 * PART, seed=10)
    calls = []
    client.upload_bytes(bucket, "p", payload, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (len(payload), len(payload))
    for method, args in [
        ("download_bytes", ()),
        ("download_file", (tmp_path / "p.bin",)),
        ("download_into", (bytearray(len(payload)),)),
    ]:
        calls.clear()
        getattr(client, method)(bucket, "p", *args, progress=lambda d, t: calls.append((d, t)))
        assert calls[-1] == (len(payload), len(payload)), method
        assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:])), f"{method}: progress went back: {calls}"


class SlowStream(io.RawIOBase):
    """A stream of `size` bytes that takes `delay` seconds per read, like a slow pipe."""

    def __init__(self, size: int, delay: float) -> None:
        self.left, self.delay = size, delay

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        time.sleep(self.delay)
        n = min(self.left, MIB if n < 0 else n)
        self.left -= n
        return b"s" * n


def test_a_progress_callback_that_raises_cancels_the_upload_and_aborts_it(server, bucket):
    client = server.client(concurrency=1)
    seen = []

    def stop(done, total):
        seen.append(done)
        if done >= PART:  # once a part is stored, so there is a multipart upload to abort
            raise RuntimeError(f"stop at {done}")

    with pytest.raises(RuntimeError, match="stop at"):
        client.upload_stream(bucket, "stopped", SlowStream(8 * PART, 0.01), progress=stop)
    assert seen[-1] >= PART
    assert client.list_multipart_uploads(bucket) == []
    with pytest.raises(s3io.NoSuchKey):
        client.head(bucket, "stopped")


def test_outputs_have_readable_reprs(client, bucket):
    uploaded = client.upload_bytes(bucket, "r", b"r")
    assert repr(uploaded) == f"UploadOutput(size=1, etag='\\\"{uploaded.etag[1:-1]}\\\"', parts=0, checksum='{uploaded.checksum}')"
    assert repr(client).startswith("s3io.Client(endpoint=")
