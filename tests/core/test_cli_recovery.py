"""``blobsync history|restore|undo`` and ``blobsync config``, in-process against one
in-memory container shared by two "machines" (each its own settings, history and
installation id: its own XDG dirs). ``cli_sync.open_store`` is swapped as in
test_cli_parse.py; sync, restore and undo all open their engine through it.
tests/integration/test_cli_recovery_azurite.py runs the real command against Azurite."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from blobsync.core.app import logs
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, save_config
from blobsync.core.cli import commands as cli
from blobsync.core.cli import sync as cli_sync
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.remote.memory import MemoryStore

FAKE_CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;"
    "AccountKey=ZmFrZS1rZXktdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ=;"
    "EndpointSuffix=core.windows.net"
)
EMU_URL = "http://127.0.0.1:10000/devstoreaccount1"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    logs.shutdown_logging()
    logs.clear_registered_secrets()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    """The one container both machines sync with."""
    shared = MemoryStore("box", exists=False)

    def fake_open_store(creds: Credentials, container: str) -> MemoryStore:
        assert container == "box"
        return shared

    monkeypatch.setattr(cli_sync, "open_store", fake_open_store)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", FAKE_CONN)
    return shared


class Machine:
    """One machine: its folder and its own XDG dirs (settings, state, history)."""

    def __init__(
        self,
        name: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.name = name
        self.home = tmp_path / f"home-{name}"
        self.folder = tmp_path / f"folder-{name}"
        self.folder.mkdir()
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        code, out, _ = self.run("config", "machine-name", name)
        assert code == 0 and f"Machine name: {name}" in out

    def run(self, *argv: str) -> tuple[int, str, str]:
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            self._monkeypatch.setenv(var, str(self.home / var.lower()))
        code = cli.main(list(argv))
        out, err = self._capsys.readouterr()
        return code, out, err

    def sync(self) -> dict[str, Any]:
        code, out, err = self.run("sync", str(self.folder), "box", "--json")
        assert code == 0, err
        data: dict[str, Any] = json.loads(out)
        return data

    def on(self, *argv: str) -> tuple[int, str, str]:
        """``argv[0] FOLDER box argv[1:]``."""
        return self.run(argv[0], str(self.folder), "box", *argv[1:])

    def json(self, *argv: str) -> Any:
        code, out, err = self.on(*argv, "--json")
        assert code in (0, 1), err
        return json.loads(out)  # the whole stdout is one JSON object

    def files(self) -> dict[str, str]:
        return {
            p.relative_to(self.folder).as_posix(): p.read_text()
            for p in sorted(self.folder.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def machines(
    store: MemoryStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Machine, Machine]:
    return (
        Machine("laptop-a", tmp_path, monkeypatch, capsys),
        Machine("desk-b", tmp_path, monkeypatch, capsys),
    )


def put(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def next_second() -> None:
    """Wait until the wall clock's second changes."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.02)


