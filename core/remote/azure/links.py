"""Read-only share links to one blob: a SAS URL that works with plain HTTP and no
credentials until it expires.

- With the account key (a key or a connection string holding one): a *service SAS*
  signed with the key (https://learn.microsoft.com/rest/api/storageservices/create-service-sas).
- Signed in with Microsoft Entra ID: a *user delegation SAS*, signed with a delegation
  key the service issues to the signed-in user (Get User Delegation Key; needs the
  ``generateUserDelegationKey`` action, part of Storage Blob Data Contributor):
  https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
- A SAS cannot sign another SAS: :class:`LinkNotPossible`.

Links are read-only (``sp=r``), for one blob (``sr=b``), HTTPS-only when the account is
reached over HTTPS, and valid at most :data:`~blobsync.core.remote.base.MAX_LINK_VALIDITY`.
No start time is set: a start in the future of a skewed server clock would make the
link fail for its first minutes (Azure's SAS best practices).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlsplit

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from ...credentials import Credentials, SecretKind, utc_now
from ...errors import LinkNotPossible
from ..base import MAX_LINK_VALIDITY, LinkKind, ShareLink
from .errors import raise_translated


def make_share_link(
    service: BlobServiceClient,
    creds: Credentials,
    container: str,
    blob_name: str,
    valid_for: dt.timedelta,
) -> ShareLink:
    """A read-only link to ``container/blob_name`` valid for ``valid_for`` from now.

    Raises LinkNotPossible (SAS credentials, a validity of zero or over 7 days),
    AuthError (Entra ID: the delegation key was refused), ConnectionFailure.
    """
    if not dt.timedelta(0) < valid_for <= MAX_LINK_VALIDITY:
        raise LinkNotPossible("A link can be valid for at most 7 days.")
    now = utc_now()
    expires = (now + valid_for).replace(microsecond=0)
    https = urlsplit(creds.account_url).scheme == "https"
    permission = BlobSasPermissions(read=True)
    key = creds.account_key
    if key is not None:
        token = generate_blob_sas(
            creds.account_name,
            container,
            blob_name,
            account_key=key,
            permission=permission,
            expiry=expires,
            protocol="https" if https else None,
        )
        kind = LinkKind.SERVICE_SAS
    elif creds.kind is SecretKind.ENTRA:
        try:
            # The key only needs to outlive the link; a start slightly in the past
            # tolerates a server clock a little behind ours.
            delegation = service.get_user_delegation_key(now - dt.timedelta(minutes=5), expires)
        except AzureError as exc:
            raise_translated(exc, blob_name=blob_name, container=container, creds=creds)
        token = generate_blob_sas(
            creds.account_name,
            container,
            blob_name,
            user_delegation_key=delegation,
            permission=permission,
            expiry=expires,
            protocol="https" if https else None,
        )
        kind = LinkKind.USER_DELEGATION_SAS
    else:
        raise LinkNotPossible(
            "Links need the account key or a Microsoft Entra ID sign-in; an account "
            "saved from a SAS cannot create them."
        )
    url = f"{creds.account_url}/{container}/{quote(blob_name, safe='~/')}?{token}"
    return ShareLink(url, expires, kind)
