"""One measured run of one Python S3 client, in a process of its own (bench/python.sh drives it).

    python python_clients.py CLIENT SCENARIO ENDPOINT BUCKET [--target DIR] [--memory-limit BYTES]

CLIENT is s3io, s3io-unverified (checksum_mode='when_required'), boto3, boto3-crt, obstore or s3fs; SCENARIO is
  large-mem   the object `large` (1 GiB) into memory
  large-file  the object `large` into a file under --target
  small       the objects `small/00000..` (1,000 × 1.2 MiB) into memory, 16 at a time (threads)
Each run warms the client up (one small object), then measures the scenario: wall seconds,
user+sys CPU seconds of the whole process (getrusage), peak RSS (ru_maxrss) and, for `small`,
every object's latency. Bytes are checked (lengths, and the large object's SHA-256 against
--sha256). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import json
import os
import resource
import sys
import threading
import time

ACCESS_KEY = "s3io-local"
SECRET_KEY = "s3io-local-secret"
REGION = "us-east-1"
PART = 8 * 1024 * 1024
CONCURRENCY = 16  # the small scenario's objects in flight, for every client


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# Each client: (get(key) -> bytes-like, get_file(key, path), setup) built by make_CLIENT.


def make_s3io(args, **settings):
    import s3io

    client = s3io.Client(
        args.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, region=REGION,
        memory_limit=args.memory_limit, **settings,
    )
    return (lambda key: client.download_bytes(args.bucket, key),
            lambda key, path: client.download_file(args.bucket, key, path))


def make_s3io_unverified(args):
    """s3io without checksum verification (as obstore and boto3's plain GETs of small objects)."""
    return make_s3io(args, checksum_mode="when_required")


def _boto3(args, crt: bool):
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    s3 = boto3.client(
        "s3", endpoint_url=args.endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        region_name=REGION, config=Config(max_pool_connections=32, s3={"addressing_style": "path"}),
    )
    if crt:
        # boto3's own CRT switch (TransferConfig(preferred_transfer_client="crt")) forces AWS's
        # endpoints over TLS; the same CRT transfer manager is built here for the local endpoint.
        import botocore.session
        from awscrt.auth import AwsCredentialsProvider
        from s3transfer.crt import BotocoreCRTRequestSerializer, CRTTransferManager, create_s3_crt_client

        session = botocore.session.get_session()
        serializer = BotocoreCRTRequestSerializer(session, {
            "region_name": REGION, "endpoint_url": args.endpoint, "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY, "config": Config(s3={"addressing_style": "path"}),
        })
        crt_client = create_s3_crt_client(
            REGION, AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY), use_ssl=False, part_size=PART,
        )
        manager = CRTTransferManager(crt_client, serializer)

        def get(key):
            buffer = io.BytesIO()
            manager.download(args.bucket, key, buffer).result()
            return buffer.getbuffer()

        def get_file(key, path):
            manager.download(args.bucket, key, path).result()

        return get, get_file
    config = TransferConfig(max_concurrency=8, multipart_chunksize=PART, multipart_threshold=PART)

    def get(key):
        # The small objects as a service reads them (one GET); the large one through the
        # transfer manager's parallel ranged GETs, as boto3's documentation recommends.
        if key.startswith("small/"):
            return s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
        buffer = io.BytesIO()
        s3.download_fileobj(args.bucket, key, buffer, Config=config)
        return buffer.getbuffer()

    return get, lambda key, path: s3.download_file(args.bucket, key, path, Config=config)


def make_boto3(args):
    return _boto3(args, crt=False)


def make_boto3_crt(args):
    return _boto3(args, crt=True)


def make_obstore(args):
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        args.bucket, endpoint=args.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
        region=REGION, client_options={"allow_http": True}, virtual_hosted_style_request=False,
    )

    def get_file(key, path):
        with open(path, "wb") as f:
            for chunk in obstore.get(store, key).stream(min_chunk_size=PART):
                f.write(chunk)

    return (lambda key: obstore.get(store, key).bytes()), get_file


def make_s3fs(args):
    import s3fs

    fs = s3fs.S3FileSystem(
        key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=args.endpoint, client_kwargs={"region_name": REGION},
        max_concurrency=8,
    )
    return (lambda key: fs.cat_file(f"{args.bucket}/{key}")), (lambda key, path: fs.get_file(f"{args.bucket}/{key}", path))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("client")
    parser.add_argument("scenario")
    parser.add_argument("endpoint")
    parser.add_argument("bucket")
    parser.add_argument("--target", default="/tmp")
    parser.add_argument("--sha256")
    parser.add_argument("--small-count", type=int, default=1000)
    parser.add_argument("--memory-limit", type=int, default=256 * 1024 * 1024)
    args = parser.parse_args()
    get, get_file = globals()["make_" + args.client.replace("-", "_")](args)

    assert len(get("small/00000")) > 0  # warm-up: connections, credentials, threads
    result = {"client": args.client, "scenario": args.scenario, "rss_before": peak_rss()}
    start_cpu, start = cpu(), time.perf_counter()
    if args.scenario == "large-mem":
        data = get("large")
        seconds = time.perf_counter() - start
        result["bytes"] = len(data)
        result["cpu"] = cpu() - start_cpu
        result["peak_rss"] = peak_rss()
        if args.sha256:
            assert hashlib.sha256(data).hexdigest() == args.sha256, "large-mem: wrong bytes"
        del data
    elif args.scenario == "large-file":
        path = os.path.join(args.target, f"large-{args.client}-{os.getpid()}.bin")
        try:
            get_file("large", path)
            seconds = time.perf_counter() - start
            result["cpu"] = cpu() - start_cpu
            result["peak_rss"] = peak_rss()
            result["bytes"] = os.path.getsize(path)
            if args.sha256:
                with open(path, "rb") as f:
                    assert hashlib.file_digest(f, "sha256").hexdigest() == args.sha256, "large-file: wrong bytes"
        finally:
            if os.path.exists(path):
                os.unlink(path)
    elif args.scenario == "small":
        keys = [f"small/{i:05}" for i in range(args.small_count)]
        latencies, sizes = [], []
        lock = threading.Lock()

        def one(key):
            t = time.perf_counter()
            n = len(get(key))
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                sizes.append(n)

        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            for future in [pool.submit(one, key) for key in keys]:
                future.result()
        seconds = time.perf_counter() - start
        result["cpu"] = cpu() - start_cpu
        result["peak_rss"] = peak_rss()
        result["bytes"] = sum(sizes)
        latencies.sort()
        result["p50_ms"] = 1000 * latencies[len(latencies) // 2]
        result["p99_ms"] = 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    else:
        raise SystemExit(f"unknown scenario {args.scenario}")
    result["seconds"] = seconds
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
