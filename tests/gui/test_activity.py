"""The Activity view, the tray's latest changes and the machine name in Settings, with
real engines on one in-memory container shared by two machines (this window's, and a
second one synced directly with its own history and name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from blobsync.core.app import engines
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.app.status import PairState
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.history import ChangeKind
from blobsync.core.remote.memory import MemoryStore
from blobsync.gui.main_window import MainWindow
from blobsync.gui.models.activity_model import ActivityModel, ActivityQuery
from blobsync.gui.tray import Tray
from blobsync.gui.views.activity_view import ActivityView

pytestmark = pytest.mark.gui

CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;"
    "AccountKey=a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5;EndpointSuffix=core.windows.net"
)
ACCOUNT = AccountConfig(
    "acct", "https://acct.blob.core.windows.net", "acct", SecretKind.CONNECTION_STRING
)
WAIT = 30_000  # ms: generous, the machine is shared


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, MemoryStore]:
    """One in-memory container per name, what every engine of this test opens."""
    made: dict[str, MemoryStore] = {}

    def open_store(_creds: object, container: str) -> MemoryStore:
        return made.setdefault(container, MemoryStore(container))

    monkeypatch.setattr(engines, "open_store", open_store)
    return made


class OtherMachine:
    """A second machine on the same container: its own folder, state, history, name."""

    def __init__(self, root: Path, store: MemoryStore, home: Path, name: str) -> None:
        root.mkdir(exist_ok=True)
        self.root = root
        self.engine = SyncEngine(
            root, store, home / "state.sqlite3", history_path=home / "history.sqlite3"
        )
        self.options = SyncOptions(hostname=name)

    def sync(self) -> None:
        self.engine.sync(self.options)


def _window(make_window, roots: list[Path], **kwargs: object) -> MainWindow:  # type: ignore[no-untyped-def]
    pairs = [PairConfig(str(root), "acct", root.name, name=root.name) for root in roots]
    config = AppConfig(accounts={"acct": ACCOUNT}, pairs=pairs, machine_name="laptop-1")
    kwargs.setdefault("save", lambda _c: None)
    return make_window(config, secret_loader=lambda _a: CONN, **kwargs)  # type: ignore[no-any-return]


def _sync(qtbot, window: MainWindow, root: Path) -> None:  # type: ignore[no-untyped-def]
    ctl = window.controller
    pair = next(p for p in ctl.pairs() if p.local_root == str(root))
    before = ctl.status(pair.pair_id).last_result
    assert ctl.sync_now(pair.pair_id)
    qtbot.waitUntil(
        lambda: (
            not ctl.status(pair.pair_id).syncing
            and ctl.status(pair.pair_id).last_result is not before
        ),
        timeout=WAIT,
    )
    assert ctl.status(pair.pair_id).failure is None


def _rows(view: ActivityView) -> list[tuple[str, str]]:
    model = view.model
    return [
        (
            model.data(model.index(r, ActivityModel.PATH)),
            model.data(model.index(r, ActivityModel.WHAT)),
        )
        for r in range(model.rowCount())
    ]


def _settled(qtbot, view: ActivityView) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not view.loading, timeout=WAIT)


def _shown(qtbot, view: ActivityView) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The rows once the view has read what its filters ask for."""
    _settled(qtbot, view)
    return _rows(view)


def _trigger(menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text().replace("&", "") == text)
    assert action.isEnabled(), text
    action.trigger()


