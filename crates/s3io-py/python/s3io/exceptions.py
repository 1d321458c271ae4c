"""The exceptions s3io raises.

Every error is an :class:`S3Error` carrying what failed and why: ``operation`` (``GetObject``,
``download``, ``upload``, ...), ``bucket``, ``key``, and for answers of the store ``code`` (the
S3 error code, ``NoSuchKey``), ``status`` (the HTTP status), ``request_id`` and
``server_message``. The message is the whole cause chain, with control characters in keys
escaped. Subclasses follow the S3 codes boto users know, and are also the matching built-in
exceptions where one exists (a missing key is a ``FileNotFoundError``, a timeout a
``TimeoutError``), so ``except FileNotFoundError`` works as it does with s3fs.

Ctrl-C during a transfer raises ``KeyboardInterrupt`` after the transfer has been cleaned up
(a multipart upload aborted, a download's temporary file removed), not one of these.
"""

from __future__ import annotations


class S3Error(Exception):
    """Base class of every s3io error."""

    operation: str | None = None
    bucket: str | None = None
    key: str | None = None
    code: str | None = None
    status: int | None = None
    request_id: str | None = None
    server_message: str | None = None
    #: For an aborted multipart upload: its upload id.
    upload_id: str | None = None
    #: For a local file that could not be read or written: its path.
    path: str | None = None

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class ServiceError(S3Error):
    """The store answered with an error not covered by a subclass (``code`` says which)."""


class NotFound(ServiceError, FileNotFoundError):
    """HTTP 404: the bucket, key or upload does not exist."""


class NoSuchKey(NotFound):
    """The key does not exist."""


class NoSuchBucket(NotFound):
    """The bucket does not exist."""


class NoSuchUpload(NotFound):
    """The multipart upload does not exist (completed or aborted)."""


class AccessDenied(ServiceError, PermissionError):
    """HTTP 403: the credentials are wrong or not allowed to do this."""


class PreconditionFailed(ServiceError):
    """HTTP 412: the object changed (its ETag) while it was being transferred."""


class BucketAlreadyExists(ServiceError):
    """The bucket exists already."""


class S3ConnectionError(S3Error, ConnectionError):
    """The request could not be sent or its answer not read (after the retries)."""


class S3TimeoutError(S3Error, TimeoutError):
    """No answer, or no more bytes of one, within the configured time (after the retries)."""


class Cancelled(S3Error):
    """The transfer was cancelled."""


class LocalIOError(S3Error, OSError):
    """A local file could not be read or written (``path`` says which)."""


class InvalidResponse(S3Error):
    """The store's answer could not be understood."""


class ChecksumMismatch(S3Error):
    """The bytes do not match the checksum the object carries."""


class CredentialsError(S3Error):
    """Credentials could not be loaded, or a request could not be signed."""


class ConfigError(S3Error, ValueError):
    """A setting or argument was rejected before any request was sent."""


class BufferTooSmall(S3Error, ValueError):
    """The buffer given to ``download_into`` is shorter than the object."""


__all__ = [name for name, value in globals().items() if isinstance(value, type) and issubclass(value, S3Error)]
