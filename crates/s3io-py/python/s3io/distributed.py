"""Copy a prefix of millions of keys between buckets on a Dask cluster, each worker moving its
share with one embedded s3io client.

Why Dask (``dask.distributed``) rather than Ray: it is pure Python and pip-installable with no
daemon to run first, its ``LocalCluster`` of worker processes is the same API as a cluster of
many machines (``dask.distributed.Client("tcp://scheduler:8786")``), and it already does what a
copy needs — tasks retried on failure (``retries=``), tasks of a dead worker rerun elsewhere,
results gathered as they finish — where Ray brings a heavier runtime (a raylet and an object
store per node) for scheduling features a copy does not use.

How it works (:func:`copy_prefix`):

1. **Listing, sharded by key ranges.** The caller's process lists the source prefix page by page
   and cuts the keys, in order, into shards of at most ``shard_objects`` keys and
   ``shard_bytes`` bytes (or takes a ``manifest`` of keys instead). Each shard is one task.
2. **One s3io client per worker process.** A task builds its client from plain settings (sent
   with the task, so the same code runs on any cluster) the first time the worker process
   needs it and keeps it (:func:`worker_client`): one connection pool and one memory cap per
   worker (``memory_limit``), shared by the task's threads.
3. **Idempotent per key.** For each key, the task compares the destination with the source
   (size and full-object checksum, CRC64NVME, from HEAD; the ETag when the store gives no
   checksum) and copies only when they are not proven equal; after a copy it checks the
   destination the same way (the size alone only where the store gives neither a checksum
   nor comparable ETags). A shard that runs again — Dask retried it, or its worker died and the scheduler
   reran it elsewhere — skips what is already there: nothing is lost or copied twice.
4. **Retries.** The library retries each request; a key that still fails makes its shard raise
   after the shard's other keys are done, so Dask retries the shard (``retries``); the keys of
   a shard that fails every time are reported, not raised.
5. **Summary** (:class:`CopySummary`): objects and bytes at the destination, how many were
   copied and how many found already there, failed keys with their errors, shards, seconds.

Within one store the copy is server-side (no bytes through the workers). Between two stores
(``destination_settings`` given) each object is downloaded into memory and uploaded (objects
up to ``memory_limit / 4``) or through a temporary file (larger ones).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from . import Client
from .exceptions import NotFound, S3Error

__all__ = ["CopySummary", "ShardFailed", "copy_prefix", "shard_listing", "worker_client"]

#: Keys per shard, by default: enough to amortise a task's overhead, few enough that a rerun is cheap.
DEFAULT_SHARD_OBJECTS = 1000
#: Bytes per shard, by default (4 GiB): a shard of large objects stays a few minutes of work.
DEFAULT_SHARD_BYTES = 4 << 30


@dataclasses.dataclass
class CopySummary:
    """What a distributed copy did."""

    #: Objects the destination holds, verified (copied now or found identical); the keys of a
    #: shard that failed count here unless they are among ``failed``.
    objects: int = 0
    #: Their bytes.
    bytes: int = 0
    #: Of those, objects copied by this run.
    copied: int = 0
    #: Of those, objects found already identical at the destination (an earlier run, a rerun shard).
    skipped: int = 0
    #: Keys that could not be copied, with the last error of each.
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Shards (tasks) the listing was cut into.
    shards: int = 0
    #: Wall seconds, listing included.
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


class ShardFailed(Exception):
    """Some keys of a shard failed (``failed``: key to error); raised so that Dask retries the
    shard. ``done`` counts the shard's other keys, copied or found in place."""

    def __init__(self, failed: dict[str, str], done: dict[str, int]) -> None:
        super().__init__(f"{len(failed)} key(s) failed, e.g. {next(iter(failed.items()))}")
        self.failed = failed
        self.done = done

    def __reduce__(self):
        return (ShardFailed, (self.failed, self.done))


