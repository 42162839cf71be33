"""How we reach one storage account: endpoint and one kind of secret (or a sign-in).

Parsing of connection strings and SAS URLs lives here (no Azure imports) so the CLI,
the GUI's account dialog and the store factory agree on what is valid. So does reading
a SAS's validity window (``st=``/``se=``) and the "expires soon" state derived from it:
pure functions of the token and a clock the caller passes in.

Microsoft Entra ID accounts (:attr:`SecretKind.ENTRA`) carry no secret at all: only the
tenant/client hints and, at run time, a token credential (an
``azure.core.credentials.TokenCredential``, built by the factories in
``remote/azure/identity.py``; this module never imports azure).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

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
    #: Microsoft Entra ID sign-in: no secret; a token credential supplies bearer tokens.
    ENTRA = "entra"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything needed to talk to one account. ``secret`` never goes to a file or log.

    For :attr:`SecretKind.ENTRA`, ``secret`` is empty, ``tenant_id``/``client_id`` are
    the (optional, non-secret) hints the sign-in used, and ``token_credential`` is the
    live ``azure.core.credentials.TokenCredential`` (None until the client signed in).
    """

    account_url: (
        str  # e.g. https://NAME.blob.core.windows.net or http://127.0.0.1:PORT/devstoreaccount1
    )
    account_name: str
    kind: SecretKind
    secret: str  # connection string, account key, or SAS token (without leading '?')
    tenant_id: str = ""
    client_id: str = ""
    token_credential: object | None = field(default=None, compare=False)
    #: A container SAS is limited to this container (clients preselect it); "" otherwise.
    sas_container: str = ""
    #: Entra ID: the saved sign-in (azure-identity's AuthenticationRecord as JSON: user
    #: name, tenant, client id, authority; no token, not a secret) that restores this
    #: sign-in after a restart; "" for a DefaultAzureCredential sign-in.
    sign_in_record: str = field(default="", compare=False)

    def __repr__(self) -> str:  # never show the secret
        return (
            f"Credentials(account_url={self.account_url!r}, account_name={self.account_name!r}, "
            f"kind={self.kind.value!r}, secret=<hidden>)"
        )

    __str__ = __repr__

    @property
    def has_account_key(self) -> bool:
        """True when these credentials hold the account key (they can sign a service SAS)."""
        return self.account_key is not None

    @property
    def account_key(self) -> str | None:
        """The account key (a named key, or a connection string's ``AccountKey``), or
        None."""
        if self.kind is SecretKind.ACCOUNT_KEY:
            return self.secret
        if self.kind is SecretKind.CONNECTION_STRING:
            return parse_connection_string_parts(self.secret).get("accountkey") or None
        return None

    @property
    def sas_token(self) -> str | None:
        """The SAS token these credentials use (a SAS URL's query, or a connection
        string's ``SharedAccessSignature``), or None."""
        if self.kind is SecretKind.SAS:
            return self.secret
        if self.kind is SecretKind.CONNECTION_STRING:
            token = parse_connection_string_parts(self.secret).get("sharedaccesssignature")
            return token.lstrip("?") if token else None
        return None


