"""The asyncio flavour: the same operations as coroutines, concurrent on one event loop, and
cancellation of the awaiting task."""

from __future__ import annotations

import asyncio
import io
import time

import pytest

import s3io
from conftest import ACCESS_KEY, MIB, PART, SECRET_KEY, data, wait_for


def make(server, **settings) -> s3io.AsyncClient:
    settings.setdefault("part_size", PART)
    return s3io.AsyncClient(server.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, **settings)


def test_every_operation_as_a_coroutine(server, bucket, tmp_path):
    async def main():
        client = make(server)
        payload = data(2 * PART + 5, seed=4)
        uploaded = await client.upload_bytes(bucket, "a", payload)
        assert uploaded.parts == 3
        assert await client.download_bytes(bucket, "a") == payload
        buffer = bytearray(len(payload))
        assert await client.download_into(bucket, "a", buffer) == len(payload)
        assert buffer == payload
        path = tmp_path / "a.bin"
        assert (await client.download_file(bucket, "a", path)).size == len(payload)
        assert path.read_bytes() == payload
        await client.upload_file(bucket, "b", path)
        await client.upload_stream(bucket, "c", io.BytesIO(payload))
        await client.copy(bucket, "c", bucket, "d")
        assert (await client.head(bucket, "d")).size == len(payload)
        assert [o.key async for o in client.list(bucket)] == ["a", "b", "c", "d"]
        pages = [p async for p in client.list_pages(bucket, page_size=3)]
        assert [len(p.objects) for p in pages] == [3, 1]
        await client.delete(bucket, "d")
        with pytest.raises(s3io.NoSuchKey):
            await client.download_bytes(bucket, "d")
        assert "X-Amz-Signature" in await client.presign(bucket, "a")

    asyncio.run(main())


def test_downloads_run_concurrently_on_one_loop(server, bucket):
    async def main():
        client = make(server)
        objects = {f"k{i}": data(MIB + i, seed=i) for i in range(16)}
        await asyncio.gather(*(client.upload_bytes(bucket, k, v) for k, v in objects.items()))
        got = await asyncio.gather(*(client.download_bytes(bucket, k) for k in objects))
        assert got == list(objects.values())

    asyncio.run(main())


def test_progress_is_reported_in_the_loop_thread(server, bucket):
    import threading

    async def main():
        client = make(server)
        payload = data(3 * PART, seed=7)
        await client.upload_bytes(bucket, "p", payload)
        calls = []
        await client.download_bytes(bucket, "p", progress=lambda d, t: calls.append((d, t, threading.get_ident())))
        await asyncio.sleep(0)  # run the callbacks scheduled by the last report
        assert calls[-1][:2] == (len(payload), len(payload))
        assert {c[2] for c in calls} == {threading.get_ident()}

    asyncio.run(main())


def test_cancelling_the_task_aborts_the_multipart_upload(server, bucket):
    class Slow(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            time.sleep(0.02)
            return b"y" * min(n, MIB)

    async def main():
        client = make(server, concurrency=2)
        task = asyncio.create_task(client.upload_stream(bucket, "cancelled", Slow()))
        sync = client.sync
        while not await asyncio.to_thread(sync.list_multipart_uploads, bucket):
            assert not task.done(), task
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    client = server.client()
    wait_for(lambda: client.list_multipart_uploads(bucket) == [], "the cancelled upload's abort", timeout=15)
    assert s3io.finish_cleanup(5.0)
