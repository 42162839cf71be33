"""The CLI in-process against an in-memory store: arguments, exit codes, output shapes.

``blobsync.core.cli.open_store`` is swapped for a :class:`MemoryStore`, so these run
without Azurite; ``tests/integration/test_cli.py`` runs the real command against it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from memkeyring import MemoryKeyring, installed

from blobsync.core.app import logs
from blobsync.core.cli import commands as cli
from blobsync.core.cli import sync as cli_sync
from blobsync.core.credentials import Credentials
from blobsync.core.remote.memory import MemoryStore

FAKE_KEY = "ZmFrZS1rZXktdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ="
FAKE_CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;"
    f"AccountKey={FAKE_KEY};EndpointSuffix=core.windows.net"
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """cli.main() configures the root logger; leave it as other tests expect it."""
    yield
    logs.shutdown_logging()
    logs.clear_registered_secrets()


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, MemoryStore]:
    """Containers by name; the CLI opens these instead of Azure ones."""
    by_name: dict[str, MemoryStore] = {}

    def fake_open_store(creds: Credentials, container: str) -> MemoryStore:
        if container not in by_name:
            by_name[container] = MemoryStore(container, exists=False)
        return by_name[container]

    monkeypatch.setattr(cli_sync, "open_store", fake_open_store)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", FAKE_CONN)
    return by_name


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.txt").write_text("bravo")
    return root


@pytest.fixture
def dict_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        yield backend  # type: ignore[misc]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence(err: str) -> None:
    assert err.startswith("blobsync: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == "blobsync 0.1.0"


def test_first_sync_creates_the_container_and_says_so(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, out, err = run(capsys, "sync", str(folder), "box")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "Created container box."
    assert "Uploaded 2," in out
    # the files, and the change beacon the run wrote (other machines sync within seconds)
    assert stores["box"].names() == [".blobsync/beacon", "a.txt", "sub/b.txt"]
    code, out, _ = run(capsys, "sync", str(folder), "box")
    assert code == 0
    assert "Created container" not in out
    assert out.startswith("Uploaded 0, downloaded 0, deleted 0 local and 0 remote")


def test_json_is_the_only_stdout_and_has_typed_fields(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, out, err = run(capsys, "sync", str(folder), "box", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)  # the whole stdout is one JSON object
    for key in (
        "uploaded",
        "downloaded",
        "deleted_local",
        "deleted_remote",
        "conflicts",
        "skipped",
    ):
        assert type(data[key]) is int
    assert data["uploaded"] == 2
    assert data["issues"] == []
    assert data["container_created"] is True
    assert data["dry_run"] is False
    assert isinstance(data["duration_s"], float)
    assert data["bytes_uploaded"] == len("alpha") + len("bravo")


def test_dry_run_prints_the_plan_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, out, _ = run(capsys, "sync", str(folder), "box", "--dry-run")
    assert code == 0
    assert "upload  a.txt" in out
    assert "upload  sub/b.txt" in out
    assert stores["box"].names() == [] and stores["box"].writes == 0
    assert not stores["box"].container_exists()
    code, out, _ = run(capsys, "sync", str(folder), "box", "--dry-run", "--json")
    data = json.loads(out)
    assert data["dry_run"] is True
    assert sorted(p["path"] for p in data["planned"]) == ["a.txt", "sub/b.txt"]
    assert {p["action"] for p in data["planned"]} == {"upload"}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Bad_Name", "lowercase"),
        ("ab", "3 to 63"),
        ("-abc", "start and end"),
        ("a--b", "two hyphens"),
    ],
)
def test_bad_container_name_is_exit_2_with_a_sentence(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    name: str,
    words: str,
) -> None:
    code, out, err = run(capsys, "sync", "--", str(folder), name)
    assert code == 2 and out == ""
    assert_one_sentence(err)
    assert f"'{name}' is not a valid container name" in err and words in err
    assert stores == {}  # refused before any store was opened


def test_missing_folder_is_exit_2_and_not_created(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    missing = tmp_path / "nope"
    code, _, err = run(capsys, "sync", str(missing), "box")
    assert code == 2
    assert_one_sentence(err)
    assert "does not exist" in err
    assert not missing.exists()


def test_download_mode_creates_a_missing_folder(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path, tmp_path: Path
) -> None:
    assert run(capsys, "sync", str(folder), "box")[0] == 0
    target = tmp_path / "new" / "copy"
    code, out, err = run(capsys, "sync", str(target), "box", "--mode", "download")
    assert (code, err) == (0, "")
    assert f"Created folder {target}." in out
    assert (target / "sub" / "b.txt").read_text() == "bravo"


def test_download_of_a_missing_container_is_exit_2(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    target = tmp_path / "dl"
    code, _, err = run(capsys, "sync", str(target), "ghost", "--mode", "download")
    assert code == 2
    assert_one_sentence(err)
    assert "Container not found" in err
    assert not target.exists()
    assert not stores["ghost"].container_exists()


def test_no_credentials_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, folder: Path
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_URL", raising=False)
    code, _, err = run(capsys, "sync", str(folder), "box")
    assert code == 2
    assert err == (
        "blobsync: Configuration error: No credentials: set AZURE_STORAGE_CONNECTION_STRING "
        "(or AZURE_STORAGE_ACCOUNT_URL to sign in with Microsoft Entra ID) or pass --account "
        "NAME (see 'blobsync account add').\n"
    )


def test_unknown_account_is_exit_2(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, _, err = run(capsys, "sync", str(folder), "box", "--account", "ghost")
    assert code == 2
    assert "No account named ghost" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["sync", "a", "b", "--mode", "sideways"], ["frobnicate"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    capsys.readouterr()
    for argv, words in (
        (["sync"], "Name the pair"),
        (["sync", "folder-only"], "both the folder and the container"),
        (["sync", "--all", "d", "box"], "Name the pair"),
        (["sync", "--pair", "nope"], "No folder pair named nope"),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and words in err, (argv, err)
        assert_one_sentence(err)


def test_a_secret_cannot_be_passed_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["account", "add", "work", "--key", "--url", "https://a.blob.core.windows.net", FAKE_KEY],
        ["account", "add", "work", "--key", FAKE_KEY],
    ):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_symlink_is_an_issue_exit_1_and_listed_by_issues(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    (folder / "link").symlink_to(folder / "a.txt")
    code, out, _ = run(capsys, "sync", str(folder), "box")
    assert code == 1
    assert "1 item needs attention:" in out
    assert "  link: Symbolic link (not followed)" in out
    assert "link" not in stores["box"].names()
    code, out, _ = run(capsys, "issues", str(folder), "box", "--json")
    assert code == 1
    assert [(i["path"], i["kind"]) for i in json.loads(out)["issues"]] == [("link", "symlink")]
    (folder / "link").unlink()
    assert run(capsys, "sync", str(folder), "box")[0] == 0
    code, out, _ = run(capsys, "issues", str(folder), "box")
    assert (code, out) == (0, "No pending issues.\n")


def test_issues_of_a_never_synced_pair(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, out, _ = run(capsys, "issues", str(folder), "box")
    assert code == 0
    assert "has never been synced" in out
    assert stores == {}  # offline: no store opened


def test_unexpected_error_is_one_sentence_and_the_traceback_goes_to_the_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, folder: Path
) -> None:
    def broken(creds: Credentials, container: str) -> MemoryStore:
        raise RuntimeError(f"kaboom with AccountKey={FAKE_KEY};")

    monkeypatch.setattr(cli_sync, "open_store", broken)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", FAKE_CONN)
    code, _, err = run(capsys, "sync", str(folder), "box")
    assert code == 4
    assert_one_sentence(err)
    assert "Unexpected error: RuntimeError: kaboom" in err
    assert FAKE_KEY not in err
    log_text = logs.log_file().read_text()
    assert "Traceback" in log_text and "kaboom" in log_text
    assert FAKE_KEY not in log_text
    assert f"details in {logs.log_file()}" in err


def test_account_add_reads_stdin_and_keeps_the_secret_out_of_files(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dict_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(FAKE_KEY + "\n"))
    code, out, err = run(
        capsys,
        "account",
        "add",
        "work",
        "--key",
        "--url",
        "https://acct.blob.core.windows.net",
        "--secret-stdin",
    )
    assert (code, err) == (0, "")
    assert "Account work saved" in out and "OS keyring" in out
    assert dict_keyring.items[("blobsync", "work")] == FAKE_KEY
    code, out, _ = run(capsys, "account", "list", "--json")
    listed = json.loads(out)["accounts"]
    assert listed == [
        {
            "name": "work",
            "account_name": "acct",
            "account_url": "https://acct.blob.core.windows.net",
            "kind": "account_key",
            "plaintext_secret_file": False,
            "signed_in_as": None,
            "sas_expires": None,
            "expiry_state": "unknown",
        }
    ]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path
    assert run(capsys, "account", "remove", "work")[0] == 0
    assert dict_keyring.items == {}


def test_account_add_without_keyring_needs_the_opt_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        argv = ["account", "add", "work", "--key", "--url", "https://acct.blob.core.windows.net"]
        monkeypatch.setattr("sys.stdin", io.StringIO(FAKE_KEY))
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert "No OS keyring is available" in err and "--plaintext-secret" in err
        monkeypatch.setattr("sys.stdin", io.StringIO(FAKE_KEY))
        code, out, _ = run(capsys, *argv, "--plaintext-secret")
        assert code == 0 and "INSECURE plaintext file" in out
        code, out, _ = run(capsys, "account", "list")
        assert "[INSECURE: secret in a plaintext file]" in out
    finally:
        keyring.set_keyring(previous)


def test_ctrl_c_cancels_the_engine_and_exits_130(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(40):
        (root / f"f{i:02}.txt").write_text(str(i))
    store = MemoryStore("box", exists=True)
    writes: list[str] = []

    def before_write(_op: str, name: str) -> None:
        # Ctrl-C once two uploads are done (not after a fixed time: a loaded machine may
        # not have started uploading by then), then slowly, as a real upload would.
        writes.append(name)
        if len(writes) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)

    store.before_write = before_write
    stores["box"] = store
    code, _, err = run(capsys, "sync", str(root), "box", "--workers", "1")
    assert code == 130
    assert "Cancelling" in err and "Traceback" not in err
    assert 0 < len(store.synced_names()) < 40  # stopped part-way, cleanly


def test_json_mode_failure_is_one_error_object_on_stdout(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "sync", str(tmp_path / "nope"), "box", "--json")
    assert code == 2
    assert json.loads(out)["error"]["exit_code"] == 2
    assert "does not exist" in json.loads(out)["error"]["message"]
    assert_one_sentence(err)


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["-v", "sync", "d", "box"], True),
        (["sync", "d", "box", "-v"], True),
        (["sync", "d", "box"], False),
        (["-v", "account", "list"], True),
        (["account", "test", "x", "--verbose"], True),
    ],
)
def test_verbose_flag_works_before_and_after_the_subcommand(argv: list[str], verbose: bool) -> None:
    assert cli.build_parser().parse_args(argv).verbose is verbose


def test_pairs_says_not_finished_after_a_cancelled_run_like_the_app(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from blobsync.core.app.emulator import demo_account
    from blobsync.core.app.engines import open_engine
    from blobsync.core.app.settings import AppConfig, PairConfig, save_config
    from blobsync.core.credentials import azurite
    from blobsync.core.engine import SyncOptions
    from blobsync.core.errors import Cancelled
    from blobsync.core.remote.base import CancelToken

    for i in range(6):
        (folder / f"f{i}.txt").write_text(str(i))
    account = demo_account(10999)
    save_config(
        AppConfig(
            accounts={account.name: account},
            pairs=[PairConfig(str(folder), account.name, "docs", name="docs")],
        )
    )
    assert cli.main(["pairs"]) == 0
    assert "\tNot synced yet; last sync: never" in capsys.readouterr().out

    store = MemoryStore("docs")
    cancel = CancelToken()
    store.before_write = lambda op, name: cancel.cancel() if store.writes >= 2 else None
    engine = open_engine(folder, azurite(10999), "docs", store=store)
    with pytest.raises(Cancelled):
        engine.sync(SyncOptions(workers=1), cancel)
    waiting = engine.run_record().waiting
    engine.close()
    assert waiting and waiting >= 6 - len(store.synced_names()) > 0
    assert cli.main(["pairs"]) == 0
    line = capsys.readouterr().out
    assert f"\tNot finished — {waiting} changes waiting; last sync: never" in line
    assert cli.main(["pairs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["pairs"][0]
    assert listed["state"] == "unfinished" and listed["waiting"] == waiting
    folder.rename(folder.with_name("moved"))
    assert cli.main(["pairs"]) == 0
    assert "\tFolder missing; last sync: never" in capsys.readouterr().out


def test_an_emptied_container_stops_lists_what_would_go_and_restore_fixes_it(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    assert run(capsys, "sync", str(folder), "box")[0] == 0
    for name in stores["box"].names():
        stores["box"].remove_raw(name)
    code, out, err = run(capsys, "sync", str(folder), "box")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("blobsync: Sync stopped for safety: The container 'box' is empty")
    assert "--restore-deleted" in lines[0] and "--allow-mass-delete" in lines[0]
    assert lines[1] == "It would delete 2 files (10 B): 2 in the folder."
    assert lines[2:] == ["  a.txt", "  sub/b.txt"]
    assert (folder / "a.txt").exists()
    code, out, err = run(capsys, "sync", str(folder), "box", "--restore-deleted")
    assert (code, err) == (0, "") and "Uploaded 2," in out
    assert stores["box"].synced_names() == ["a.txt", "sub/b.txt"]


def test_accounts_can_be_shown_rekeyed_renamed_and_removed_with_their_pairs(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dict_keyring: MemoryKeyring,
    folder: Path,
) -> None:
    from blobsync.core.app.emulator import demo_account
    from blobsync.core.app.settings import AppConfig, PairConfig, load_config, save_config
    from blobsync.core.credentials import AZURITE_KEY

    emulator = demo_account(10123)
    save_config(
        AppConfig(
            accounts={emulator.name: emulator},
            pairs=[PairConfig(str(folder), emulator.name, "docs", name="docs")],
        )
    )
    code, out, _ = run(capsys, "account", "show", emulator.name)
    assert code == 0 and "Pairs:   docs" in out
    assert f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10123/devstoreaccount1" in out

    # An account that pairs use is not removed without a word.
    code, out, err = run(capsys, "account", "remove", emulator.name)
    assert code == 2 and "used by 1 folder pair (docs)" in err
    assert emulator.name in load_config().accounts

    code, out, err = run(capsys, "account", "rename", emulator.name, "emu")
    assert (code, err) == (0, "") and "1 folder pair follow" in out.replace("pairs", "pair")
    assert [p.account for p in load_config().pairs] == ["emu"]

    monkeypatch.setattr("sys.stdin", io.StringIO(FAKE_KEY + "\n"))
    code, out, err = run(
        capsys, "account", "rekey", "emu", "--key", "--url", "https://acct.blob.core.windows.net"
    )
    assert (code, err) == (0, "") and "new secret saved (OS keyring)" in out
    assert dict_keyring.items[("blobsync", "emu")] == FAKE_KEY
    assert load_config().accounts["emu"].account_url == "https://acct.blob.core.windows.net"
    code, out, _ = run(capsys, "account", "show", "emu")
    assert "Connection string" not in out and FAKE_KEY not in out  # a real secret: never shown

    code, out, err = run(capsys, "account", "remove", "emu", "--with-pairs")
    assert (code, err) == (0, "") and "folder pair docs" in out and "removed too" in out
    assert load_config().accounts == {} and load_config().pairs == []
    assert dict_keyring.items == {}
    assert (folder / "a.txt").exists()
