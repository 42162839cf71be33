"""Azure Blob Storage: the ONLY code that imports ``azure.*`` (one door to Azure).

The rest of BlobSync speaks in its own dataclasses (:mod:`blobsync.core.models`) through
the :class:`~blobsync.core.remote.base.RemoteStore` protocol; an in-memory store with
Azure's rules (:mod:`blobsync.core.remote.memory`) stands in for fast tests and Azurite
proves this one. The modules:

- :mod:`.policy`: bounded retries, timeouts, size cut-offs, SAS masking in logs;
- :mod:`.errors`: SDK exceptions -> BlobSync errors (the only place that converts them);
- :mod:`.client`: service clients and account-level calls (connection check, containers);
- :mod:`.listing`: List Blobs pages parsed with ElementTree;
- :mod:`.transfer`: upload request bodies;
- :mod:`.store`: :class:`AzureBlobStore`, the RemoteStore for one container.

For the clients: :func:`check_connection`, :func:`list_containers`,
:func:`create_container`, :func:`open_store`.
"""

from .client import check_connection, list_containers
from .errors import translate
from .policy import CONNECTION_TIMEOUT_S, READ_TIMEOUT_S, BoundedRetryPolicy, RedactSignatures
from .store import AzureBlobStore, create_container, open_store

__all__ = [
    "CONNECTION_TIMEOUT_S",
    "READ_TIMEOUT_S",
    "AzureBlobStore",
    "BoundedRetryPolicy",
    "RedactSignatures",
    "check_connection",
    "create_container",
    "list_containers",
    "open_store",
    "translate",
]
