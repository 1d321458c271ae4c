"""s3io.distributed on a LocalCluster of 4 worker processes: byte-exact, idempotent, and
surviving a worker killed mid-run."""

from __future__ import annotations

import hashlib
import os
import signal
import threading

import pytest

from conftest import ACCESS_KEY, MIB, PART, SECRET_KEY, data, wait_for

distributed = pytest.importorskip("dask.distributed")
from s3io.distributed import copy_prefix, shard_listing  # noqa: E402

SMALL = 240
LARGE = 2


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
    ) as cluster, distributed.Client(cluster) as dask:
        yield dask


def settings(server) -> dict:
    return {"endpoint": server.endpoint, "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY, "part_size": PART}


def fill(client, bucket) -> dict[str, bytes]:
    objects = {f"src/small/{i:04}": data(1000 + 37 * i, seed=i) for i in range(SMALL)}
    objects.update({f"src/large/{i}": data(2 * PART + 1000 * i + 1, seed=100 + i) for i in range(LARGE)})
    for key, payload in objects.items():
        client.upload_bytes(bucket, key, payload)
    return objects


def check_destination(client, bucket, objects, prefix="dst/"):
    listed = {o.key: o.size for o in client.list(bucket, prefix)}
    assert listed == {prefix + k[len("src/") :]: len(v) for k, v in objects.items()}
    for key, payload in objects.items():
        dest = prefix + key[len("src/") :]
        source_head, dest_head = client.head(bucket, key), client.head(bucket, dest)
        assert dest_head.checksums["CRC64NVME"] == source_head.checksums["CRC64NVME"], key
        assert hashlib.sha256(client.download_bytes(bucket, dest)).digest() == hashlib.sha256(payload).digest(), key


def test_shards_are_consecutive_key_ranges_within_both_limits():
    listing = [(f"k{i:03}", 10) for i in range(25)] + [("z-big", 1000), ("z-small", 1)]
    shards = list(shard_listing(listing, shard_objects=10, shard_bytes=500))
    assert [len(s) for s in shards] == [10, 10, 5, 1, 1]
    assert [k for s in shards for k, _ in s] == [k for k, _ in listing]


def test_heads_match_by_checksum_then_etag_and_by_size_only_when_nothing_else_compares():
    from types import SimpleNamespace as Head

    from s3io.distributed import _same

    crc = {"CRC64NVME": "AAAAAAAAAAE="}
    assert _same(Head(size=5, etag='"a"', checksums=crc), Head(size=5, etag='"b-2"', checksums=crc), proven=True)
    assert not _same(Head(size=5, etag='"a"', checksums=crc), Head(size=5, etag='"a"', checksums={"CRC64NVME": "x"}), proven=False)
    assert not _same(Head(size=5, etag='"a"', checksums={}), Head(size=6, etag='"a"', checksums={}), proven=False)
    assert _same(Head(size=5, etag='"a"', checksums={}), Head(size=5, etag='"a"', checksums={}), proven=True)
    # A multipart ETag against a single-part one, no checksum: equal sizes prove nothing before a
    # copy (so the key is copied), and are all a store gives to check after one.
    multipart, single = Head(size=5, etag='"a-3"', checksums={}), Head(size=5, etag='"b"', checksums={})
    assert not _same(multipart, single, proven=True) and _same(multipart, single, proven=False)
    assert not _same(Head(size=5, etag='"a"', checksums={}), single, proven=False)


def test_a_prefix_is_copied_byte_exact_through_a_worker_killed_mid_run(server, client, bucket, cluster):
    objects = fill(client, bucket)
    total = sum(len(v) for v in objects.values())
    # The copy runs in a thread of this process (the driver); meanwhile a worker that holds a
    # finished shard and runs another is killed: both its shards are redone elsewhere.
    result = {}
    runner = threading.Thread(
        target=lambda: result.update(
            summary=copy_prefix(
                cluster,
                f"s3://{bucket}/src/",
                f"s3://{bucket}/dst/",
                settings(server),
                shard_objects=8,
                threads=4,
                memory_limit=4 * PART,
                copy_part_size=PART,
                copy_multipart_threshold=PART + 1,
            )
        )
    )
    pids = cluster.run(os.getpid)
    runner.start()

    def victim():
        held = cluster.has_what()
        for address, running in cluster.processing().items():
            if running and held.get(address):
                return address
        return None

    address = wait_for(victim, "a worker holding one finished shard and running another", timeout=30, every=0.005)
    os.kill(pids[address], signal.SIGKILL)
    runner.join(timeout=60)
    assert not runner.is_alive(), "the copy did not finish"
    summary = result["summary"]
    assert summary.failed == {}
    assert (summary.objects, summary.bytes) == (SMALL + LARGE, total)
    assert summary.copied + summary.skipped == SMALL + LARGE
    assert summary.skipped >= 1, f"no shard was redone after the kill: {summary}"
    assert summary.shards == len(list(shard_listing(((k, len(v)) for k, v in sorted(objects.items())), 8)))
    check_destination(client, bucket, objects)
    assert client.head(bucket, "dst/large/0").etag.endswith('-3"'), "the large objects were not copied in parts"

    # A second run finds everything in place and copies nothing.
    again = copy_prefix(cluster, f"s3://{bucket}/src/", f"s3://{bucket}/dst/", settings(server), shard_objects=50)
    assert (again.objects, again.copied, again.skipped, again.failed) == (SMALL + LARGE, 0, SMALL + LARGE, {})


def test_a_key_that_cannot_be_copied_is_reported_with_its_error(server, client, bucket, cluster):
    client.upload_bytes(bucket, "src/a", b"a")
    client.upload_bytes(bucket, "src/b", b"b")
    summary = copy_prefix(
        cluster,
        f"s3://{bucket}/src/",
        "s3://no-such-destination-bucket/x/",
        settings(server),
        retries=1,
    )
    assert set(summary.failed) == {"src/a", "src/b"}
    assert "NoSuchBucket" in summary.failed["src/a"]
    assert summary.objects == 0 and not summary.ok


def test_a_copy_between_two_stores_goes_through_the_workers(server, client, bucket, cluster, tmp_path):
    from conftest import Server

    other = Server(tmp_path / "other")
    try:
        other_client = other.client()
        other_client.create_bucket("target")
        objects = {f"src/{i}": data(100 * i + 1, seed=i) for i in range(20)}
        objects["src/big"] = data(2 * PART + 5, seed=99)
        for key, payload in objects.items():
            client.upload_bytes(bucket, key, payload)
        summary = copy_prefix(
            cluster,
            f"s3://{bucket}/src/",
            "s3://target/copied/",
            settings(server),
            destination_settings=settings(other),
            shard_objects=5,
            memory_limit=4 * PART,  # the big object goes through a temporary file
        )
        assert summary.failed == {} and summary.objects == len(objects) and summary.copied == len(objects)
        for key, payload in objects.items():
            assert other_client.download_bytes("target", "copied/" + key[len("src/") :]) == payload
    finally:
        other.stop()
