"""SAS validity: ``st``/``se`` read when a SAS is saved, the "expires soon" state one week
ahead (fake clock), and 401/403 answers classified by reason, without a network.

Azure's answers are built as the service sends them (status, x-ms-error-code, XML body
with AuthenticationErrorDetail), so the classification is proven for what Azurite
cannot produce (Azure's expired-SAS detail, KeyBasedAuthenticationNotPermitted,
AuthorizationPermissionMismatch for a signed-in user).
"""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import StorageErrorCode

from blobsync.core.credentials import (
    EXPIRY_WARNING,
    ExpiryState,
    SasTimes,
    credential_expiry,
    expiry_state,
    from_entra,
    from_key,
    from_sas_url,
    parse_connection_string,
    parse_sas_times,
)
from blobsync.core.errors import (
    CONTRIBUTOR_ROLE,
    AuthError,
    AuthReason,
    ConfigError,
    SignInExpired,
)
from blobsync.core.remote.azure.errors import error_code, translate

UTC = dt.UTC
SE = dt.datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def sas(query: str) -> str:
    return f"https://acct.blob.core.windows.net/docs?{query}&sp=rl&sv=2025-01-05&sr=c&sig=abc%3D"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("se=2026-12-08T10:00:00Z", SE),
        ("se=2026-12-08T10%3A00%3A00Z", SE),
        ("se=2026-12-08T10:00Z", SE),
        ("se=2026-12-08T10:00:00.1234567Z", SE.replace(microsecond=123456)),
        ("se=2026-12-08", dt.datetime(2026, 12, 8, tzinfo=UTC)),
        ("se=2026-12-08T11:00:00%2B01:00", SE),
    ],
)
def test_expiry_is_read_in_every_form_azure_accepts(text: str, expected: dt.datetime) -> None:
    creds = from_sas_url(sas(text))
    assert parse_sas_times(creds.secret).expires == expected
    assert credential_expiry(creds, SE - dt.timedelta(days=30)).expires == expected


def test_start_permissions_and_a_stored_policy() -> None:
    times = parse_sas_times("?st=2026-12-01T00:00:00Z&se=2026-12-08T10:00:00Z&sp=rwdl&sig=x")
    assert times == SasTimes(dt.datetime(2026, 12, 1, tzinfo=UTC), SE, "rwdl")
    bound = parse_sas_times("si=policy1&sv=2025-01-05&sig=x")  # expiry kept on the server
    assert bound.expires is None and bound.starts is None
    assert expiry_state(bound, SE).state is ExpiryState.UNKNOWN


def test_an_unreadable_expiry_is_refused_when_saved_without_echo() -> None:
    with pytest.raises(ConfigError, match="unreadable expiry") as info:
        from_sas_url(sas("se=next-tuesday"))
    assert "sig=" not in str(info.value) and "abc" not in str(info.value)


def test_connection_string_sas_and_keys() -> None:
    conn = (
        "BlobEndpoint=https://acct.blob.core.windows.net/;"
        "SharedAccessSignature=sv=2025-01-05&se=2026-12-08T10:00:00Z&sp=rl&sig=abc"
    )
    assert credential_expiry(parse_connection_string(conn), SE).state is ExpiryState.EXPIRED
    key = from_key("https://acct.blob.core.windows.net", "a2V5")
    assert key.has_account_key and key.sas_token is None
    assert credential_expiry(key, SE).state is ExpiryState.UNKNOWN


@pytest.mark.parametrize(
    ("before_expiry", "state"),
    [
        (dt.timedelta(days=30), ExpiryState.VALID),
        (EXPIRY_WARNING + dt.timedelta(seconds=1), ExpiryState.VALID),
        (EXPIRY_WARNING, ExpiryState.EXPIRES_SOON),
        (dt.timedelta(hours=1), ExpiryState.EXPIRES_SOON),
        (dt.timedelta(0), ExpiryState.EXPIRED),
        (-dt.timedelta(days=2), ExpiryState.EXPIRED),
    ],
)
def test_expires_soon_one_week_ahead(before_expiry: dt.timedelta, state: ExpiryState) -> None:
    creds = from_sas_url(sas("se=2026-12-08T10:00:00Z"))
    now = SE - before_expiry  # the fake clock
    expiry = credential_expiry(creds, now)
    assert expiry.state is state
    assert expiry.remaining == before_expiry


def test_not_yet_valid() -> None:
    times = SasTimes(SE - dt.timedelta(days=1), SE + dt.timedelta(days=30), "r")
    assert expiry_state(times, SE - dt.timedelta(days=2)).state is ExpiryState.NOT_YET_VALID


# ---- the service's answers ----------------------------------------------------------


