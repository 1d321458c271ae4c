"""Type stubs of s3io's native module (the Rust extension). Import from ``s3io``, not from here."""

from collections.abc import Callable
from datetime import datetime
from os import PathLike
from typing import Any, BinaryIO, Protocol

__version__: str

class _Buffer(Protocol):
    """Any object with the buffer protocol: bytes, bytearray, memoryview, array.array, a NumPy array."""

    def __buffer__(self, flags: int, /) -> memoryview: ...

Progress = Callable[[int, int | None], Any]
Path = str | PathLike[str]

class DownloadOutput:
    """What a download did."""

    size: int
    """The object's size, in bytes."""
    etag: str | None
    """The ETag the download was pinned to (quoted, as the store sent it)."""
    parts: int
    """GET requests the download needed (retries not counted)."""
    checksum_algorithm: str | None
    """The full-object checksum that was verified: ``CRC64NVME``, ``CRC32C`` or ``MD5``."""
    checksum: str | None
    """That checksum, base64 as S3 carries it."""
    resumed_bytes: int
    """Bytes a resumed file download found complete from an earlier run."""

class UploadOutput:
    """What an upload did."""

    size: int
    etag: str | None
    """The new object's ETag (``"…-N"`` for multipart objects)."""
    parts: int
    """Parts of the multipart upload; 0 when the object went as one PutObject."""
    checksum_algorithm: str | None
    checksum: str | None
    """The full-object checksum computed and sent (CRC64NVME by default), base64."""
    version_id: str | None

class CopyOutput:
    """What a server-side copy did."""

    size: int
    etag: str | None
    parts: int
    source_etag: str | None
    """The source's ETag the copy was pinned to."""
    checksum: str | None
    """The full-object CRC64NVME of a multipart copy, checked against the source's."""

class ObjectSummary:
    """One object of a listing."""

    key: str
    size: int
    etag: str | None
    storage_class: str | None
    @property
    def last_modified(self) -> datetime | None: ...

class ListPage:
    """One page of a listing (up to 1,000 keys)."""

    objects: list[ObjectSummary]
    common_prefixes: list[str]
    """The "directories" under the prefix, when a delimiter was given."""
    next_token: str | None
    """The continuation token of the next page; ``None`` on the last one."""

class ObjectInfo:
    """What HeadObject says about an object."""

    size: int
    etag: str | None
    content_type: str | None
    storage_class: str | None
    version_id: str | None
    @property
    def last_modified(self) -> datetime | None: ...
    @property
    def metadata(self) -> dict[str, str]:
        """User metadata (``x-amz-meta-*``), names without the prefix."""
    @property
    def checksums(self) -> dict[str, str]:
        """Full-object checksums the store returned, by algorithm (``{"CRC64NVME": "…"}``)."""

