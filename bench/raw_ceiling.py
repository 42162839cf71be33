"""The raw transfer ceiling for one large blob: the fastest this machine moves 256 MiB
to and from Azurite with the SDK, nothing else (no hashing, no conditions, no state).

Run as a child process, one configuration per run, so its wall time, CPU and peak RSS
are measured like every contender's::

    python -m bench.raw_ceiling up FILE CONTAINER --block MIB --threads N
    python -m bench.raw_ceiling down BLOB CONTAINER OUT_FILE --block MIB --threads N

``up``: parallel Put Block (``--block`` MiB each, ``--threads`` in flight, each worker
reads its own slice with ``pread``) then one Put Block List; ``--block 0`` sends one
streamed Put Blob instead. ``down``: parallel ranged Get Blob written with ``pwrite``
into a preallocated file; ``--block 0`` is one streamed Get Blob. Prints one JSON line
with the in-process transfer time. The connection string comes from
``AZURE_STORAGE_CONNECTION_STRING``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from azure.core.exceptions import ResourceExistsError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobBlock, BlobServiceClient, ContainerClient

MiB = 1024 * 1024


def _container(name: str, threads: int) -> ContainerClient:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(threads, 10), max_retries=0)
    session.mount("http://", adapter)
    service = BlobServiceClient.from_connection_string(
        os.environ["AZURE_STORAGE_CONNECTION_STRING"],
        transport=RequestsTransport(session=session, session_owner=True),
        max_single_put_size=5000 * MiB,
        max_single_get_size=5000 * MiB,
    )
    return service.get_container_client(name)


def up(path: Path, container: ContainerClient, block: int, threads: int) -> None:
    try:
        container.create_container()
    except ResourceExistsError:
        pass
    blob = container.get_blob_client(path.name)
    size = path.stat().st_size
    if block == 0:
        with open(path, "rb") as fh:
            blob.upload_blob(fh, length=size, overwrite=True)
        return
    fd = os.open(path, os.O_RDONLY)
    offsets = list(range(0, size, block))
    ids = [base64.b64encode(f"{i:08d}".encode()).decode() for i in range(len(offsets))]

    def stage(i: int) -> None:
        data = os.pread(fd, min(block, size - offsets[i]), offsets[i])
        blob.stage_block(ids[i], data, length=len(data))

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(stage, range(len(offsets))))
    finally:
        os.close(fd)
    blob.commit_block_list([BlobBlock(block_id=i) for i in ids])


def down(name: str, container: ContainerClient, out: Path, block: int, threads: int) -> None:
    blob = container.get_blob_client(name)
    if block == 0:
        with open(out, "wb") as fh:
            blob.download_blob(max_concurrency=1).readinto(fh)
        return
    size = blob.get_blob_properties().size
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, size)

    def fetch(offset: int) -> None:
        length = min(block, size - offset)
        data = blob.download_blob(offset=offset, length=length, max_concurrency=1).readall()
        os.pwrite(fd, data, offset)

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fetch, range(0, size, block)))
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.raw_ceiling")
    parser.add_argument("op", choices=["up", "down"])
    parser.add_argument("target", help="up: the file; down: the blob name")
    parser.add_argument("container")
    parser.add_argument("out", nargs="?", help="down: the file to write")
    parser.add_argument("--block", type=int, default=8, help="MiB per request; 0 = one request")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    container = _container(args.container, args.threads)
    started = time.perf_counter()
    try:
        if args.op == "up":
            up(Path(args.target), container, args.block * MiB, args.threads)
        else:
            down(args.target, container, Path(args.out), args.block * MiB, args.threads)
    finally:
        container.close()
    print(json.dumps({"transfer_s": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
