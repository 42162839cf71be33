"""The conflict center: both versions side by side (with the machines that changed them),
a diff for text, a sentence for binary, bulk resolution with a confirmation, and no
conflict at all when both sides made the same change.

Real engines on one MemoryStore: machine A is the app (a MainWindow whose engine
factory opens the pair's real state database, so the controller's offline
``conflict_sides`` reads what the sync wrote), machine B a second engine with its own
name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from folders import tree, write
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QLabel

from blobsync.core.app.pairs import state_path
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import Resolution, SyncEngine, SyncOptions
from blobsync.core.engine.recovery import VersionSource
from blobsync.core.models import IssueKind
from blobsync.core.names import is_reserved
from blobsync.core.remote.memory import MemoryStore
from blobsync.gui.main_window import MainWindow
from blobsync.gui.views.issues_view import IssuesView, confirm_words
from blobsync.gui.widgets.conflict_center import ConflictCenter
from blobsync.gui.widgets.conflict_diff import DiffKind, compare_files, sniff_text

pytestmark = [pytest.mark.gui]

ACCOUNT = AccountConfig("acc", "http://127.0.0.1:9/x", "x", SecretKind.ACCOUNT_KEY)
B_OPTIONS = SyncOptions(hostname="desk-b", installation_id="b" * 32)


def blobs(store: MemoryStore) -> dict[str, bytes]:
    return {n: store.content(n) for n in store.names() if not is_reserved(n)}


class TwoMachines:
    """The app on machine A (laptop-a) and a plain engine on machine B (desk-b)."""

    def __init__(self, qtbot, make_window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        self.qtbot = qtbot
        self.store = MemoryStore("docs")
        self.a = tmp_path / "laptop"
        self.b = tmp_path / "desk"
        self.a.mkdir()
        self.b.mkdir()
        self.pair = PairConfig(str(self.a), ACCOUNT.name, "docs")
        config = AppConfig(
            accounts={ACCOUNT.name: ACCOUNT}, pairs=[self.pair], machine_name="laptop-a"
        )
        self.window: MainWindow = make_window(
            config, engine_factory=lambda pair, sink: self.engine_a(sink), save=lambda _c: None
        )
        self.ctl = self.window.controller
        view = self.window.issues_view
        assert isinstance(view, IssuesView)
        self.view = view
        self.opened: list[str] = []
        view.url_opener = lambda url: self.opened.append(url.toLocalFile()) or True
        self.asked: list[tuple[str, str]] = []
        self.answer = True
        view.confirm = lambda title, text: self.asked.append((title, text)) or self.answer
        self.engine_b = SyncEngine(
            self.b,
            self.store,
            tmp_path / "b-state.sqlite3",
            history_path=tmp_path / "b-history.sqlite3",
            versions_dir=tmp_path / "b-versions",
        )

    def state_path(self) -> Path:
        return state_path(self.a, ACCOUNT.account_url, ACCOUNT.account_name, "docs")

    def engine_a(self, sink=None) -> SyncEngine:  # type: ignore[no-untyped-def]
        """Machine A's engine on the pair's own state database (as the app opens it)."""
        if sink is None:
            return SyncEngine(self.a, self.store, self.state_path())
        return SyncEngine(self.a, self.store, self.state_path(), sink)

    def sync_a(self) -> None:
        pair_id = self.pair.pair_id
        before = self.ctl.status(pair_id).last_result
        assert self.ctl.sync_now(pair_id)
        self.qtbot.waitUntil(
            lambda: (
                not self.ctl.status(pair_id).syncing
                and self.ctl.status(pair_id).last_result is not before
            ),
            timeout=30000,
        )

    def sync_b(self) -> None:
        self.engine_b.sync(B_OPTIONS)

    def conflicts(self, files: dict[str, tuple[bytes, bytes, bytes]]) -> None:
        """Each file: (base, mine on A, theirs on B); both sides change it."""
        for rel, (base, _mine, _theirs) in files.items():
            write(self.a, rel, base)
        self.sync_a()
        self.sync_b()
        for rel, (_base, mine, theirs) in files.items():
            write(self.a, rel, mine)
            write(self.b, rel, theirs)
        self.sync_b()
        self.sync_a()
        self.qtbot.waitUntil(lambda: self.view.model.rowCount() == len(files), timeout=20000)

    def close(self) -> None:
        self.engine_b.close()


@pytest.fixture
def machines(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    both = TwoMachines(qtbot, make_window, tmp_path)
    yield both
    both.close()


def label(dialog: ConflictCenter, name: str) -> str:
    found = dialog.findChild(QLabel, name)
    assert found is not None, name
    return found.text()


# ---- side by side, diff, open both ------------------------------------------------------


def test_both_versions_side_by_side_with_the_machines_and_a_diff(machines: TwoMachines) -> None:
    base = b"Shopping list\nmilk\nbread\neggs\n"
    machines.conflicts(
        {"lists/shopping.txt": (base, base.replace(b"bread", b"rye bread"), base + b"apples\n")}
    )
    view = machines.view
    view.select_rel_paths(["lists/shopping.txt"])
    [row] = view.selected_rows()
    assert row.issue.kind is IssueKind.CONFLICT and row.issue.conflict_copy
    assert view.compare_button.isEnabled()
    machines.qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    dialog = view.conflict_center
    assert isinstance(dialog, ConflictCenter) and dialog.isVisible()

    assert label(dialog, "mineMachine") == "Changed on laptop-a (this computer)"
    assert label(dialog, "theirsMachine") == "Changed on desk-b"
    assert label(dialog, "mineName") == row.issue.conflict_copy
    assert label(dialog, "theirsName") == "lists/shopping.txt"
    mine_bytes = (machines.a / row.issue.conflict_copy).read_bytes()
    assert label(dialog, "mineSize") == f"{len(mine_bytes)} bytes"
    theirs_size = len(base) + len(b"apples\n")
    assert label(dialog, "theirsSize") == f"{theirs_size} bytes"
    assert label(dialog, "theirsSynced").startswith("downloaded")
    assert label(dialog, "mineSynced").startswith("uploaded as the conflict copy")
    assert "(the newer one)" in label(dialog, "theirsModified") + label(dialog, "mineModified")

    # the diff: yours first, so your changed line is '-' and theirs '+'
    assert dialog.comparison.kind is DiffKind.TEXT
    text = dialog.diff_view.toPlainText().splitlines()
    assert "+bread" in text and "-rye bread" in text and "+apples" in text
    assert dialog.diff_view.isVisible() and dialog.diff_view.isReadOnly()
    assert "only in yours" in dialog.diff_note.text()

    # Open both: theirs at its name, yours at the conflict copy
    machines.qtbot.mouseClick(dialog.open_both_button, Qt.MouseButton.LeftButton)
    assert sorted(machines.opened) == sorted(
        [str(machines.a / row.issue.conflict_copy), str(machines.a / "lists" / "shopping.txt")]
    )

    # Keep both from the dialog: no question asked, the conflict is settled
    machines.qtbot.mouseClick(dialog.keep_both_button, Qt.MouseButton.LeftButton)
    machines.qtbot.waitUntil(
        lambda: (
            view.model.rowCount() == 0 and not machines.ctl.status(machines.pair.pair_id).syncing
        ),
        timeout=30000,
    )
    assert machines.asked == [] and view.conflict_center is None
    assert set(tree(machines.a)) == {"lists/shopping.txt", row.issue.conflict_copy}


def test_a_binary_conflict_says_there_is_no_diff(machines: TwoMachines) -> None:
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    machines.conflicts({"photo.png": (png + b"1", png + b"mine", png + b"theirs")})
    machines.view.select_rel_paths(["photo.png"])
    [row] = machines.view.selected_rows()
    dialog = machines.view.open_conflict_center(row)
    assert dialog.comparison.kind is DiffKind.BINARY
    assert dialog.diff_note.text().startswith("Not a text file")
    assert not dialog.diff_view.isVisible()
    assert label(dialog, "theirsMachine") == "Changed on desk-b"

    # Take theirs from the dialog asks first; No leaves everything as it was
    machines.answer = False
    dialog.take_theirs_button.click()
    assert len(machines.asked) == 1 and "recycle bin" in machines.asked[0][1]
    assert dialog.isVisible() and machines.view.model.rowCount() == 1


def test_double_click_opens_the_center_only_for_a_kept_both_conflict(
    machines: TwoMachines,
) -> None:
    machines.conflicts({"a.txt": (b"a\n", b"a mine\n", b"a theirs\n")})
    view = machines.view
    view.select_rel_paths(["a.txt"])
    index = view.model.index(0, 0)
    view.table.doubleClicked.emit(index)
    assert isinstance(view.conflict_center, ConflictCenter)
    assert view.conflict_center.issue.rel_path == "a.txt"
    assert machines.opened == []  # not the folder


# ---- bulk resolution -----------------------------------------------------------------


def test_take_theirs_for_three_conflicts_at_once_puts_yours_in_the_bin(
    machines: TwoMachines,
) -> None:
    files = {
        f"docs/file-{i}.txt": (f"base {i}\n".encode(), f"mine {i}\n".encode(), f"theirs {i}\n".encode())
        for i in range(3)
    }  # fmt: skip
    machines.conflicts(files)
    view = machines.view
    copies = {r.issue.rel_path: r.issue.conflict_copy for r in view.model.rows()}
    assert all(copies.values())
    view.select_rel_paths(list(files))
    assert "applies to all of them" in view.detail.text()
    assert view.take_theirs_button.isEnabled() and not view.compare_button.isEnabled()
    machines.qtbot.mouseClick(view.take_theirs_button, Qt.MouseButton.LeftButton)

    [(title, text)] = machines.asked
    assert title == "Take their version?"
    assert "3 conflicts" in text and "other version goes to the recycle bin" in text
    assert all(rel in text for rel in files)

    theirs = {rel: t for rel, (_b, _m, t) in files.items()}
    machines.qtbot.waitUntil(
        lambda: (
            view.model.rowCount() == 0
            and not machines.ctl.status(machines.pair.pair_id).syncing
            and tree(machines.a) == theirs
            and blobs(machines.store) == theirs
        ),
        timeout=30000,
    )
    assert "Nothing needs your attention" in view.summary.text()
    engine = machines.engine_a()
    try:
        for rel, (_base, mine, _theirs) in files.items():
            kept = engine.versions(copies[rel])  # yours, in the recycle bins
            assert any(v.source is VersionSource.LOCAL_BIN for v in kept), rel
            local = next(v for v in kept if v.source is VersionSource.LOCAL_BIN)
            assert local.size == len(mine)
    finally:
        engine.close()


def test_keep_mine_is_asked_first_and_no_means_nothing_happens(machines: TwoMachines) -> None:
    machines.conflicts({f"n{i}.txt": (b"b\n", b"m\n", b"t\n") for i in range(7)})
    view = machines.view
    seen: list[tuple[str, list[str], str]] = []
    view.resolve_requested.connect(lambda pid, paths, res: seen.append((pid, paths, res)))
    view.table.selectAll()
    machines.answer = False
    view.keep_mine_button.click()
    [(title, text)] = machines.asked
    assert title == "Keep your version?" and "7 conflicts" in text
    assert "… and 2 more" in text  # the first five are named
    assert seen == []
    machines.answer = True
    view.keep_mine_button.click()
    assert seen == [(machines.pair.pair_id, [f"n{i}.txt" for i in range(7)], "keep_mine")]


def test_confirm_words() -> None:
    title, text = confirm_words(Resolution.KEEP_MINE, ["a.txt"])
    assert title == "Keep your version?"
    assert text.startswith("Keep your version? The other version goes to the recycle bin")
    assert text.endswith("  a.txt")


# ---- equal content: no conflict ----------------------------------------------------------


def test_the_same_change_on_both_sides_is_no_conflict(machines: TwoMachines) -> None:
    write(machines.a, "same.txt", b"base\n")
    machines.sync_a()
    machines.sync_b()
    write(machines.a, "same.txt", b"the same edit on both machines\n")
    write(machines.b, "same.txt", b"the same edit on both machines\n")
    machines.sync_b()
    machines.sync_a()
    result = machines.ctl.status(machines.pair.pair_id).last_result
    assert result is not None and result.conflicts == 0 and not result.issues
    assert machines.view.model.rowCount() == 0
    assert machines.view.model.conflict_count() == 0
    assert tree(machines.a) == {"same.txt": b"the same edit on both machines\n"}
    assert "Nothing needs your attention" in machines.view.summary.text()


# ---- the diff on its own -------------------------------------------------------------------


def test_sniff_and_compare(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.write_text("one\ntwo\n", encoding="utf-8")
    theirs.write_text("one\nthree\n", encoding="utf-8")
    assert sniff_text(mine) == "one\ntwo\n"
    found = compare_files(mine, theirs)
    assert found.kind is DiffKind.TEXT and "-two" in found.lines and "+three" in found.lines
    assert found.sentence == "1 line only in yours (−), 1 line only in theirs (+)."

    theirs.write_bytes(b"one\r\ntwo")  # only line endings and the final newline differ
    assert compare_files(mine, theirs).kind is DiffKind.SAME_LINES

    theirs.write_bytes("caf\xe9\n".encode("latin-1"))  # not UTF-8
    assert sniff_text(theirs) is None
    assert compare_files(mine, theirs).kind is DiffKind.BINARY
    theirs.write_bytes(b"text\0with a NUL\n")
    assert compare_files(mine, theirs).kind is DiffKind.BINARY

    theirs.write_bytes(b"x\n" * 600)
    too_big = compare_files(mine, theirs, limit=1000)
    assert too_big.kind is DiffKind.TOO_BIG and "(over 1,000 bytes)" in too_big.sentence
    assert "(over 1 KiB)" in compare_files(mine, theirs, limit=1024).sentence
    long = compare_files(mine, theirs, max_lines=50)
    assert long.kind is DiffKind.TEXT and len(long.lines) == 50 and long.truncated > 0
    assert "The first 50 lines" in long.sentence

    assert compare_files(tmp_path / "gone", theirs).kind is DiffKind.MISSING


def test_open_both_says_so_when_no_app_opens_them(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.models import Issue

    write(tmp_path, "a.txt", b"theirs\n")
    write(tmp_path, "a (conflict).txt", b"mine\n")
    issue = Issue("a.txt", IssueKind.CONFLICT, "both changed", conflict_copy="a (conflict).txt")
    urls: list[QUrl] = []
    dialog = ConflictCenter(
        issue, str(tmp_path), None, problem="gone", url_opener=lambda u: urls.append(u) and False
    )
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.open_both()
    assert len(urls) == 2 and "could be opened" in dialog.status.text()
    assert "gone" in dialog.headline.text()
    assert dialog.comparison.kind is DiffKind.TEXT  # the two files are still compared
    assert label(dialog, "mineMissing") == "Not known (see above)."


def test_a_conflict_settled_meanwhile_leaves_nothing_to_choose(machines: TwoMachines) -> None:
    machines.conflicts({"s.txt": (b"s\n", b"s mine\n", b"s theirs\n")})
    view = machines.view
    view.select_rel_paths(["s.txt"])
    dialog = view.open_conflict_center(view.selected_rows()[0])
    seen: list[object] = []
    view.resolve_requested.connect(lambda *args: seen.append(args))
    view.set_issues(machines.pair.pair_id, [])  # e.g. settled from another window
    assert not dialog.keep_mine_button.isEnabled() and not dialog.take_theirs_button.isEnabled()
    assert "settled meanwhile" in dialog.status.text()
    dialog.chosen.emit(Resolution.KEEP_MINE)  # a click that raced the refresh
    assert seen == [] and machines.asked == []
