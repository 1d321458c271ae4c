"""s3io: a fast S3 transfer engine with bounded, reused memory, for Python.

The engine is the s3io Rust library: downloads run as parallel ranged GETs straight into their
destination (a ``bytes`` made once at the object's size, a caller's ``bytearray`` or NumPy
array, or a file written at part offsets), uploads as parallel parts with checksums, all under
one memory limit per client, with retries, and with the GIL released while bytes move.

>>> import s3io
>>> client = s3io.Client("http://127.0.0.1:9000", access_key_id="...", secret_access_key="...")
>>> client.upload_bytes("bucket", "hello.txt", b"hello")          # doctest: +SKIP
>>> client.download_bytes("bucket", "hello.txt")                  # doctest: +SKIP
b'hello'

:class:`Client` blocks (Ctrl-C cancels the transfer and cleans up before raising
``KeyboardInterrupt``); :class:`AsyncClient` is the asyncio flavour. Errors are the classes of
:mod:`s3io.exceptions`. :mod:`s3io.distributed` copies a prefix on a Dask cluster.
"""

from __future__ import annotations

import atexit
from collections.abc import AsyncIterator, Callable, Iterator
from os import PathLike
from typing import Any, BinaryIO

from . import exceptions
from ._native import (
    Client as _NativeClient,
    CopyOutput,
    DownloadOutput,
    ListPage,
    ObjectInfo,
    ObjectSummary,
    UploadOutput,
    __version__,
    finish_cleanup,
)
from .exceptions import NoSuchBucket, NoSuchKey, NotFound, S3Error

__all__ = [
    "AsyncClient",
    "Client",
    "CopyOutput",
    "DownloadOutput",
    "ListPage",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "ObjectInfo",
    "ObjectSummary",
    "S3Error",
    "UploadOutput",
    "__version__",
    "exceptions",
    "finish_cleanup",
]

#: A progress callback: ``callback(bytes_done, bytes_total_or_None)``, called at most every
#: 100 ms while a transfer runs and once when it has succeeded.
Progress = Callable[[int, "int | None"], Any]

# Aborts of multipart uploads whose transfer was dropped mid-way (a cancelled asyncio task) are
# sent in the background: give them up to 30 s to be answered before the interpreter exits.
atexit.register(finish_cleanup)


class Client(_NativeClient):
    """A client of one S3-compatible store: one connection pool and one memory limit, shared
    by every transfer and every thread that uses it.

    Every method blocks with the GIL released (so threads run transfers in parallel); Ctrl-C
    cancels the transfer, cleans up (aborts a multipart upload, removes a partial file) and
    raises ``KeyboardInterrupt``. See the type stubs for each method's documentation.
    """

    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        start_after: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[ObjectSummary]:
        """Every object under ``prefix``, in key order, fetched page by page as iterated."""
        for page in self.list_pages(bucket, prefix, start_after=start_after, page_size=page_size):
            yield from page.objects

    def list_pages(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[ListPage]:
        """The pages of a listing (up to ``page_size`` keys each, 1,000 at most), following the
        continuation tokens; with ``delimiter`` (``"/"``) each page also has ``common_prefixes``."""
        token = None
        while True:
            page = self.list_page(
                bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, token=token, max_keys=page_size
            )
            yield page
            token = page.next_token
            if token is None:
                return


class AsyncClient:
    """The asyncio flavour of :class:`Client`: the same settings and methods, each a coroutine.

    The transfers run on s3io's own threads, so the event loop stays free; cancelling the task
    that awaits one cancels the transfer (a multipart upload is aborted in the background, and
    the interpreter waits for that abort at exit).
    """

    def __init__(self, endpoint: str | None = None, **settings: Any) -> None:
        #: The blocking client whose connection pool and memory limit this one uses.
        self.sync = Client(endpoint, **settings)

    def __repr__(self) -> str:
        return f"s3io.AsyncClient({self.sync!r})"

    @property
    def endpoint(self) -> str:
        return self.sync.endpoint

    @property
    def region(self) -> str:
        return self.sync.region

    def stats(self) -> dict[str, int]:
        return self.sync.stats()

    async def download_bytes(self, bucket: str, key: str, *, progress: Progress | None = None) -> bytes:
        return await self.sync.download_bytes_async(bucket, key, progress=progress)

    async def download_into(self, bucket: str, key: str, buffer: Any, *, progress: Progress | None = None) -> int:
        return await self.sync.download_into_async(bucket, key, buffer, progress=progress)

    async def download_file(
        self, bucket: str, key: str, path: str | PathLike[str], *, progress: Progress | None = None, resume: bool = False
    ) -> DownloadOutput:
        return await self.sync.download_file_async(bucket, key, path, progress=progress, resume=resume)

    async def upload_bytes(self, bucket: str, key: str, data: Any, *, progress: Progress | None = None) -> UploadOutput:
        return await self.sync.upload_bytes_async(bucket, key, data, progress=progress)

    async def upload_file(
        self, bucket: str, key: str, path: str | PathLike[str], *, progress: Progress | None = None, resume: bool = False
    ) -> UploadOutput:
        return await self.sync.upload_file_async(bucket, key, path, progress=progress, resume=resume)

    async def upload_stream(
        self, bucket: str, key: str, file: BinaryIO, *, progress: Progress | None = None
    ) -> UploadOutput:
        return await self.sync.upload_stream_async(bucket, key, file, progress=progress)

    async def copy(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        progress: Progress | None = None,
        part_size: int | None = None,
        multipart_threshold: int | None = None,
    ) -> CopyOutput:
        return await self.sync.copy_async(
            source_bucket,
            source_key,
            bucket,
            key,
            progress=progress,
            part_size=part_size,
            multipart_threshold=multipart_threshold,
        )

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        return await self.sync.head_async(bucket, key)

    async def delete(self, bucket: str, key: str) -> None:
        await self.sync.delete_async(bucket, key)

    async def presign(self, bucket: str, key: str, *, method: str = "GET", expires_in: float = 3600.0) -> str:
        return await self.sync.presign_async(bucket, key, method=method, expires_in=expires_in)

    async def list_pages(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[ListPage]:
        token = None
        while True:
            page = await self.sync.list_page_async(
                bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, token=token, max_keys=page_size
            )
            yield page
            token = page.next_token
            if token is None:
                return

    async def list(
        self, bucket: str, prefix: str = "", *, start_after: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[ObjectSummary]:
        async for page in self.list_pages(bucket, prefix, start_after=start_after, page_size=page_size):
            for obj in page.objects:
                yield obj