class FakeResponse:
    """What azure-core reads from an HTTP response."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        self.status_code = status
        self.reason = "Forbidden"
        self.headers = {"x-ms-error-code": code, "Content-Type": "application/xml"}
        detail_xml = f"<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail>"
        self._body = (
            f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>Refused.</Message>{detail_xml if detail else ''}</Error>"
        )
        self.request = None
        self.content_type = "application/xml"

    def text(self, encoding: str | None = None) -> str:
        return self._body

    def body(self) -> bytes:
        return self._body.encode()


def refused(code: str, detail: str = "", status: int = 403) -> HttpResponseError:
    return HttpResponseError(response=FakeResponse(status, code, detail))  # type: ignore[arg-type]


AZURE_EXPIRED_DETAIL = (
    "Signature not valid in the specified time frame: Start [Mon, 30 Nov 2026 10:00:00 GMT]"
    " - Expiry [Tue, 01 Dec 2026 10:00:00 GMT] - Current [Tue, 01 Dec 2026 11:00:00 GMT]"
)


def test_expired_sas_answered_by_azure_is_sign_in_expired() -> None:
    past = from_sas_url(sas("se=2020-01-01T00:00:00Z"))
    error = translate(refused("AuthenticationFailed", AZURE_EXPIRED_DETAIL), creds=past)
    assert isinstance(error, SignInExpired) and error.exit_code == 3
    assert error.message == "Sign-in expired — update the SAS (it expired on 2020-01-01 00:00 UTC)."
    assert error.expired_at == dt.datetime(2020, 1, 1, tzinfo=UTC)
    # A SAS bound to a stored access policy has no se: Azure's detail tells.
    bound = from_sas_url("https://acct.blob.core.windows.net/docs?si=p1&sv=2025-01-05&sig=x")
    error = translate(refused("AuthenticationFailed", AZURE_EXPIRED_DETAIL), creds=bound)
    assert isinstance(error, SignInExpired)
    assert error.message == "Sign-in expired — update the SAS."


def test_other_sas_refusals_keep_their_own_reasons() -> None:
    valid = from_sas_url(sas("se=2099-01-01T00:00:00Z"))
    error = translate(refused("AuthenticationFailed", "Signature did not match."), creds=valid)
    assert type(error) is AuthError and error.reason is AuthReason.SAS_REFUSED
    future = from_sas_url(sas("st=2099-01-01T00:00:00Z&se=2099-02-01T00:00:00Z"))
    error = translate(refused("AuthenticationFailed"), creds=future)
    assert isinstance(error, AuthError) and error.reason is AuthReason.SAS_NOT_YET_VALID
    error = translate(refused("AuthorizationPermissionMismatch"), creds=valid)
    assert isinstance(error, AuthError) and error.reason is AuthReason.PERMISSION_MISSING


def test_key_access_disabled_says_to_sign_in() -> None:
    key = from_key("https://acct.blob.core.windows.net", "a2V5")
    error = translate(refused("KeyBasedAuthenticationNotPermitted"), creds=key)
    assert isinstance(error, AuthError) and error.reason is AuthReason.KEY_AUTH_DISABLED
    assert "Entra ID" in error.message
    error = translate(refused("AuthenticationFailed"), creds=key)
    assert isinstance(error, AuthError) and error.reason is AuthReason.BAD_KEY


def test_signed_in_without_a_role_names_the_role() -> None:
    entra = from_entra("https://acct.blob.core.windows.net", object())
    error = translate(refused("AuthorizationPermissionMismatch"), creds=entra, container="docs")
    assert isinstance(error, AuthError) and error.reason is AuthReason.ROLE_MISSING
    assert error.role == CONTRIBUTOR_ROLE
    assert f"role {CONTRIBUTOR_ROLE} on the container 'docs'" in error.message
    lapsed = translate(
        refused(
            "InvalidAuthenticationInfo", "Lifetime validation failed. The token is expired.", 401
        ),
        creds=entra,
    )
    assert isinstance(lapsed, SignInExpired) and lapsed.reason is AuthReason.SIGN_IN_REQUIRED


def test_a_credential_that_cannot_give_a_token_is_sign_in_required() -> None:
    entra = from_entra("https://acct.blob.core.windows.net", object())
    error = translate(ClientAuthenticationError("AADSTS70043: refresh token expired"), creds=entra)
    assert isinstance(error, SignInExpired) and error.reason is AuthReason.SIGN_IN_REQUIRED
    assert error.message == "Sign-in expired — sign in with Microsoft again."
    key = from_key("https://acct.blob.core.windows.net", "a2V5")
    error = translate(ClientAuthenticationError("bad base64"), creds=key)
    assert isinstance(error, AuthError) and error.reason is AuthReason.MALFORMED_KEY


def test_error_code_of_sdk_enums_is_the_service_code() -> None:
    exc = refused("AuthenticationFailed")
    exc.error_code = StorageErrorCode.AUTHENTICATION_FAILED  # as the storage SDK stores it
    assert error_code(exc) == "AuthenticationFailed"


def test_authorization_failure_is_a_wrong_key_or_a_network_rule() -> None:
    key = from_key("https://acct.blob.core.windows.net", "a2V5")
    # Azurite answers a wrong key so; Azure's AuthorizationFailure is a firewall/policy.
    wrong = refused("AuthorizationFailure")
    wrong.response._body = wrong.response._body.replace(  # type: ignore[union-attr]
        "Refused.", "Server failed to authenticate the request."
    )
    error = translate(wrong, creds=key)
    assert isinstance(error, AuthError) and error.reason is AuthReason.BAD_KEY
    network = refused("AuthorizationFailure")
    network.response._body = network.response._body.replace(  # type: ignore[union-attr]
        "Refused.", "This request is not authorized to perform this operation."
    )
    error = translate(network, creds=key)
    assert isinstance(error, AuthError) and error.reason is AuthReason.NETWORK_RULE
