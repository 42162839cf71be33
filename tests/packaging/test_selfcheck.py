"""``blobsync-gui --self-check`` in-process (gui/selfcheck.py): it reports what it found
against Azurite, fails with one sentence and the right exit code, and never prints a secret."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.app.emulator import Azurite
from blobsync.core.credentials import AZURITE_KEY
from blobsync.gui import selfcheck

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


@pytest.fixture(autouse=True)
def _no_env_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(selfcheck.ENV_CONNECTION_STRING, raising=False)


def test_lists_containers_and_blobs(
    qapp: object, azurite: Azurite, container_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(container_name)
    container.upload_blob("a.txt", b"hello")
    container.upload_blob("dir/b.bin", b"\0" * 1000)

    code = selfcheck.run(
        [
            "--self-check",
            "--connection-string",
            azurite.connection_string,
            "--container",
            container_name,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "icons        7 SVG icons render" in out
    assert "MainWindow opened and painted" in out
    assert container_name in out
    assert f"'{container_name}': 2 blob(s), 1005 bytes" in out
    assert "Self-check passed" in out
    assert AZURITE_KEY not in out


def test_connection_string_from_the_environment(
    qapp: object,
    azurite: Azurite,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(selfcheck.ENV_CONNECTION_STRING, azurite.connection_string)
    code = selfcheck.run(["--self-check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"account      devstoreaccount1 at {azurite.blob_endpoint}" in out
    assert AZURITE_KEY not in out


def test_wrong_key_fails_with_one_sentence_and_no_secret(
    qapp: object, azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    conn = azurite.connection_string.replace(AZURITE_KEY, wrong_key)
    assert wrong_key in conn
    code = selfcheck.run(["--self-check", "--connection-string", conn])
    out = capsys.readouterr().out
    assert code == 3, out
    failure = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failure) == 1 and "Authentication failed" in failure[0], out
    assert wrong_key not in out
    assert "Self-check passed" not in out


def test_malformed_connection_string_is_a_configuration_error(
    qapp: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code = selfcheck.run(["--self-check", "--connection-string", "AccountKey=s3cr3t;nonsense"])
    out = capsys.readouterr().out
    assert code == 2, out
    assert "FAILED" in out
    assert "s3cr3t" not in out


def test_no_account_and_no_azurite_says_what_to_do(
    qapp: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("blobsync.core.app.emulator.find_azurite", lambda: None)
    code = selfcheck.run(["--self-check"])
    out = capsys.readouterr().out
    assert code == 2, out
    assert selfcheck.ENV_CONNECTION_STRING in out.splitlines()[-1]


@pytest.mark.slow
def test_own_azurite(qapp: object, capsys: pytest.CaptureFixture[str]) -> None:
    from blobsync.core.app.emulator import find_azurite

    if find_azurite() is None:
        pytest.skip("Azurite is not installed (bash packaging/dev.sh setup)")
    code = selfcheck.run(["--self-check", "--azurite"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "azurite      started on port" in out
    assert f"'{selfcheck.AZURITE_CONTAINER}': 0 blob(s)" in out
