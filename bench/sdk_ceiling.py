"""The raw-SDK ceiling: the plainest, fastest sync the Azure SDK can do on the same data.

Run as a child process (``python -m bench.sdk_ceiling push|pull|big ...``) so its peak
RSS is measured like every other tool's. ``push`` lists the container with metadata,
walks the folder, and uploads (thread pool, one Put Blob each, with rclone's ``mtime``
metadata) every file missing or different by size/mtime: for a first upload it is a
pure upload, for a no-change run a pure listing. ``pull`` lists and downloads
everything. ``big`` uploads one file with the SDK's own parallel block upload. No
conditional writes, no state, no hashing: that is what makes it a ceiling.
The connection string comes from ``AZURE_STORAGE_CONNECTION_STRING``.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from azure.core.exceptions import ResourceExistsError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, ContainerClient

from blobsync.core.remote.blobmeta import format_mtime, mtime_from_metadata


def _container(name: str, threads: int) -> ContainerClient:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(threads, 10), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    service = BlobServiceClient.from_connection_string(
        os.environ["AZURE_STORAGE_CONNECTION_STRING"],
        transport=RequestsTransport(session=session, session_owner=True),
        # One Put Blob up to 256 MiB (the fastest way to Azurite, and rclone's default
        # upload cutoff); larger files go in parallel 4 MiB blocks.
        max_single_put_size=256 * 1024 * 1024,
    )
    return service.get_container_client(name)


def _walk(root: Path) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for dirpath, _dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in files:
            st = os.stat(os.path.join(dirpath, name))
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            found.append((rel, st.st_size, st.st_mtime_ns))
    return found


def push(root: Path, container: ContainerClient, threads: int) -> int:
    """Upload what differs; returns the number of uploads."""
    try:
        container.create_container()
        remote: dict[str, tuple[int, int | None]] = {}
    except ResourceExistsError:
        remote = {
            b.name: (b.size, mtime_from_metadata(b.metadata))
            for b in container.list_blobs(include=["metadata"])
        }
    todo = [(rel, mtime) for rel, size, mtime in _walk(root) if remote.get(rel) != (size, mtime)]

    def one(item: tuple[str, int]) -> None:
        rel, mtime = item
        data = (root / rel).read_bytes()
        container.upload_blob(rel, data, overwrite=True, metadata={"mtime": format_mtime(mtime)})

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, todo))
    return len(todo)


def pull(container: ContainerClient, root: Path, threads: int) -> int:
    """Download every blob; returns the count."""
    names = [b.name for b in container.list_blobs()]
    root.mkdir(parents=True, exist_ok=True)

    def one(name: str) -> None:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            container.download_blob(name).readinto(fh)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, names))
    return len(names)


def big(path: Path, container: ContainerClient, threads: int) -> None:
    """One large upload: a single Put Blob up to 256 MiB, else parallel 4 MiB blocks."""
    try:
        container.create_container()
    except ResourceExistsError:
        pass
    mtime = path.stat().st_mtime_ns
    with open(path, "rb") as fh:
        container.upload_blob(
            path.name,
            fh,
            length=path.stat().st_size,
            overwrite=True,
            max_concurrency=threads,
            metadata={"mtime": format_mtime(mtime)},
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk_ceiling")
    parser.add_argument("op", choices=["push", "pull", "big"])
    parser.add_argument("local")
    parser.add_argument("container")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    container = _container(args.container, args.threads)
    try:
        if args.op == "push":
            count = push(Path(args.local), container, args.threads)
        elif args.op == "pull":
            count = pull(container, Path(args.local), args.threads)
        else:
            big(Path(args.local), container, args.threads)
            count = 1
    finally:
        container.close()
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