def test_a_remote_deletion_says_where_and_undo_brings_it_back_on_both_sides(
    qtbot, make_window, stores, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    (root / "report.txt").write_text("draft 1")
    (root / "keep.txt").write_text("stays")  # an emptied folder would be a safety stop
    window = _window(make_window, [root])
    view = window.activity_view
    window.show_activity()
    assert window.tabs.currentWidget() is view
    _sync(qtbot, window, root)
    other = OtherMachine(tmp_path / "b", stores["docs"], tmp_path / "b-home", "laptop-2")
    other.sync()
    (other.root / "report.txt").unlink()
    other.sync()
    _sync(qtbot, window, root)
    assert not (root / "report.txt").exists()

    # After the finished sync the view reads again, newest first, with who did it.
    qtbot.waitUntil(lambda: ("report.txt", "Deleted here: deleted on laptop-2") in _rows(view),
                    timeout=WAIT)  # fmt: skip
    assert _rows(view)[0] == ("report.txt", "Deleted here: deleted on laptop-2")
    assert ("keep.txt", "Uploaded: changed on laptop-1") in _rows(view)
    model = view.model
    assert model.data(model.index(0, ActivityModel.PAIR)) == "docs"
    assert model.data(model.index(0, ActivityModel.SIZE)) == "7 B"

    assert view.select_path("report.txt")
    _trigger(view.context_menu(), "Undo this sync…")
    dialog = view.undo_dialog
    assert dialog is not None and dialog.isVisible()
    # The dry run first: what it would put back; nothing has changed yet.
    qtbot.waitUntil(lambda: dialog.undo_button.isEnabled(), timeout=WAIT)
    assert "1 file would be put back" in dialog.plan.text()
    qtbot.waitUntil(
        lambda: any("deleted on laptop-2" in dialog.changes.item(i).text()
                    for i in range(dialog.changes.count())),
        timeout=WAIT,
    )  # fmt: skip
    assert not (root / "report.txt").exists()
    dialog.undo_button.click()
    qtbot.waitUntil(lambda: (root / "report.txt").exists(), timeout=WAIT)
    assert (root / "report.txt").read_text() == "draft 1"
    # ... and in the container: the undo's own sync carries it there.
    qtbot.waitUntil(lambda: "report.txt" in stores["docs"].synced_names(), timeout=WAIT)
    qtbot.waitUntil(lambda: "1 file put back" in view.status.text(), timeout=WAIT)
    # The undo is in the history too: put back here, then carried to the container.
    qtbot.waitUntil(
        lambda: (
            _rows(view)[:2]
            == [
                ("report.txt", "Uploaded: changed on laptop-1"),
                ("report.txt", "Restored here: changed on laptop-1"),
            ]
        ),
        timeout=WAIT,
    )
    other.sync()  # the other machine gets it back on its next sync
    assert (other.root / "report.txt").read_text() == "draft 1"
    other.engine.close()


def test_the_filters_narrow_the_list_by_pair_kind_and_text(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    docs, photos = tmp_path / "docs", tmp_path / "photos"
    for root, names in ((docs, ["a.txt", "b.txt"]), (photos, ["p1.jpg", "p2.jpg", "p3.jpg"])):
        root.mkdir()
        for name in names:
            (root / name).write_text(name)
    window = _window(make_window, [docs, photos])
    view = window.activity_view
    _sync(qtbot, window, docs)
    _sync(qtbot, window, photos)
    (docs / "b.txt").unlink()
    _sync(qtbot, window, docs)
    qtbot.waitUntil(lambda: len(_rows(view)) == 6, timeout=WAIT)

    assert view.pair_combo.itemText(0) == "All pairs"
    view.pair_combo.setCurrentIndex(view.pair_combo.findText("photos"))
    assert {path for path, _what in _shown(qtbot, view)} == {"p1.jpg", "p2.jpg", "p3.jpg"}
    view.pair_combo.setCurrentIndex(0)
    view.kind_combo.setCurrentIndex(view.kind_combo.findText("Deletions"))
    assert _shown(qtbot, view) == [("b.txt", "Deleted in the container: changed on laptop-1")]
    view.kind_combo.setCurrentIndex(view.kind_combo.findText("Uploads"))
    assert len(_shown(qtbot, view)) == 5
    qtbot.keyClicks(view.filter_edit, "P2")  # case-insensitive, in the path
    assert _shown(qtbot, view) == [("p2.jpg", "Uploaded: changed on laptop-1")]
    view.filter_edit.setText("laptop-1")  # or the machine's name
    assert len(_shown(qtbot, view)) == 5
    view.filter_edit.setText("nothing-like-this")
    assert _shown(qtbot, view) == []
    assert view.summary.text() == "No change matches these filters."


def test_restore_a_previous_version_from_the_context_menu(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "notes"
    root.mkdir()
    (root / "n.txt").write_text("one")
    window = _window(make_window, [root])
    view = window.activity_view
    _sync(qtbot, window, root)
    (root / "n.txt").write_text("two, longer")
    _sync(qtbot, window, root)
    assert stores["notes"].content("n.txt") == b"two, longer"
    qtbot.waitUntil(lambda: len(_rows(view)) == 2, timeout=WAIT)
    assert view.select_path("n.txt")
    _trigger(view.context_menu(), "Restore previous version…")
    dialog = view.versions_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.list.count() >= 1, timeout=WAIT)
    assert dialog.list.item(0).text().startswith("1. 3 bytes, kept ")
    assert dialog.number == 1 and dialog.restore_button.isEnabled()
    dialog.restore_button.click()
    qtbot.waitUntil(lambda: (root / "n.txt").read_text() == "one", timeout=WAIT)
    # A restore is a change like any other: it syncs to the container at once.
    qtbot.waitUntil(lambda: stores["notes"].content("n.txt") == b"one", timeout=WAIT)
    qtbot.waitUntil(lambda: "Restored n.txt: 1 file put back" in view.status.text(),
                    timeout=WAIT)  # fmt: skip
    # What it replaced went to the bin: it is now a previous version itself.
    qtbot.waitUntil(lambda: any("Restored" in what for _p, what in _rows(view)), timeout=WAIT)
    reader = window.controller.history()
    kinds = {c.change.kind for c in ActivityQuery().read(reader)}
    assert kinds & {ChangeKind.RESTORED, ChangeKind.RESTORED_REMOTE}


def test_double_click_opens_the_file_or_the_folder_it_was_in(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "x.txt").write_text("x")
    (root / "y.txt").write_text("y")
    window = _window(make_window, [root])
    opened: list[str] = []
    window.url_opener = lambda url: opened.append(url.toLocalFile()) or True
    view = window.activity_view
    _sync(qtbot, window, root)
    qtbot.waitUntil(lambda: len(_rows(view)) == 2, timeout=WAIT)
    assert view.select_path("sub/x.txt")
    view.table.doubleClicked.emit(view.table.currentIndex())
    assert opened == [str(root / "sub" / "x.txt")]
    _trigger(view.context_menu(), "Show in folder")
    assert opened[-1] == str(root / "sub")
    (root / "sub" / "x.txt").unlink()
    (root / "sub").rmdir()
    assert view.select_path("sub/x.txt")
    assert view.open_selected()
    assert opened[-1] == str(root)  # the nearest folder still there
    assert "not in the folder now" in view.status.text()


def test_the_tray_lists_the_five_latest_changes(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(7):
        (root / f"f{i}.txt").write_text(str(i))
    window = _window(make_window, [root])
    tray = Tray(window.controller)
    opened: list[str] = []
    tray.url_opener = lambda url: opened.append(url.toLocalFile()) or True
    assert not any(a.text() == "Recent changes" for a in tray.menu.actions())
    _sync(qtbot, window, root)
    view = window.activity_view
    qtbot.waitUntil(lambda: len(tray.recent) == 5 and len(_rows(view)) == 7, timeout=WAIT)
    tray.rebuild_menu()
    texts = [a.text() for a in tray.menu.actions()]
    start = texts.index("Recent changes")
    entries = texts[start + 1 : start + 6]
    newest = [f"{Path(p).name} — {what}" for p, what in _rows(view)[:5]]
    assert entries == newest
    assert all(e.endswith(" — Uploaded: changed on laptop-1") for e in entries)
    assert texts[start + 6] == "All activity…"
    entry = next(a for a in tray.menu.actions() if a.text() == entries[0])
    entry.trigger()
    assert opened == [str(root / _rows(view)[0][0])]
    shown: list[bool] = []
    tray.show_activity_requested.connect(lambda: shown.append(True))
    next(a for a in tray.menu.actions() if a.text() == "All activity…").trigger()
    assert shown == [True]
    tray.deleteLater()


def test_the_machine_name_is_saved_and_used_by_the_next_run(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    from blobsync.gui.widgets.settings_dialog import SettingsDialog

    saved: list[tuple[str, int, bool]] = []
    seen: list[SyncOptions] = []
    build = fake_engines(files=0)

    def factory(pair, sink):  # type: ignore[no-untyped-def]
        engine = build(pair, sink)
        real = engine.sync

        def sync(options=None, cancel=None):  # type: ignore[no-untyped-def]
            seen.append(options)
            return real(options, cancel)

        engine.sync = sync
        return engine

    root = tmp_path / "docs"
    root.mkdir()
    window = _window(
        make_window,
        [root],
        engine_factory=factory,
        save=lambda c: saved.append((c.machine_name, c.bin_days, c.expired_to_system_trash)),
    )
    errors: list[str] = []

    def fill_in() -> None:
        dialog = window.settings_dialog
        assert isinstance(dialog, SettingsDialog)
        assert dialog.machine_edit.text() == "laptop-1"
        import socket

        assert dialog.machine_edit.placeholderText() == socket.gethostname()
        dialog.machine_edit.setText("bad\tname")
        dialog.accept()  # refused: the dialog stays, and says why
        errors.append(dialog.machine_error.text())
        assert dialog.isVisible() and not saved
        dialog.machine_edit.setText("  studio-7 ")
        dialog.bin_days_spin.setValue(45)
        dialog.bin_size_spin.setValue(3)
        dialog.system_trash_check.setChecked(True)
        dialog.accept()

    QTimer.singleShot(100, fill_in)
    assert window.edit_settings()
    assert errors and "at most 64 characters" in errors[0]
    assert saved and saved[-1] == ("studio-7", 45, True)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    options = seen[-1]
    assert options.hostname == "studio-7"
    assert (options.bin_days, options.bin_max_bytes) == (45.0, 3 << 30)
    assert options.expired_to_system_trash
    QApplication.processEvents()


def test_the_toolbar_and_ctrl_h_lead_to_the_activity_tab(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    window = _window(make_window, [])
    window.tabs.setCurrentWidget(window.progress_view)
    window.activity_action.trigger()
    assert window.tabs.currentWidget() is window.activity_view
    assert window.activity_action.shortcut().toString() == "Ctrl+H"
    view = window.activity_view
    _settled(qtbot, view)
    assert view.summary.text().startswith("No changes yet")


def test_undo_leaves_alone_an_item_changed_since_and_says_so(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    for name in ("a.txt", "b.txt", "keep.txt"):
        (root / name).write_text(f"{name} as it was")
    window = _window(make_window, [root])
    view = window.activity_view
    _sync(qtbot, window, root)
    other = OtherMachine(tmp_path / "b", stores["docs"], tmp_path / "b-home", "laptop-2")
    other.sync()
    (other.root / "a.txt").unlink()
    (other.root / "b.txt").unlink()
    other.sync()
    _sync(qtbot, window, root)
    (root / "b.txt").write_text("b.txt written again here")  # changed since that sync
    qtbot.waitUntil(lambda: ("a.txt", "Deleted here: deleted on laptop-2") in _rows(view),
                    timeout=WAIT)  # fmt: skip
    assert view.select_path("a.txt")
    dialog = view.undo_selected()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT)
    plan = dialog.plan.text()
    assert "1 file would be put back" in plan
    assert "Left alone: b.txt: Not restored: the file changed here since" in plan
    dialog.undo_button.click()
    qtbot.waitUntil(lambda: "1 file put back" in view.status.text(), timeout=WAIT)
    assert (root / "a.txt").read_text() == "a.txt as it was"
    assert (root / "b.txt").read_text() == "b.txt written again here"  # not overwritten
    assert "Left alone: b.txt" in view.status.text()
    other.engine.close()


def test_f5_reads_the_history_again(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    window = _window(make_window, [])
    view = window.activity_view
    _settled(qtbot, view)
    with qtbot.waitSignal(window.controller.history_changed, timeout=WAIT):
        window.menu_actions.refresh.trigger()
    assert view.loading
    _settled(qtbot, view)


def test_the_model_alone_words_each_column(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from blobsync.core.app.recovery import HistoryReader, PairChange, when_words
    from blobsync.core.engine.history import Change

    pair = PairConfig(str(tmp_path / "docs"), "acct", "docs")  # no name: the folder's
    change = Change(
        run_id="r1",
        pair="k",
        time=1_800_000_000.0,
        kind=ChangeKind.DOWNLOADED,
        rel_path="sub/x.txt",
        size=1536,
        writer=None,
    )
    model = ActivityModel()
    model.set_rows([PairChange(change, pair), PairChange(change, None)])
    cell = lambda r, c: model.data(model.index(r, c))  # noqa: E731
    assert model.columnCount() == 5 and model.rowCount() == 2
    assert cell(0, ActivityModel.WHEN) == when_words(change.time)  # a date: not today
    assert cell(0, ActivityModel.PAIR) == "docs"
    assert cell(1, ActivityModel.PAIR) == "(not a saved pair)"
    assert cell(0, ActivityModel.WHAT) == "Downloaded: changed by another app"
    assert (cell(0, ActivityModel.PATH), cell(0, ActivityModel.SIZE)) == ("sub/x.txt", "1.5 KiB")
    tip = model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert str(tmp_path / "docs" / "sub" / "x.txt") in tip
    assert model.data(model.index(0, 0), ActivityModel.RowRole).change is change
    # A query for a pair the reader does not know reads nothing at all.
    reader = HistoryReader(tmp_path / "missing.sqlite3", {"k": pair})
    assert ActivityQuery(pair_id="elsewhere").read(reader) == []
    assert ActivityQuery().read(reader) == []  # no history yet


def test_changes_another_process_records_appear_without_f5(qtbot, make_window, stores, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "shared"
    root.mkdir()
    (root / "a.txt").write_text("a")
    window = _window(make_window, [root])
    view = window.activity_view
    _sync(qtbot, window, root)
    qtbot.waitUntil(lambda: len(_rows(view)) == 1, timeout=WAIT)
    # e.g. `blobsync sync --pair shared` in a terminal: its own engine, the same history
    ctl = window.controller
    pair = ctl.pairs()[0]
    (root / "b.txt").write_text("b")
    engine = ctl.service.open_engine(pair)
    try:
        engine.sync(ctl.service.options(pair))
    finally:
        engine.close()
    ctl._refresh()  # the controller's 5-second check
    qtbot.waitUntil(lambda: ("b.txt", "Uploaded: changed on laptop-1") in _rows(view), timeout=WAIT)


def test_restore_and_undo_of_a_paused_pair_say_so_and_change_nothing(
    qtbot, make_window, stores, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "notes"
    root.mkdir()
    (root / "n.txt").write_text("one")
    window = _window(make_window, [root])
    ctl = window.controller
    view = window.activity_view
    _sync(qtbot, window, root)
    (root / "n.txt").write_text("two")
    _sync(qtbot, window, root)
    pair_id = ctl.pairs()[0].pair_id
    ctl.set_pair_paused(pair_id, True)
    assert ctl.recovery_problem(pair_id) == "notes is paused: resume it, then restore or undo."
    assert not ctl.restore(pair_id, "n.txt", 1)
    run_id = ctl.history().changes(limit=1)[0].change.run_id
    assert not ctl.undo(pair_id, run_id)
    assert (root / "n.txt").read_text() == "two" and stores["notes"].content("n.txt") == b"two"
    qtbot.waitUntil(lambda: len(_rows(view)) == 2, timeout=WAIT)
    assert view.select_path("n.txt")
    dialog = view.restore_selected()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.list.count() >= 1, timeout=WAIT)
    dialog.restore_button.click()
    assert "paused: resume it" in view.status.text()

    # Resumed: the restore runs, and the pair says Syncing meanwhile (never Up to date).
    ctl.set_pair_paused(pair_id, False)
    states: list[object] = []
    ctl.pair_updated.connect(lambda pid: states.append(ctl.pair_state(pid)))
    assert ctl.restore(pair_id, "n.txt", 1)
    assert ctl.pair_state(pair_id) is PairState.SYNCING
    qtbot.waitUntil(lambda: (root / "n.txt").read_text() == "one", timeout=WAIT)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).recovering, timeout=WAIT)
    assert PairState.SYNCING in states and ctl.pair_state(pair_id) is not PairState.SYNCING


def test_the_app_freezes_the_collector_once_after_its_first_sync(
    qtbot, make_window, stores, tmp_path, monkeypatch
):  # type: ignore[no-untyped-def]
    import gc

    from blobsync.gui import app as gui_app

    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("a")
    window = _window(make_window, [root])
    gui_app._freeze_after_first_sync(window.controller)
    assert frozen == []
    _sync(qtbot, window, root)
    _sync(qtbot, window, root)
    assert frozen == [1]  # once: after the first sync, not again