def assert_one_sentence(err: str) -> None:
    assert err.startswith("blobsync: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def shared_folder(a: Machine, b: Machine) -> None:
    """A and B in sync on five files, two of them under docs/."""
    for rel in ("docs/plan.md", "docs/notes.txt", "one.txt", "two.txt", "three.txt"):
        put(a.folder, rel, f"text of {rel}")
    a.sync()
    b.sync()
    assert b.files() == a.files()


def test_a_folder_deleted_on_b_is_undone_on_a_on_both_sides_and_b_gets_it_back(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, b = machines
    shared_folder(a, b)
    for rel in ("docs/plan.md", "docs/notes.txt"):
        (b.folder / rel).unlink()
    (b.folder / "docs").rmdir()
    b.sync()
    assert a.sync()["deleted_local"] == 2
    assert not (a.folder / "docs").exists()

    history = a.json("history", "--kind", "deletions")
    deleted = history["changes"]
    assert sorted(c["path"] for c in deleted) == ["docs/notes.txt", "docs/plan.md"]
    assert {c["words"] for c in deleted} == {"Deleted here: deleted on desk-b"}
    assert {c["writer"]["machine"] for c in deleted} == {"desk-b"}
    assert deleted[0]["local_path"] == str(a.folder / deleted[0]["path"])
    run_id = deleted[0]["run_id"]
    assert [r["run_id"] for r in history["runs"]] == [run_id]
    assert history["runs"][0]["kind"] == "sync" and history["runs"][0]["machine"] == "laptop-a"
    assert history["runs"][0]["changes"] == 2

    code, out, _ = a.on("history")
    assert code == 0
    assert out.startswith("Runs, newest first (reverse one with: blobsync undo ")
    assert run_id in out and "Deleted here: deleted on desk-b  docs/plan.md" in out

    before = (a.files(), store.synced_names(), store.writes)
    code, out, err = a.on("undo", run_id, "--dry-run")
    assert (code, err) == (0, "") and out == "2 files would be put back\n"
    assert (a.files(), store.synced_names(), store.writes) == before

    code, out, err = a.on("undo", run_id)
    assert (code, err) == (0, ""), out
    assert out.splitlines()[0] == "2 files put back"
    assert out.splitlines()[1].startswith("Then synced: Uploaded 2,")
    assert a.files()["docs/plan.md"] == "text of docs/plan.md"
    assert {"docs/plan.md", "docs/notes.txt"} <= set(store.synced_names())
    b.sync()
    assert b.files() == a.files()
    undo_run = a.json("history", "--limit", "1")["runs"][0]
    assert (undo_run["kind"], undo_run["undoes"]) == ("undo", run_id)
    oldest = a.json("history")["runs"][-1]["run_id"]  # the first sync
    assert oldest != run_id
    only = a.json("history", "--run", oldest, "--limit", "1")
    assert [r["run_id"] for r in only["runs"]] == [oldest]
    assert [c["run_id"] for c in only["changes"]] == [oldest]


def test_undo_leaves_an_item_changed_since_alone_and_undoes_the_rest(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, b = machines
    shared_folder(a, b)
    (b.folder / "one.txt").unlink()
    (b.folder / "two.txt").unlink()
    b.sync()
    a.sync()
    run_id = a.json("history")["runs"][0]["run_id"]
    put(a.folder, "two.txt", "written again meanwhile")  # changed since the run

    dry = a.json("undo", run_id, "--dry-run")
    assert dry["dry_run"] and dry["restored"] == ["one.txt"]
    assert [i["path"] for i in dry["issues"]] == ["two.txt"]
    assert not (a.folder / "one.txt").exists()

    code, out, err = a.on("undo", run_id)
    assert code == 1 and err == ""  # done, with an item left alone: the "issues" code
    lines = out.splitlines()
    assert lines[0] == "1 file put back"
    assert lines[1].startswith("Left alone: two.txt: ")
    assert a.files()["one.txt"] == "text of one.txt"
    assert a.files()["two.txt"] == "written again meanwhile"  # never overwritten
    assert store.content("one.txt") == b"text of one.txt"


def test_restore_lists_numbered_versions_and_puts_the_chosen_one_back_on_both_sides(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, b = machines
    for text in ("first", "second, longer", "third"):
        # The container's bin names carry a stamp to the second: versions kept within
        # one second have no order between them, so each replacement gets its own.
        next_second()
        put(a.folder, "n.txt", text)
        a.sync()
    code, out, _ = a.on("restore", "n.txt", "--list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Previous versions of n.txt, newest first (restore one with --version N):"
    assert lines[1].startswith("  1. 14 bytes, kept ") and lines[2].startswith(
        "  2. 5 bytes, kept "
    )
    listed = a.json("restore", "n.txt", "--list")
    assert [(v["number"], v["size"]) for v in listed["versions"][:2]] == [(1, 14), (2, 5)]
    assert listed["versions"][0]["reason"] == "replaced"
    assert listed["versions"][0]["source"] == "container"  # the uploads replaced blobs

    code, out, _ = a.on("restore", "n.txt", "--version", "2", "--dry-run")
    assert code == 0 and out.startswith("Would restore n.txt, version 2. 5 bytes")
    assert "1 file would be put back" in out and a.files()["n.txt"] == "third"

    done = a.json("restore", "n.txt", "--version", "2")
    assert done["restored"] == ["n.txt"] and done["version"]["number"] == 2
    assert done["sync"]["downloaded"] == 1 and done["run_id"]  # copied back there first
    assert a.files()["n.txt"] == "first"
    assert store.content("n.txt") == b"first"
    b.sync()
    assert b.files()["n.txt"] == "first"  # a restore syncs like any other change
    restores = a.json("history", "--kind", "restores")["changes"]
    assert restores and {c["path"] for c in restores} == {"n.txt"}

    code, out, err = a.on("restore", "n.txt", "--version", "9")
    assert code == 2 and out == ""
    assert_one_sentence(err)
    assert "There is no version 9 of n.txt" in err
    code, _, err = a.on("restore", "never.txt")
    assert code == 2 and "No previous version of never.txt is kept" in err
    assert_one_sentence(err)


def test_unknown_run_and_bad_flags_are_one_sentence_each(
    machines: tuple[Machine, Machine],
) -> None:
    a, _b = machines
    put(a.folder, "x.txt", "x")
    a.sync()
    code, out, err = a.on("undo", "0123456789ab")
    assert code == 2 and out == ""
    assert_one_sentence(err)
    assert "No run with that id is recorded for this pair (0123456789ab)" in err
    code, out, err = a.on("undo", "0123456789ab", "--json")
    assert code == 2 and json.loads(out)["error"]["title"] == "Configuration error"
    for argv, words in (
        (("history", "--limit", "0"), "--limit must be at least 1"),
        (("restore", "x.txt", "--list", "--version", "1"), "give one"),
        (("restore", "x.txt", "--version", "0"), "counts from 1"),
    ):
        code, out, err = a.on(*argv)
        assert code == 2 and out == "" and words in err, err
        assert_one_sentence(err)
    code, _, err = a.run("undo", "--pair", "nope", "abc")
    assert code == 2 and "No folder pair named nope" in err
    code, _, err = a.run("config", "machine-name", "bad\tname")
    assert code == 2 and "at most 64 characters" in err


def test_history_filters_and_the_machine_name_from_config(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, b = machines
    put(a.folder, "report.txt", "r")
    put(a.folder, "photo.jpg", "p")
    a.sync()
    b.sync()
    uploads = a.json("history", "--kind", "uploads")["changes"]
    assert {c["words"] for c in uploads} == {"Uploaded: changed on laptop-a"}
    downloads = b.json("history", "--kind", "downloads", "--text", "report")["changes"]
    assert [(c["path"], c["words"]) for c in downloads] == [
        ("report.txt", "Downloaded: changed on laptop-a")
    ]
    assert b.json("history", "--kind", "uploads")["changes"] == []
    run_id = uploads[0]["run_id"]
    by_run = a.json("history", "--run", run_id)
    assert [r["run_id"] for r in by_run["runs"]] == [run_id] and len(by_run["changes"]) == 2
    assert len(a.json("history", "--limit", "1")["changes"]) == 1
    code, out, _ = b.on("history", "--text", "nothing-like-this")
    assert (code, out) == (0, "No recorded change matches.\n")

    code, out, _ = a.run("config", "machine-name")
    assert out == "Machine name: laptop-a (other machines see 'changed on laptop-a').\n"
    code, out, _ = a.run("config", "machine-name", "")
    assert code == 0 and "the host name" in out


def test_a_saved_pair_by_name_its_conflict_rule_and_history_of_all_pairs(
    store: MemoryStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = Machine("laptop-a", tmp_path, monkeypatch, capsys)
    account = AccountConfig(
        "emu", EMU_URL, "devstoreaccount1", SecretKind.ACCOUNT_KEY, has_secret=False
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(a.home / "xdg_config_home"))
    save_config(
        AppConfig(
            accounts={"emu": account},
            pairs=[PairConfig(str(a.folder), "emu", "box", name="proj")],
            machine_name="laptop-a",
        )
    )
    code, out, _ = a.run("config", "conflict-rule", "proj")
    assert out == "proj: when both sides changed a file: keep-both (Keep both (recommended)).\n"
    code, out, _ = a.run("config", "conflict-rule", "proj", "newer-wins")
    assert code == 0 and "newer-wins (Newer wins)" in out
    listed = json.loads(a.run("pairs", "--json")[1])["pairs"][0]
    assert listed["conflict_rule"] == "newer-wins"
    code, _, err = a.run("sync", "--pair", "proj", "--conflict-rule", "mine-wins")
    assert code == 2 and "a saved pair has its own rule" in err

    put(a.folder, "doc.txt", "v1")
    assert a.run("sync", "--pair", "proj")[0] == 0
    put(a.folder, "doc.txt", "version two")
    assert a.run("sync", "--pair", "proj")[0] == 0
    code, out, _ = a.run("history")  # every pair, each change with its pair's name
    assert code == 0 and "  proj  sync  on laptop-a  1 change" in out
    assert "  proj  Uploaded: changed on laptop-a  doc.txt" in out
    everything = json.loads(a.run("history", "--json")[1])
    assert {c["pair"] for c in everything["changes"]} == {"proj"}
    newest = everything["runs"][0]["run_id"]
    code, out, err = a.run("undo", "--pair", "proj", newest)
    assert (code, err) == (0, "")
    assert (a.folder / "doc.txt").read_text() == "v1" and store.content("doc.txt") == b"v1"
    code, out, _ = a.run("restore", "--pair", "proj", "doc.txt", "--list")
    assert code == 0 and "1. 11 bytes" in out  # the undo kept what it replaced


def test_a_folder_container_sync_takes_a_conflict_rule(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, b = machines
    put(a.folder, "c.txt", "base")
    a.sync()
    b.sync()
    put(a.folder, "c.txt", "mine, from a")
    put(b.folder, "c.txt", "theirs, from b")
    b.sync()
    code, _out, err = a.run("sync", str(a.folder), "box", "--conflict-rule", "mine-wins")
    assert code == 0, err
    assert a.files() == {"c.txt": "mine, from a"}  # no conflict copy: mine won
    assert store.content("c.txt") == b"mine, from a"
    kept = a.json("restore", "c.txt", "--list")["versions"]
    losers = [v for v in kept if v["writer"] == {"machine": "desk-b", "installation_id": ANY}]
    assert [v["size"] for v in losers] == [len("theirs, from b")]  # the loser is kept
    assert losers[0]["removed_by"]["machine"] == "laptop-a"


def upload_pair_with_a_run_to_undo(a: Machine, store: MemoryStore) -> str:
    """An upload-only FOLDER CONTAINER pair leaving build/ out; its last run replaced
    doc.txt in the container and deleted a blob only the container had."""
    put(a.folder, "doc.txt", "v1")
    put(a.folder, "build/out.o", "object")
    assert a.on("sync", "--mode", "upload", "--exclude", "build/")[0] == 0
    store.put_raw("elsewhere.txt", b"only in the container")
    put(a.folder, "doc.txt", "version two")
    assert a.on("sync", "--mode", "upload", "--exclude", "build/")[0] == 0
    assert "elsewhere.txt" not in store.synced_names()  # the container mirrors the folder
    run_id: str = a.json("history", "--kind", "uploads")["changes"][0]["run_id"]
    return run_id


def test_undo_of_a_folder_container_pair_syncs_with_its_mode_and_excludes(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, _b = machines
    run_id = upload_pair_with_a_run_to_undo(a, store)
    code, out, err = a.on("undo", run_id, "--mode", "upload", "--exclude", "build/", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert sorted(result["restored"]) == ["doc.txt", "elsewhere.txt"]
    assert result["sync"]["downloaded"] == 0  # an upload-only sync: nothing comes down
    # The folder is what an upload-only pair mirrors: what the undo put back in the
    # container is in the folder too, or the next sync would delete it again.
    assert a.files()["elsewhere.txt"] == "only in the container"
    assert store.content("elsewhere.txt") == b"only in the container"
    assert "build/out.o" not in store.synced_names()  # still left out
    code, _out, err = a.run("undo", "--pair", "x", run_id, "--mode", "upload")
    assert code == 2 and "No folder pair named x" in err


def test_undo_of_an_upload_only_run_stays_undone(
    machines: tuple[Machine, Machine], store: MemoryStore
) -> None:
    a, _b = machines
    run_id = upload_pair_with_a_run_to_undo(a, store)
    assert a.on("undo", run_id, "--mode", "upload", "--exclude", "build/")[0] == 0
    assert store.content("doc.txt") == b"v1" and a.files()["doc.txt"] == "v1"
    assert a.on("sync", "--mode", "upload", "--exclude", "build/")[0] == 0  # and it stays
    assert store.content("doc.txt") == b"v1" and a.files()["doc.txt"] == "v1"
