"""The memory limit: pooled payload memory stays under it, and a download to memory costs the
object, not the object twice."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

from conftest import ACCESS_KEY, MIB, PART, SECRET_KEY, data


def test_a_stream_upload_holds_at_most_the_memory_limit(server, bucket):
    limit = 3 * PART
    client = server.client(memory_limit=limit, concurrency=8)
    payload = data(8 * PART + 1, seed=2)
    uploaded = client.upload_stream(bucket, "bounded", io.BytesIO(payload))
    assert uploaded.parts == 9
    stats = client.stats()
    assert stats["memory_limit"] == limit
    assert 0 < stats["pool_high_water_bytes"] <= limit, stats
    assert stats["pool_in_use_bytes"] == 0
    assert client.download_bytes(bucket, "bounded") == payload


def test_small_downloads_reuse_the_pool_after_warm_up(server, bucket):
    client = server.client()
    buffer = bytearray(MIB + MIB // 5)
    client.upload_bytes(bucket, "small", bytes(len(buffer)))
    for _ in range(5):
        client.download_into(bucket, "small", buffer)
    warm = client.stats()
    for _ in range(50):
        client.download_into(bucket, "small", buffer)
    after = client.stats()
    assert after["pool_allocated"] == warm["pool_allocated"], (warm, after)
    # Connections are reused: a download that comes while the previous one's connection is on
    # its way back to hyper-util's pool waits for it instead of opening another.
    assert after["connections_opened"] <= warm["connections_opened"] + 2, (warm, after)


def test_download_bytes_peak_memory_is_the_object_not_twice_the_object(server, bucket):
    size = 96 * MIB
    client = server.client(part_size=8 * MIB, memory_limit=32 * MIB)
    client.upload_stream(bucket, "large", io.BytesIO(bytes(size)))
    code = textwrap.dedent(
        f"""
        import resource, s3io, sys
        client = s3io.Client({server.endpoint!r}, access_key_id={ACCESS_KEY!r}, secret_access_key={SECRET_KEY!r},
                             part_size=8 * 1024 * 1024, memory_limit=32 * 1024 * 1024)
        client.download_bytes({bucket!r}, "large")  # warm-up: threads, connections
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        data = client.download_bytes({bucket!r}, "large")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert len(data) == {size}
        print(before * 1024, after * 1024)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    # The first download's bytes object was freed before the second: the high-water mark grows
    # by at most the one object plus working memory, never by a second copy of it.
    assert after - before <= 32 * MIB, f"peak RSS grew by {(after - before) / MIB:.1f} MiB for a {size // MIB} MiB download"
