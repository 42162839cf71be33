"""The menu bar and the keyboard: shortcuts that act, Help → Open log folder, Report a
problem (a redacted text on the clipboard), About; saying so when no file manager can
open a folder, and when Sync now cannot run because the pair is paused."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from blobsync.core import __version__
from blobsync.core.app import logs
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import SecretKind
from blobsync.core.models import Issue, IssueKind
from blobsync.gui import menus

pytestmark = pytest.mark.gui

ACCOUNT = AccountConfig(
    "acc", "https://acct.blob.core.windows.net/?sv=1&sig=SECRETSIG123", "acct", SecretKind.SAS
)


def _config(tmp_path) -> AppConfig:  # type: ignore[no-untyped-def]
    (tmp_path / "docs").mkdir()
    pair = PairConfig(str(tmp_path / "docs"), "acc", "docs", name="docs")
    return AppConfig(accounts={"acc": ACCOUNT}, pairs=[pair])


def test_menus_and_shortcuts(qtbot, make_window, fake_engines, tmp_path):  # type: ignore[no-untyped-def]
    factory = fake_engines(files=3)
    window = make_window(_config(tmp_path), engine_factory=factory, save=lambda _c: None)
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Sync", "&Help"]
    acts = window.menu_actions
    shortcuts = {
        acts.sync_now.shortcut(): "Ctrl+S",
        acts.pause.shortcut(): "Ctrl+P",
        acts.refresh.shortcut(): "F5",
        acts.settings.shortcut(): "Ctrl+,",
        acts.quit.shortcut(): "Ctrl+Q",
    }
    for sequence, text in shortcuts.items():
        assert sequence == QKeySequence(text), text
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window.pairs_view.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=20000)
    assert factory.made[0].syncs == 1
    qtbot.keyClick(window.pairs_view.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert ctl.everything_paused() and acts.pause.text() == "&Resume everything"
    # Sync now while paused says so and offers to resume.
    qtbot.keyClick(window.pairs_view.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert window.banner.isVisible() and "paused" in window.banner_label.text()
    assert window.banner_button.text() == "Resume and sync"
    qtbot.mouseClick(window.banner_button, Qt.MouseButton.LeftButton)
    assert not ctl.everything_paused()
    qtbot.waitUntil(lambda: factory.made[0].syncs == 2, timeout=20000)


def test_open_log_folder_and_no_file_manager(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    window = make_window(AppConfig(), save=lambda _c: None)
    opened: list[QUrl] = []
    window.url_opener = lambda url: bool(opened.append(url)) or True
    window.menu_actions.open_log.trigger()
    assert opened == [QUrl.fromLocalFile(str(logs.log_dir()))]
    assert not window.banner.isVisible()
    window.url_opener = lambda url: False  # a desktop without a file manager
    window.menu_actions.open_log.trigger()
    assert "No file manager could open the log folder" in window.banner_label.text()
    assert str(logs.log_dir()) in window.banner_label.text()


def test_report_a_problem_copies_a_redacted_text(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    path = logs.setup_logging(path=logs.log_file())
    try:
        logs.register_secret("SECRETSIG123")
        logging.getLogger("blobsync.test").warning("a failure with sig=SECRETSIG123 in it")
        for handler in logging.getLogger().handlers:
            handler.flush()
        window = make_window(_config(tmp_path), save=lambda _c: None)
        window.menu_actions.report.trigger()
        text = QApplication.clipboard().text()
    finally:
        logs.clear_registered_secrets()
        logs.shutdown_logging()
    assert f"BlobSync {__version__}" in text and "docs:" in text and "acc:" in text
    assert "a failure with" in text and str(path) in text
    assert "SECRETSIG123" not in text
    assert "copied to the clipboard" in window.banner_label.text()


def test_about_names_the_version_and_licences(qtbot, make_window):  # type: ignore[no-untyped-def]
    window = make_window(AppConfig(), save=lambda _c: None)
    box = menus.show_about(window)
    assert __version__ in box.text() and "MIT" in box.informativeText()
    assert "LGPL" in box.informativeText()
    box.close()


def test_show_in_folder_without_a_file_manager_says_so(qtbot, make_window, fake_engines, tmp_path):  # type: ignore[no-untyped-def]
    issues = [Issue("sub/x.txt", IssueKind.VANISHED, "It went.")]
    window = make_window(
        _config(tmp_path), engine_factory=fake_engines(files=0, issues=issues), save=lambda _c: None
    )
    view = window.issues_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=20000)
    view.url_opener = lambda url: False
    view.select_rel_paths(["sub/x.txt"])
    qtbot.mouseClick(view.show_in_folder_button, Qt.MouseButton.LeftButton)
    assert "No file manager could open the folder" in view.detail.text()


def test_context_menus_on_pairs_and_issues(qtbot, make_window, fake_engines, tmp_path):  # type: ignore[no-untyped-def]
    issues = [Issue("x.txt", IssueKind.VANISHED, "It went.")]
    factory = fake_engines(files=0, issues=issues)
    window = make_window(_config(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    qtbot.waitUntil(lambda: window.issues_view.model.rowCount() == 1, timeout=20000)
    menu = window.pairs_view.context_menu(pair_id)
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Sync &now", "Pre&view", "Pa&use", "&Open folder", "Ed&it…", "&Remove…"]
    next(a for a in menu.actions() if a.text() == "Pa&use").trigger()
    assert ctl.is_paused(pair_id)
    menu = window.pairs_view.context_menu(pair_id)
    assert not next(a for a in menu.actions() if a.text() == "Sync &now").isEnabled()
    assert any(a.text() == "Res&ume" for a in menu.actions())

    view = window.issues_view
    view.select_rel_paths(["x.txt"])
    actions = {a.text(): a for a in view.context_menu().actions()}
    assert actions["Re&try"].isEnabled() and not actions["Keep &mine"].isEnabled()
    asked: list[str] = []
    view.resolve_requested.connect(lambda pid, paths, res: asked.append(res))
    actions["I&gnore"].trigger()
    assert asked == ["ignore"]