class Client:
    """A client of one S3-compatible store.

    One connection pool and one memory limit, shared by every transfer and every thread using
    the client. Every method blocks with the GIL released; Ctrl-C cancels the transfer, cleans up
    (a multipart upload is aborted, a download's temporary file removed) and raises
    ``KeyboardInterrupt``. Each method has an ``*_async`` twin returning an awaitable (use
    :class:`s3io.AsyncClient`).

    :param endpoint: the store's URL, e.g. ``http://127.0.0.1:9000``. By default
        ``$S3IO_ENDPOINT_URL``, ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, else AWS S3.
    :param region: the signing region. By default ``$AWS_REGION``, ``$AWS_DEFAULT_REGION``,
        the profile's, else ``us-east-1``.
    :param access_key_id: with ``secret_access_key`` (and ``session_token``): fixed keys.
        By default the standard AWS chain (environment, profiles, SSO, web identity, ECS, IMDS).
    :param profile: a named profile of the shared AWS files, then the rest of the chain.
    :param anonymous: send requests unsigned (public buckets).
    :param addressing_style: ``"auto"`` (default), ``"path"`` or ``"virtual"``.
    :param part_size: bytes per ranged GET and per uploaded part (default 8 MiB; uploads need
        at least 5 MiB).
    :param concurrency: pins the requests in flight per transfer. By default (``None``) one
        controller per client adapts them to the network: from 16, up to 64.
    :param memory_limit: most pooled payload bytes the client holds at once (default 256 MiB):
        stream uploads, and small downloads into memory, draw from it.
    :param multipart_threshold: uploads larger than this go multipart (default: the part size).
    :param max_attempts: attempts per request, first included.
    :param retry_timeout: seconds an unreachable endpoint is retried before failing.
    :param connect_timeout: seconds to connect (default 10).
    :param read_timeout: seconds to wait for response headers (default 30).
    :param stall_timeout: seconds without body bytes before an attempt is retried (default 10).
    :param checksum_mode: ``"when_supported"`` (default): uploads send a CRC64NVME with every
        part and the object, downloads verify the full-object checksum the object carries (its
        CRC64NVME, or the MD5 of a one-part object's ETag); ``"when_required"``: neither, for
        stores that reject the newer checksum headers.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        profile: str | None = None,
        anonymous: bool = False,
        addressing_style: str | None = None,
        part_size: int | None = None,
        concurrency: int | None = None,
        memory_limit: int | None = None,
        multipart_threshold: int | None = None,
        max_attempts: int | None = None,
        retry_timeout: float | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        stall_timeout: float | None = None,
        checksum_mode: str | None = None,
    ) -> None: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def region(self) -> str: ...
    def stats(self) -> dict[str, int]:
        """Counters: ``memory_limit``, ``pool_high_water_bytes``, ``pool_in_use_bytes``,
        ``pool_acquired``, ``pool_allocated``, ``connections_opened``, ``retries``."""
    def download_bytes(self, bucket: str, key: str, *, progress: Progress | None = None) -> bytes:
        """The object as ``bytes``. Parts are fetched in parallel straight into one ``bytes`` of the
        object's size (no second copy): a 1 GiB object costs 1 GiB of memory."""
    def download_into(self, bucket: str, key: str, buffer: _Buffer, *, progress: Progress | None = None) -> int:
        """Fills the first bytes of a writable, C-contiguous ``buffer`` (``bytearray``, NumPy array,
        writable ``memoryview``) with the object, in place, and returns its size. Reusing one buffer
        for many downloads allocates nothing. Raises ``BufferTooSmall`` (before writing) if the
        buffer is shorter than the object; after any other failure its bytes are unspecified."""
    def download_file(
        self, bucket: str, key: str, path: Path, *, progress: Progress | None = None, resume: bool = False
    ) -> DownloadOutput:
        """Downloads to ``path``, written at part offsets into a temporary file beside it and renamed
        into place once complete and verified. With ``resume``, a download interrupted by a crash
        or an outage continues where it stopped on the next call."""
    def upload_bytes(self, bucket: str, key: str, data: _Buffer, *, progress: Progress | None = None) -> UploadOutput:
        """Uploads ``data`` (any C-contiguous buffer, sent without copying; do not change it
        meanwhile), in parallel parts above the multipart threshold."""
    def upload_file(
        self, bucket: str, key: str, path: Path, *, progress: Progress | None = None, resume: bool = False
    ) -> UploadOutput:
        """Uploads the file at ``path``, parts read from disk as they are sent. With ``resume``, the
        verified parts of an unfinished upload of the same key are reused."""
    def upload_stream(self, bucket: str, key: str, file: BinaryIO, *, progress: Progress | None = None) -> UploadOutput:
        """Uploads what ``file.read()`` returns until it returns ``b""`` (a binary file, a pipe, a
        socket file, any object with ``read``), holding at most the memory limit at once."""
    def copy(
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
        """A server-side copy (no bytes through this machine): one CopyObject up to
        ``multipart_threshold`` (default 5 GiB, the most S3 takes), else parts of ``part_size``
        (default 64 MiB) copied in parallel, their combined CRC64NVME checked against the source's."""
    def list_page(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        token: str | None = None,
        max_keys: int | None = None,
    ) -> ListPage:
        """One ListObjectsV2 page; ``Client.list`` and ``Client.list_pages`` iterate them."""
    def head(self, bucket: str, key: str) -> ObjectInfo:
        """HeadObject: size, ETag, checksums, metadata."""
    def delete(self, bucket: str, key: str) -> None:
        """Deletes the object (succeeds if it does not exist, as S3)."""
    def presign(self, bucket: str, key: str, *, method: str = "GET", expires_in: float = 3600.0) -> str:
        """A presigned URL for ``GET`` or ``PUT`` of the object, valid ``expires_in`` seconds
        (at most 7 days)."""
    def create_bucket(self, bucket: str) -> None: ...
    def delete_bucket(self, bucket: str) -> None: ...
    def list_multipart_uploads(self, bucket: str, *, prefix: str | None = None) -> list[tuple[str, str]]:
        """Multipart uploads in progress, as ``(key, upload_id)`` pairs."""
    async def download_bytes_async(self, bucket: str, key: str, *, progress: Progress | None = None) -> bytes: ...
    async def download_into_async(
        self, bucket: str, key: str, buffer: _Buffer, *, progress: Progress | None = None
    ) -> int: ...
    async def download_file_async(
        self, bucket: str, key: str, path: Path, *, progress: Progress | None = None, resume: bool = False
    ) -> DownloadOutput: ...
    async def upload_bytes_async(
        self, bucket: str, key: str, data: _Buffer, *, progress: Progress | None = None
    ) -> UploadOutput: ...
    async def upload_file_async(
        self, bucket: str, key: str, path: Path, *, progress: Progress | None = None, resume: bool = False
    ) -> UploadOutput: ...
    async def upload_stream_async(
        self, bucket: str, key: str, file: BinaryIO, *, progress: Progress | None = None
    ) -> UploadOutput: ...
    async def copy_async(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        progress: Progress | None = None,
        part_size: int | None = None,
        multipart_threshold: int | None = None,
    ) -> CopyOutput: ...
    async def list_page_async(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        token: str | None = None,
        max_keys: int | None = None,
    ) -> ListPage: ...
    async def head_async(self, bucket: str, key: str) -> ObjectInfo: ...
    async def delete_async(self, bucket: str, key: str) -> None: ...
    async def presign_async(
        self, bucket: str, key: str, *, method: str = "GET", expires_in: float = 3600.0
    ) -> str: ...

def finish_cleanup(timeout: float = 30.0) -> bool:
    """Waits (at most ``timeout`` seconds) until the abort of every multipart upload dropped
    mid-way has been answered; ``True`` when none is left. Registered with ``atexit``."""