def parse_connection_string_parts(conn_str: str) -> dict[str, str]:
    """The ``Key=Value`` pairs of a connection string, keys lower-cased.

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
    return parts


def parse_connection_string(conn_str: str) -> Credentials:
    """Credentials from an Azure connection string.

    Raises ConfigError (without echoing the string) when it is malformed.
    """
    parts = parse_connection_string_parts(conn_str)
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
    """Credentials from a SAS URL: an account SAS (``https://NAME.blob.core.windows.net/?sv=...``)
    or a container SAS (``https://NAME.blob.core.windows.net/CONTAINER?sv=...&sr=c``, as
    the portal's "Generate SAS" gives it). For a container SAS the account URL stops at
    the account and ``sas_container`` names the container it is limited to.

    Raises ConfigError when the URL has no SAS token or its st/se time is unreadable.
    """
    split = urlsplit(sas_url.strip())
    if not split.query or "sig=" not in split.query:
        raise ConfigError("The SAS URL has no signature (expected ...?sv=...&sig=...).")
    parse_sas_times(split.query)  # an unreadable st/se is refused when saved, not later
    segments = [seg for seg in split.path.split("/") if seg]
    # Emulator-style URLs (an IP or localhost) carry the account as the first segment.
    host = split.hostname or ""
    account_in_path = host == "localhost" or host.replace(".", "").isdigit() or ":" in host
    kept = segments[:1] if account_in_path else []
    base = f"{split.scheme}://{split.netloc}" + "".join(f"/{seg}" for seg in kept)
    rest = segments[len(kept) :]
    return Credentials(
        base,
        account_name_from_url(base),
        SecretKind.SAS,
        split.query,
        sas_container=unquote(rest[0]) if rest else "",
    )


def azurite(port: int, host: str = "127.0.0.1") -> Credentials:
    """Credentials for a local Azurite on ``host:port``."""
    return from_key(f"http://{host}:{port}/{AZURITE_ACCOUNT}", AZURITE_KEY)


def from_entra(
    account_url: str,
    token_credential: object | None = None,
    *,
    tenant_id: str = "",
    client_id: str = "",
    sign_in_record: str = "",
) -> Credentials:
    """Credentials for a Microsoft Entra ID sign-in (no secret).

    ``token_credential`` is an ``azure.core.credentials.TokenCredential`` (see
    ``remote/azure/identity.py``); a saved account has None until the client signs in.
    ``sign_in_record`` is the saved sign-in that restores it (``SignIn.record``).
    Raises ConfigError when ``account_url`` is not an account URL or is not HTTPS
    (bearer tokens are only ever sent over HTTPS).
    """
    if urlsplit(account_url).scheme != "https":
        raise ConfigError("Signing in with Microsoft Entra ID needs an https:// account URL.")
    return Credentials(
        account_url.rstrip("/"),
        account_name_from_url(account_url),
        SecretKind.ENTRA,
        "",
        tenant_id=tenant_id.strip(),
        client_id=client_id.strip(),
        token_credential=token_credential,
        sign_in_record=sign_in_record,
    )


# ---- SAS validity --------------------------------------------------------------------

#: How long before a SAS expires the clients warn about it.
EXPIRY_WARNING = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SasTimes:
    """The validity window a SAS token states (``st=``, ``se=``), in UTC; None where the
    token does not say (e.g. a SAS bound to a stored access policy, ``si=``, keeps its
    expiry on the server)."""

    starts: dt.datetime | None
    expires: dt.datetime | None
    permissions: str | None  # ``sp=``, e.g. "rwdl"


def _sas_time(text: str) -> dt.datetime:
    """A SAS time: ISO 8601 in UTC, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mmZ``,
    ``YYYY-MM-DDThh:mm:ssZ`` or with fractional seconds (Azure: "Create a service SAS",
    "Specify the signature validity interval"). Raises ValueError."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if len(value) == 10:  # a date alone means midnight UTC
        value += "T00:00:00+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_sas_times(token: str) -> SasTimes:
    """The ``st``/``se``/``sp`` of a SAS token (query string, with or without '?').

    Raises ConfigError when ``st`` or ``se`` is present but not a valid time (the
    message never echoes the token).
    """
    query = parse_qs(token.strip().lstrip("?"), keep_blank_values=True)

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    times: dict[str, dt.datetime | None] = {}
    for name in ("st", "se"):
        raw = one(name)
        try:
            times[name] = _sas_time(raw) if raw else None
        except ValueError:
            label = "start" if name == "st" else "expiry"
            raise ConfigError(
                f"The SAS has an unreadable {label} time ({name}=); copy the whole SAS again."
            ) from None
    return SasTimes(times["st"], times["se"], one("sp"))


def sas_times(creds: Credentials) -> SasTimes | None:
    """The validity window of the SAS these credentials use, or None when they use none.
    Raises ConfigError (see :func:`parse_sas_times`)."""
    token = creds.sas_token
    return None if token is None else parse_sas_times(token)


class ExpiryState(enum.StrEnum):
    """Where credentials stand in their validity window."""

    VALID = "valid"  # expires more than EXPIRY_WARNING from now
    EXPIRES_SOON = "expires_soon"  # within EXPIRY_WARNING: warn (tray, pair state)
    EXPIRED = "expired"  # "Sign-in expired — update the SAS"
    NOT_YET_VALID = "not_yet_valid"  # its start time is still ahead
    UNKNOWN = "unknown"  # no expiry in the credentials (key, Entra, stored access policy)


@dataclass(frozen=True, slots=True)
class CredentialExpiry:
    """The expiry state of one account's credentials at one moment."""

    state: ExpiryState
    expires: dt.datetime | None = None
    remaining: dt.timedelta | None = None  # expires - now (negative once expired)


def expiry_state(times: SasTimes | None, now: dt.datetime) -> CredentialExpiry:
    """The state of a validity window at ``now`` (timezone-aware). Pure: the caller
    passes the clock, so tests use a fake one."""
    if times is None or times.expires is None:
        if times is not None and times.starts is not None and now < times.starts:
            return CredentialExpiry(ExpiryState.NOT_YET_VALID)
        return CredentialExpiry(ExpiryState.UNKNOWN)
    remaining = times.expires - now
    if remaining <= dt.timedelta(0):
        state = ExpiryState.EXPIRED
    elif times.starts is not None and now < times.starts:
        state = ExpiryState.NOT_YET_VALID
    elif remaining <= EXPIRY_WARNING:
        state = ExpiryState.EXPIRES_SOON
    else:
        state = ExpiryState.VALID
    return CredentialExpiry(state, times.expires, remaining)


def credential_expiry(creds: Credentials, now: dt.datetime | None = None) -> CredentialExpiry:
    """The expiry state of ``creds`` at ``now`` (default: the current UTC time).
    UNKNOWN for keys and Entra ID; raises ConfigError for an unreadable SAS time."""
    return expiry_state(sas_times(creds), now if now is not None else utc_now())


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
