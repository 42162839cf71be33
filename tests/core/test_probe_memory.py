"""The permission probe on the in-memory store (each permission denied in turn, bad
credentials, a missing container) and the report's sentence and mode choices."""

from __future__ import annotations

import itertools

import pytest

from blobsync.core.errors import AuthError, AuthReason, SignInExpired
from blobsync.core.models import Permission, RemoteDeletePolicy, SyncMode
from blobsync.core.remote.memory import MemoryStore
from blobsync.core.remote.probe import PermissionReport, probe_permissions

ALL = list(Permission)


@pytest.mark.parametrize(
    "denied",
    [set(c) for n in range(len(ALL) + 1) for c in itertools.combinations(ALL, n)],
    ids=lambda d: "+".join(sorted(p.value for p in d)) or "none",
)
def test_every_combination_of_denied_permissions(denied: set[Permission]) -> None:
    store = MemoryStore()
    store.put_raw("user.txt", b"mine")
    store.denied = set(denied)
    writes = store.writes
    report = probe_permissions(store)
    assert report.container_exists and report.missing == frozenset(denied)
    assert report.leftover is None
    assert store.names() == ["user.txt"] and store.content("user.txt") == b"mine"
    if Permission.DELETE in denied:
        assert store.writes == writes  # nothing was created that could not be removed


def test_missing_container() -> None:
    report = probe_permissions(MemoryStore(exists=False))
    assert report == PermissionReport("memory", False)
    assert not report.ok and not any(report.supports(m) for m in SyncMode)


def test_bad_credentials_are_raised_not_reported() -> None:
    store = MemoryStore()
    store.fail_next("list_page", AuthError("The account key is wrong.", AuthReason.BAD_KEY))
    with pytest.raises(AuthError) as info:
        probe_permissions(store)
    assert info.value.reason is AuthReason.BAD_KEY
    store.fail_next("list_page", SignInExpired("Sign-in expired — update the SAS."))
    with pytest.raises(SignInExpired):
        probe_permissions(store)


def test_a_delete_that_fails_on_the_way_leaves_a_named_probe_blob() -> None:
    store = MemoryStore()
    from blobsync.core.errors import RemoteItemError

    store.fail_next("delete", RemoteItemError("503 after retries"), skip=1)  # the real delete
    report = probe_permissions(store)
    assert report.ok and report.leftover is not None
    assert report.leftover.startswith(".blobsync/") and store.names() == [report.leftover]


def test_report_sentence_and_choices() -> None:
    no_delete = PermissionReport("docs", True, frozenset({Permission.DELETE}))
    assert no_delete.describe() == (
        "These credentials may not delete in 'docs'; it can still sync as two-way or upload "
        "or download with deletions kept as issues."
    )
    assert no_delete.delete_policy() is RemoteDeletePolicy.KEEP_AS_ISSUES
    read_only = PermissionReport("docs", True, frozenset({Permission.WRITE, Permission.DELETE}))
    assert [m for m in SyncMode if read_only.supports(m)] == [SyncMode.DOWNLOAD]
    assert "may not write and delete" in read_only.describe()
    nothing = PermissionReport(
        "docs", True, frozenset(Permission), role="Storage Blob Data Contributor"
    )
    assert nothing.describe() == (
        "Signed in, but without the role Storage Blob Data Contributor you may not list, "
        "read, write and delete in 'docs'; it cannot sync this container."
    )
    everything = PermissionReport("docs", True)
    assert everything.ok and everything.delete_policy() is RemoteDeletePolicy.APPLY
