"""What the Azurite store tests share (test_azure_store.py, test_listing_azurite.py): a
fresh container's store, an upload of bytes, and a store that counts its requests."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.remote.azure import AzureBlobStore, BoundedRetryPolicy, open_store
from blobsync.core.remote.base import RemoteStore

MTIME = 1_714_558_272_123_456_789


def upload(
    store: RemoteStore, name: str, data: bytes, if_match: str | None = None, mtime: int = MTIME
) -> str:
    md5 = hashlib.md5(data).digest()
    return store.upload(name, io.BytesIO(data), len(data), md5, mtime, if_match).etag


@pytest.fixture
def azure_store(azurite: Azurite, container_name: str) -> Iterator[AzureBlobStore]:
    store = open_store(azurite.credentials, container_name)
    assert store.create_container() is True
    try:
        yield store
    finally:
        store.close()


def counted_store(azurite: Azurite, container: str) -> tuple[AzureBlobStore, BoundedRetryPolicy]:
    policy = BoundedRetryPolicy(sleep=lambda s: None)
    return AzureBlobStore(azurite.credentials, container, retry_policy=policy), policy
