"""When an account's SAS ends, read once when it was saved, and how both clients say it.

A SAS states its validity window (``st=``/``se=``); :func:`times_to_save` reads it when
the account is added, so :func:`account_expiry` can tell "expires soon" (within
:data:`~blobsync.core.credentials.EXPIRY_WARNING`, a week) or "expired" from the
settings alone: no keyring read, no network. Both are pure functions of a clock the
caller passes, so tests use a fake one. Account keys and Entra ID sign-ins have no
expiry here (UNKNOWN): a lapsed Entra ID sign-in shows when a request is refused.
"""

from __future__ import annotations

import datetime as dt

from ..credentials import (
    CredentialExpiry,
    Credentials,
    ExpiryState,
    SasTimes,
    expiry_state,
    sas_times,
    utc_now,
)
from .settings import AccountConfig


def times_to_save(creds: Credentials) -> tuple[str, str]:
    """The (start, expiry) of the SAS ``creds`` use, as ISO 8601 UTC ("" where the SAS
    says nothing, or uses no SAS). Raises ConfigError for an unreadable time."""
    times = sas_times(creds)
    if times is None:
        return "", ""
    return (
        times.starts.isoformat() if times.starts else "",
        times.expires.isoformat() if times.expires else "",
    )


def _parse(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None  # a hand-edited settings file: say nothing rather than guess
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def account_expiry(account: AccountConfig, now: dt.datetime | None = None) -> CredentialExpiry:
    """The expiry state of a saved account at ``now`` (default: the current time)."""
    starts, expires = _parse(account.sas_starts), _parse(account.sas_expires)
    if starts is None and expires is None:
        return CredentialExpiry(ExpiryState.UNKNOWN)
    return expiry_state(SasTimes(starts, expires, None), now or utc_now())


def _span(remaining: dt.timedelta) -> str:
    hours = int(remaining.total_seconds() // 3600)
    if hours < 1:
        return "in less than an hour"
    if hours < 48:
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    return f"in {(hours + 12) // 24} days"


def expiry_words(expiry: CredentialExpiry, account: str = "") -> str:
    """One sentence about an account's SAS validity ("" when there is nothing to say).

    EXPIRED gives the sentence both clients show as the state of the pairs using it:
    "Sign-in expired — update the SAS".
    """
    whose = f" of the account {account}" if account else ""
    when = f"{expiry.expires:%Y-%m-%d %H:%M} UTC" if expiry.expires else ""
    if expiry.state is ExpiryState.EXPIRED:
        return f"Sign-in expired — update the SAS{whose} (it expired on {when})."
    if expiry.state is ExpiryState.EXPIRES_SOON and expiry.remaining is not None:
        return (
            f"The SAS{whose} expires on {when} ({_span(expiry.remaining)}); update it before then."
        )
    if expiry.state is ExpiryState.NOT_YET_VALID:
        return f"The SAS{whose} is not valid yet."
    return ""
