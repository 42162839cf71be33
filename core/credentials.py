"""How we reach one storage account: endpoint and one kind of secret.

Parsing of connection strings and SAS URLs lives here (no Azure imports) so the CLI,
the GUI's account dialog and the store factory agree on what is valid.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigError

#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class SecretKind(enum.StrEnum):
    """What kind of secret an account uses."""

    CONNECTION_STRING = "connection_string"
    ACCOUNT_KEY = "account_key"
    SAS = "sas"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything needed to talk to one account. ``secret`` never goes to a file or log."""

    account_url: (
        str  # e.g. https://NAME.blob.core.windows.net or http://127.0.0.1:PORT/devstoreaccount1
    )
    account_name: str
    kind: SecretKind
    secret: str  # connection string, account key, or SAS token (without leading '?')

    def __repr__(self) -> str:  # never show the secret
        return (
            f"Credentials(account_url={self.account_url!r}, account_name={self.account_name!r}, "
            f"kind={self.kind.value!r}, secret=<hidden>)"
        )

    __str__ = __repr__


def parse_connection_string(conn_str: str) -> Credentials:
    """Credentials from an Azure connection string.

    Raises ConfigError (without echoing the string) when it is malformed.
    """
    parts: dict[str, str] = {}
    for piece in conn_str.strip().split(";"):
        if not piece.strip():
            continue
        key, sep, value = piece.partition("=")
        if not sep:
            raise ConfigError("The connection string is malformed (expected Key=Value pairs).")
        parts[key.strip().lower()] = value.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return Credentials(
            "http://127.0.0.1:10000/" + AZURITE_ACCOUNT,
            AZURITE_ACCOUNT,
            SecretKind.CONNECTION_STRING,
            conn_str.strip(),
        )
    name = parts.get("accountname", "")
    endpoint = parts.get("blobendpoint", "")
    if not endpoint:
        if not name:
            raise ConfigError("The connection string names no AccountName or BlobEndpoint.")
        protocol = parts.get("defaultendpointsprotocol", "https")
        suffix = parts.get("endpointsuffix", "core.windows.net")
        endpoint = f"{protocol}://{name}.blob.{suffix}"
    if not name:
        name = account_name_from_url(endpoint)
    if "accountkey" not in parts and "sharedaccesssignature" not in parts:
        raise ConfigError(
            "The connection string has neither an AccountKey nor a SharedAccessSignature."
        )
    return Credentials(endpoint.rstrip("/"), name, SecretKind.CONNECTION_STRING, conn_str.strip())


def account_name_from_url(account_url: str) -> str:
    """The account name in a blob endpoint URL (host prefix, or first path segment for
    emulator-style ``http://host:port/ACCOUNT`` URLs)."""
    split = urlsplit(account_url)
    if not split.scheme or not split.netloc:
        raise ConfigError(
            f"'{account_url}' is not an account URL (expected https://NAME.blob.core.windows.net)."
        )
    host = split.hostname or ""
    path = split.path.strip("/")
    if path:
        return path.split("/")[0]
    if host and not host.replace(".", "").isdigit() and host != "localhost":
        return host.split(".")[0]
    raise ConfigError(f"Cannot tell the account name from '{account_url}'.")


def from_key(account_url: str, key: str) -> Credentials:
    """Credentials from an account URL and an account key."""
    return Credentials(
        account_url.rstrip("/"),
        account_name_from_url(account_url),
        SecretKind.ACCOUNT_KEY,
        key.strip(),
    )


def from_sas_url(sas_url: str) -> Credentials:
    """Credentials from an account SAS URL (``https://NAME.blob.core.windows.net/?sv=...``).

    Raises ConfigError when the URL has no SAS token.
    """
    split = urlsplit(sas_url.strip())
    if not split.query or "sig=" not in split.query:
        raise ConfigError("The SAS URL has no signature (expected ...?sv=...&sig=...).")
    base = f"{split.scheme}://{split.netloc}{split.path}".rstrip("/")
    return Credentials(base, account_name_from_url(base), SecretKind.SAS, split.query)


def azurite(port: int, host: str = "127.0.0.1") -> Credentials:
    """Credentials for a local Azurite on ``host:port``."""
    return from_key(f"http://{host}:{port}/{AZURITE_ACCOUNT}", AZURITE_KEY)
