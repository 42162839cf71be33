"""Azure Blob Storage: the ONLY code that imports ``azure.*`` (one door to Azure).

The rest of BlobSync speaks in its own dataclasses (:mod:`blobsync.core.models`) through
the :class:`~blobsync.core.remote.base.RemoteStore` protocol; an in-memory store with
Azure's rules (:mod:`blobsync.core.remote.memory`) stands in for fast tests and Azurite
proves this one. The modules:

- :mod:`.policy`: bounded retries, timeouts, size cut-offs, SAS masking in logs;
- :mod:`.errors`: SDK exceptions -> BlobSync errors (the only place that converts them);
- :mod:`.wire`: the lean pipeline the store's everyday requests go through (http.client,
  our Shared Key signer, the same retry policy);
- :mod:`.client`: the storage SDK's service clients and account-level calls (connection
  check, containers), imported on first use;
- :mod:`.listing`: List Blobs pages parsed with ElementTree;
- :mod:`.transfer`: upload request bodies;
- :mod:`.store`: :class:`AzureBlobStore`, the RemoteStore for one container;
- :mod:`.identity`: Microsoft Entra ID sign-in (token credentials, token cache);
- :mod:`.links`: read-only share links (service / user-delegation SAS).

For the clients: :func:`check_connection`, :func:`list_containers`,
:func:`create_container`, :func:`open_store`, :func:`check_container` (permission
probe), and the sign-in factories :func:`sign_in`, :func:`restore_sign_in`,
:func:`cli_credential`.
"""

from typing import TYPE_CHECKING, Any

from .errors import translate
from .policy import CONNECTION_TIMEOUT_S, READ_TIMEOUT_S, BoundedRetryPolicy, RedactSignatures
from .store import AzureBlobStore, check_container, create_container, open_store

if TYPE_CHECKING:
    from .client import check_connection, list_containers
    from .identity import (
        DeviceCodePrompt,
        SignIn,
        SignInMethod,
        TokenCacheChoice,
        TokenCacheMode,
        cli_credential,
        encrypted_cache_problem,
        restore_sign_in,
        sign_in,
    )

#: Sign-in names, imported on first use: azure-identity (and MSAL under it) took ~70 ms
#: of every ``blobsync sync`` start-up here, also with a connection string or a key.
_IDENTITY_NAMES = frozenset(
    {
        "DeviceCodePrompt",
        "SignIn",
        "SignInMethod",
        "TokenCacheChoice",
        "TokenCacheMode",
        "cli_credential",
        "encrypted_cache_problem",
        "restore_sign_in",
        "sign_in",
    }
)


def __getattr__(name: str) -> Any:
    if name in _IDENTITY_NAMES:
        from . import identity

        return getattr(identity, name)
    if name in ("check_connection", "list_containers"):  # the storage SDK's clients
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONNECTION_TIMEOUT_S",
    "READ_TIMEOUT_S",
    "AzureBlobStore",
    "BoundedRetryPolicy",
    "DeviceCodePrompt",
    "RedactSignatures",
    "SignIn",
    "SignInMethod",
    "TokenCacheChoice",
    "TokenCacheMode",
    "check_connection",
    "check_container",
    "cli_credential",
    "create_container",
    "encrypted_cache_problem",
    "list_containers",
    "open_store",
    "restore_sign_in",
    "sign_in",
    "translate",
]