# One client per settings per worker process (a Dask worker's threads share it).
_clients: dict[tuple, Client] = {}
_clients_lock = threading.Lock()


def worker_client(settings: dict[str, Any]) -> Client:
    """The s3io client of this process for ``settings`` (``Client`` keyword arguments plus
    ``endpoint``), made on first use."""
    key = tuple(sorted(settings.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Client(**settings)
        return client


def shard_listing(
    objects: Iterable[tuple[str, int]], shard_objects: int = DEFAULT_SHARD_OBJECTS, shard_bytes: int = DEFAULT_SHARD_BYTES
) -> Iterator[list[tuple[str, int]]]:
    """Cuts ``(key, size)`` pairs, in listing order, into consecutive key ranges of at most
    ``shard_objects`` keys and ``shard_bytes`` bytes (an object larger than that is a shard of
    its own)."""
    shard: list[tuple[str, int]] = []
    size = 0
    for key, n in objects:
        if shard and (len(shard) >= shard_objects or size + n > shard_bytes):
            yield shard
            shard, size = [], 0
        shard.append((key, n))
        size += n
    if shard:
        yield shard


def _same(a, b, *, proven: bool) -> bool:
    """Whether two HEADs describe the same bytes: the same size, and the same full-object
    checksum where both carry one, else the same ETag. With no checksum in common and ETags that
    differ because one is a multipart ETag (``"…-N"``, which depends on the part layout, not only
    on the bytes), the size decides unless ``proven`` is asked for (before a copy: then the key
    is copied again, which is harmless)."""
    if a.size != b.size:
        return False
    common = a.checksums.keys() & b.checksums.keys()
    if common:
        return all(a.checksums[c] == b.checksums[c] for c in common)
    if a.etag is not None and a.etag == b.etag:
        return True
    return not proven and "-" in f"{a.etag}{b.etag}"


def _copy_one(job: dict[str, Any], key: str) -> bool:
    """Makes ``destination/key`` hold the bytes of ``source/key``; ``True`` if it copied them,
    ``False`` if they were there already. Raises if the destination does not match afterwards."""
    source = worker_client(job["source_settings"])
    destination = worker_client(job["destination_settings"]) if job["destination_settings"] else source
    dest_key = job["destination_prefix"] + key[len(job["source_prefix"]) :]
    head = source.head(job["source_bucket"], key)
    try:
        if _same(head, destination.head(job["destination_bucket"], dest_key), proven=True):
            return False
    except NotFound:
        pass
    if job["destination_settings"] is None:
        source.copy(
            job["source_bucket"], key, job["destination_bucket"], dest_key,
            part_size=job["copy_part_size"], multipart_threshold=job["copy_multipart_threshold"],
        )
    elif head.size <= job["memory_limit"] // 4:
        destination.upload_bytes(job["destination_bucket"], dest_key, source.download_bytes(job["source_bucket"], key))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "object")
            source.download_file(job["source_bucket"], key, path)
            destination.upload_file(job["destination_bucket"], dest_key, path)
    after = destination.head(job["destination_bucket"], dest_key)
    if not _same(head, after, proven=False):
        raise S3Error(
            f"copy s3://{job['source_bucket']}/{key} to s3://{job['destination_bucket']}/{dest_key}: "
            f"the destination does not match the source after the copy (size {after.size} vs {head.size}, "
            f"checksums {after.checksums} vs {head.checksums})"
        )
    return True


def _copy_shard(job: dict[str, Any], shard: list[tuple[str, int]]) -> dict[str, Any]:
    """One task: every key of ``shard``, ``job["threads"]`` at a time."""
    copied = skipped = 0
    done_bytes = 0
    failed: dict[str, str] = {}
    with concurrent.futures.ThreadPoolExecutor(job["threads"]) as pool:
        futures = {pool.submit(_copy_one, job, key): (key, size) for key, size in shard}
        for future in concurrent.futures.as_completed(futures):
            key, size = futures[future]
            try:
                if future.result():
                    copied += 1
                else:
                    skipped += 1
                done_bytes += size
            except Exception as error:  # noqa: BLE001 - every failure is reported per key
                failed[key] = f"{type(error).__name__}: {error}"
    done = {"copied": copied, "skipped": skipped, "bytes": done_bytes, "objects": copied + skipped}
    if failed:
        raise ShardFailed(failed, done)
    return done


def _split(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ValueError(f"expected s3://bucket/prefix, not {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def copy_prefix(
    dask_client,
    source: str,
    destination: str,
    settings: dict[str, Any],
    *,
    destination_settings: dict[str, Any] | None = None,
    manifest: Iterable[tuple[str, int]] | None = None,
    shard_objects: int = DEFAULT_SHARD_OBJECTS,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    retries: int = 3,
    threads: int = 16,
    memory_limit: int = 256 << 20,
    copy_part_size: int | None = None,
    copy_multipart_threshold: int | None = None,
) -> CopySummary:
    """Copies every object under ``source`` (``s3://bucket/prefix``) to ``destination``
    (``s3://bucket/prefix``, the keys' rest kept) on the Dask cluster of ``dask_client``, and
    returns a :class:`CopySummary`.

    :param settings: the s3io ``Client`` keyword arguments (``endpoint``, credentials, ...), sent
        to every worker: plain values, so they travel to any machine.
    :param destination_settings: another store's settings, to copy between stores (bytes then go
        through the workers); by default the copy stays in one store and is server-side.
    :param manifest: ``(key, size)`` pairs to copy instead of listing ``source``.
    :param shard_objects: most keys per task; ``shard_bytes``: most bytes per task.
    :param retries: how often Dask retries a shard that failed.
    :param threads: objects in flight per task.
    :param memory_limit: each worker's s3io memory cap, in bytes.
    :param copy_part_size: part size of multipart server-side copies (default 64 MiB);
        ``copy_multipart_threshold``: sources above this are copied in parts (default 5 GiB).
    """
    from dask.distributed import wait

    started = time.monotonic()
    source_bucket, source_prefix = _split(source)
    destination_bucket, destination_prefix = _split(destination)
    source_settings = dict(settings, memory_limit=memory_limit)
    job = {
        "source_settings": source_settings,
        "destination_settings": dict(destination_settings, memory_limit=memory_limit) if destination_settings else None,
        "source_bucket": source_bucket,
        "source_prefix": source_prefix,
        "destination_bucket": destination_bucket,
        "destination_prefix": destination_prefix,
        "threads": threads,
        "memory_limit": memory_limit,
        "copy_part_size": copy_part_size,
        "copy_multipart_threshold": copy_multipart_threshold,
    }
    if manifest is None:
        lister = Client(**source_settings)
        manifest = ((o.key, o.size) for o in lister.list(source_bucket, source_prefix))
    shards = list(shard_listing(manifest, shard_objects, shard_bytes))
    futures = dask_client.map(functools.partial(_copy_shard, job), shards, retries=retries, pure=False)
    summary = CopySummary(shards=len(shards))
    # Results are read once every shard has finished, each future still referenced until then:
    # a shard whose result was lost with its worker is rerun by the scheduler (finding its keys
    # in place), and the result read is that of the run that counts.
    wait(futures)
    for future, shard in zip(futures, shards):
        try:
            result = future.result()
        except ShardFailed as error:
            summary.failed.update(error.failed)
            result = error.done
        except Exception as error:  # noqa: BLE001 - a shard lost for good (its workers kept dying)
            for key, _ in shard:
                summary.failed[key] = f"{type(error).__name__}: {error}"
            continue
        summary.objects += result["objects"]
        summary.bytes += result["bytes"]
        summary.copied += result["copied"]
        summary.skipped += result["skipped"]
    summary.seconds = time.monotonic() - started
    return summary
