"""The distributed copy's Done-when figure: s3io.distributed moves SMALL small objects and LARGE
large ones between two buckets of one `s3io serve`, on a LocalCluster of WORKERS worker
processes, with one worker killed (SIGKILL) mid-run; then every destination object's CRC64NVME
and size are compared with its source's, and the totals printed.

    bench/distributed.sh     (builds the release binary and package, then runs this)
    python bench/distributed_copy.py ENDPOINT [--small 10000] [--large 4] [--large-size 64MiB] [--workers 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import threading
import time

import s3io
from dask.distributed import Client as DaskClient
from dask.distributed import LocalCluster
from s3io.distributed import copy_prefix

MIB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--small-size", type=int, default=64 * 1024)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--large-size", type=int, default=256 * MIB)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    settings = {"endpoint": args.endpoint, "access_key_id": "s3io-local", "secret_access_key": "s3io-local-secret"}
    client = s3io.Client(**settings)
    for bucket in ("source", "destination"):
        try:
            client.create_bucket(bucket)
        except s3io.exceptions.BucketAlreadyExists:
            pass

    started = time.monotonic()
    block = os.urandom(args.small_size)

    def put_small(i: int) -> None:
        client.upload_bytes("source", f"data/small/{i:06}", i.to_bytes(8, "big") + block[8:])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put_small, range(args.small)))
    big = os.urandom(args.large_size)
    for i in range(args.large):
        client.upload_bytes("source", f"data/large/{i}", i.to_bytes(8, "big") + big[8:])
    total = args.small * args.small_size + args.large * args.large_size
    print(f"put {args.small} × {args.small_size} B + {args.large} × {args.large_size} B "
          f"({total / MIB:.0f} MiB) in {time.monotonic() - started:.1f} s", flush=True)

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            DaskClient(cluster) as dask:
        pids = dask.run(os.getpid)
        result = {}
        runner = threading.Thread(
            target=lambda: result.update(
                summary=copy_prefix(dask, "s3://source/data/", "s3://destination/data/", settings, shard_objects=500)
            )
        )
        runner.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and runner.is_alive() and time.monotonic() < deadline:
            held = dask.has_what()
            for address, running in dask.processing().items():
                if running and held.get(address):
                    os.kill(pids[address], signal.SIGKILL)
                    killed = address
                    break
            time.sleep(0.01)
        runner.join()
    summary = result["summary"]
    print(f"killed worker {killed} (pid {pids.get(killed)}) mid-run")
    print(f"summary: {summary}")

    checked = 0
    mismatched = []

    def check(key: str) -> None:
        source, destination = client.head("source", key), client.head("destination", key)
        if (source.size, source.checksums) != (destination.size, destination.checksums) or not source.checksums:
            mismatched.append(key)

    keys = [o.key for o in client.list("source", "data/")]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for _ in pool.map(check, keys):
            checked += 1
    destination_keys = [o.key for o in client.list("destination", "data/")]
    print(f"checked {checked} objects: {len(mismatched)} mismatched; destination holds {len(destination_keys)} "
          f"(source {len(keys)}); bytes {summary.bytes} of {total}")
    ok = (not mismatched and sorted(destination_keys) == sorted(keys) and summary.ok
          and summary.objects == len(keys) and summary.bytes == total and killed is not None)
    print("OK" if ok else "FAILED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
