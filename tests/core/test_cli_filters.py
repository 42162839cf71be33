"""The CLI's face of filters and container paths, in-process against in-memory stores:
``--exclude``/``--exclude-from``/``--no-default-excludes``, ``CONTAINER/path``, what each
rule left out in the dry run and ``--json``, ``blobsync pairs`` with paths, and a second
run when the ignore file changed. tests/integration/test_cli.py runs the real command
against Azurite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from blobsync.core.app import logs
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, save_config
from blobsync.core.cli import commands as cli
from blobsync.core.cli import sync as cli_sync
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.filters import IGNORE_FILE
from blobsync.core.remote.memory import MemoryStore

FAKE_KEY = "ZmFrZS1rZXktdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ="
FAKE_CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;"
    f"AccountKey={FAKE_KEY};EndpointSuffix=core.windows.net"
)
EMU_URL = "http://127.0.0.1:10000/devstoreaccount1"
MTIME = 1_700_000_000_000_000_000


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
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


def write(root: Path, rel: str, data: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    os.utime(path, ns=(MTIME, MTIME))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    write(root, "a.txt", "alpha")
    write(root, "debug.log", "log")
    write(root, "build/out.o", "o")
    write(root, "build/more.o", "o2")
    write(root, "Thumbs.db", "junk")
    write(root, "~$report.docx", "lock")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_container_path_syncs_only_under_it(
    capsys: pytest.CaptureFixture[str], stores: dict[str, MemoryStore], folder: Path
) -> None:
    code, out, err = run(capsys, "sync", str(folder), "box/projects/x", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert (data["container"], data["container_path"]) == ("box", "projects/x")
    assert sorted(stores["box"].synced_names()) == [
        "projects/x/a.txt",
        "projects/x/build/more.o",
        "projects/x/build/out.o",
        "projects/x/debug.log",
    ]
    # the built-in list kept the junk out, and says so
    assert data["excluded"] == {
        "total": 2,
        "folder": 0,
        "defaults": 2,
        "ignore_file": 0,
        "pattern": 0,
        "by_pattern": {"Thumbs.db": 1, "~$*": 1},
    }
    # a sibling path is another pair: it sees none of these blobs
    other = folder.parent / "other"
    other.mkdir()
    assert run(capsys, "sync", str(other), "box/projects/xy")[0] == 0
    assert list(other.iterdir()) == []
    code, out, _ = run(capsys, "issues", str(folder), "box/projects/x")
    assert (code, out) == (0, "No pending issues.\n")
    code, out, _ = run(capsys, "issues", str(folder), "box")
    assert "has never been synced with box" in out


def test_excludes_from_flags_and_a_file_and_the_dry_run_counts_each_rule(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    tmp_path: Path,
) -> None:
    patterns = tmp_path / "excludes.txt"
    patterns.write_text("# build output\nbuild/\n")
    write(folder, IGNORE_FILE, "*.docx\n")
    argv = ["sync", str(folder), "box", "--exclude", "*.log", "--exclude-from", str(patterns)]
    code, out, _ = run(capsys, *argv, "--dry-run")
    assert code == 0
    lines = out.splitlines()
    assert "  upload  a.txt" in lines and not any("build" in line for line in lines[:4])
    assert (
        "Left out by the filter rules: 4 items (1 by the built-in list, 1 by .blobsyncignore, "
        "2 by your patterns)." in lines
    )
    # one line per deciding pattern, most first ("build/" counts the folder once; the
    # last matching pattern decides: the ignore file's *.docx comes after the defaults)
    assert lines[-4:] == ["  1  *.docx", "  1  *.log", "  1  Thumbs.db", "  1  build/"]
    assert stores["box"].writes == 0

    code, out, _ = run(capsys, *argv, "--no-default-excludes", "--json")
    data = json.loads(out)
    assert code == 0 and data["excluded"]["defaults"] == 0
    assert data["excluded"]["by_pattern"] == {"*.log": 1, "build/": 1, "*.docx": 1}
    assert sorted(stores["box"].synced_names()) == [IGNORE_FILE, "Thumbs.db", "a.txt"]


def test_the_dry_run_names_the_rules_of_nested_ignore_files(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
) -> None:
    write(folder, "web/" + IGNORE_FILE, "*.log\n!keep.log\n")
    write(folder, "web/a.log", "a")
    write(folder, "web/deep/b.log", "b")
    write(folder, "web/keep.log", "k")
    code, out, _ = run(capsys, "sync", str(folder), "box", "--dry-run")
    lines = out.splitlines()
    assert code == 0 and "  2  web/.blobsyncignore: *.log" in lines
    assert "  upload  web/keep.log" in lines and "  upload  web/.blobsyncignore" in lines
    code, out, _ = run(capsys, "sync", str(folder), "box", "--dry-run", "--json")
    assert json.loads(out)["excluded"]["by_pattern"]["web/.blobsyncignore: *.log"] == 2
    assert stores["box"].writes == 0


def test_every_bad_pattern_gets_its_own_sentence_and_nothing_syncs(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    tmp_path: Path,
) -> None:
    patterns = tmp_path / "excludes.txt"
    patterns.write_text("*.log\n!\n# fine\n[z-a]\n")
    code, out, err = run(
        capsys,
        "sync",
        str(folder),
        "box",
        "--exclude-from",
        str(patterns),
        "--exclude",
        "ok/",
        "--exclude",
        "!",
    )
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 3 and all(
        line.startswith("blobsync: Configuration error: ") for line in lines
    )
    assert f"{patterns} line 2: '!' is not a valid pattern" in lines[0]
    assert f"{patterns} line 4: '[z-a]' is not a valid pattern" in lines[1]
    assert "--exclude '!' is not a valid pattern" in lines[2]
    assert "Traceback" not in err
    assert stores == {}  # refused before anything connected

    code, _, err = run(capsys, "sync", str(folder), "box", "--exclude-from", str(tmp_path / "no"))
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("box/a/../b", "'..' parts"),
        ("box/a//b", "no empty"),
        ("box/.blobsync/x", "BlobSync's own space"),
        ("Box/x", "not a valid container name"),
    ],
)
def test_a_bad_container_path_is_one_sentence(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    target: str,
    words: str,
) -> None:
    code, out, err = run(capsys, "sync", str(folder), target)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("blobsync: Configuration error: ") and words in err
    assert stores == {}


def _saved_pair(tmp_path: Path, folder: Path, **fields: object) -> PairConfig:
    account = AccountConfig(
        "emu", EMU_URL, "devstoreaccount1", SecretKind.ACCOUNT_KEY, has_secret=False
    )
    pair = PairConfig(str(folder), "emu", "box", name="proj", **fields)  # type: ignore[arg-type]
    save_config(AppConfig(accounts={"emu": account}, pairs=[pair]))
    return pair


def test_a_saved_pair_uses_its_path_and_patterns_plus_the_flags(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    tmp_path: Path,
) -> None:
    _saved_pair(
        tmp_path,
        folder,
        prefix="projects/x",
        patterns=["build/"],
        use_defaults=False,
        excluded_folders=[],
    )
    code, out, _ = run(capsys, "pairs")
    assert code == 0 and f"{folder} <-> box/projects/x (emu, two-way)" in out
    listed = json.loads(run(capsys, "pairs", "--json")[1])["pairs"][0]
    assert (listed["container"], listed["container_path"]) == ("box", "projects/x")
    assert (listed["patterns"], listed["use_defaults"]) == (["build/"], False)

    code, out, _ = run(capsys, "sync", "--pair", "proj", "--exclude", "*.log", "--json")
    data = json.loads(out)
    assert code == 0 and data["pair"] == "proj" and data["container_path"] == "projects/x"
    assert data["excluded"]["by_pattern"] == {"build/": 1, "*.log": 1}
    assert sorted(stores["box"].synced_names()) == [
        "projects/x/Thumbs.db",  # the pair switched the built-in list off
        "projects/x/a.txt",
        "projects/x/~$report.docx",
    ]


def test_a_sync_that_brought_a_new_ignore_file_runs_again_under_it(
    capsys: pytest.CaptureFixture[str],
    stores: dict[str, MemoryStore],
    folder: Path,
    tmp_path: Path,
) -> None:
    assert run(capsys, "sync", str(folder), "box")[0] == 0
    store = stores["box"]
    # another machine adds an ignore file that leaves out *.log
    other = tmp_path / "other"
    other.mkdir()
    engine = SyncEngine(other, store, tmp_path / "other.sqlite3")
    try:
        engine.sync(SyncOptions())
        write(other, IGNORE_FILE, "*.log\n")
        engine.sync(SyncOptions())
    finally:
        engine.state.close()
    write(folder, "new.log", "this machine's new log")
    code, out, _ = run(capsys, "sync", str(folder), "box", "--json")
    data = json.loads(out)
    assert code == 0
    # the first run downloaded the ignore file (and still uploaded new.log, its rules
    # being fixed when it began); the second one applied it: nothing deleted anywhere
    assert data["first_run"]["downloaded"] == 1 and data["first_run"]["ignore_file_changed"]
    assert data["excluded"]["ignore_file"] == 2 and not data["ignore_file_changed"]
    assert data["deleted_remote"] == 0 and "debug.log" in store.names()
    assert (folder / "debug.log").exists()

    write(folder, "third.txt", "3")
    code, out, _ = run(capsys, "sync", str(folder), "box")
    assert "synced again" not in out  # only when the rules changed
