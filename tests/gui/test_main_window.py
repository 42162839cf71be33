"""The main window and the controller with fast fake engines (plus one real pair added
through the dialogs against Azurite): threads, coalescing, issues, errors, persistence,
single instance, close-to-tray."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton, QToolButton

from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME
from blobsync.core.app.pause import PauseStore
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, load_config
from blobsync.core.app.status import PairState
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import Resolution
from blobsync.core.errors import AuthError, ConnectionFailure
from blobsync.core.models import Issue, IssueKind, SyncMode
from blobsync.gui.app import SingleInstance, demo_pair, demo_wanted, point_demo_account
from blobsync.gui.controller import Controller
from blobsync.gui.main_window import MainWindow

pytestmark = pytest.mark.gui

ACCOUNT = AccountConfig(
    "acc", "http://127.0.0.1:9/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY
)


def config_with(tmp_path, n_pairs: int = 1) -> AppConfig:  # type: ignore[no-untyped-def]
    pairs = [PairConfig(str(tmp_path / f"folder{i}"), "acc", f"c{i}") for i in range(n_pairs)]
    return AppConfig(accounts={"acc": ACCOUNT}, pairs=pairs)


def button(window: MainWindow, name: str) -> QPushButton | QToolButton:
    found = window.findChild(QPushButton, name) or window.findChild(QToolButton, name)
    assert found is not None, name
    return found


def test_engine_runs_off_the_gui_thread_and_progress_is_coalesced(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    factory = fake_engines(files=300, item_delay=0.003, progress_events_per_item=40)
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    snapshots: list[object] = []
    ctl.bridge(pair_id).progress.connect(snapshots.append)

    started = time.monotonic()
    qtbot.mouseClick(button(window, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=30000)
    elapsed = time.monotonic() - started

    engine = factory.made[0]
    assert engine.syncs == 1
    assert threading.get_ident() not in engine.threads  # never on the GUI thread
    # 300 files x 42 events = 12,600 engine events, but at most ~10 snapshots a second.
    assert 1 <= len(snapshots) <= elapsed * 10 + 3
    final = window.progress_view.last_snapshot
    assert final.files_done == final.files_total == 300
    assert final.uploaded == 300 and not final.running
    assert window.pairs_view.model.data(window.pairs_view.model.index(0, 5)).startswith("↑300")


def test_issues_show_up_and_resolving_runs_on_the_engine_thread_then_resyncs(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    issues = [
        Issue("a.txt", IssueKind.CONFLICT, "Both sides changed.", conflict_copy="a (conflict).txt"),
        Issue("b.txt", IssueKind.VANISHED, "It disappeared."),
    ]
    factory = fake_engines(files=0, issues=issues)
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    qtbot.waitUntil(lambda: len(ctl.status(pair_id).issues) == 2, timeout=20000)

    assert ctl.pair_state(pair_id) is PairState.ATTENTION
    state_text = window.pairs_view.model.data(window.pairs_view.model.index(0, 3))
    assert state_text == "Needs attention (2)"
    assert window.tabs.tabText(1) == "Issues (2)"
    assert window.issues_view.model.rowCount() == 2
    assert "Needs attention" in window.windowTitle()

    window.issues_view.resolve_requested.emit(pair_id, ["a.txt"], Resolution.KEEP_BOTH.value)
    engine = factory.made[0]
    qtbot.waitUntil(lambda: engine.syncs == 1 and not ctl.status(pair_id).syncing, timeout=20000)
    assert engine.resolved == [("a.txt", Resolution.KEEP_BOTH)]
    assert threading.get_ident() not in engine.threads
    assert [i.rel_path for i in ctl.status(pair_id).issues] == ["b.txt"]
    qtbot.waitUntil(lambda: window.issues_view.model.rowCount() == 1, timeout=20000)
    assert window.tabs.tabText(1) == "Issues (1)"


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (AuthError("The account key is wrong."), PairState.ERROR),
        (ConnectionFailure("The storage endpoint cannot be reached."), PairState.OFFLINE),
    ],
)
def test_a_failed_run_shows_its_state_and_sentence(qtbot, make_window, tmp_path, error, state):  # type: ignore[no-untyped-def]
    def factory(pair, sink):  # type: ignore[no-untyped-def]
        raise error

    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    notes: list[tuple[str, str, bool]] = []
    ctl.notify.connect(lambda *args: notes.append(args))
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(
        lambda: not ctl.status(pair_id).syncing and ctl.status(pair_id).failure is not None,
        timeout=20000,
    )
    assert ctl.pair_state(pair_id) is state
    tip = window.pairs_view.model.data(
        window.pairs_view.model.index(0, 3), Qt.ItemDataRole.ToolTipRole
    )
    assert error.message in tip
    assert notes and notes[0][1] == error.message and notes[0][2] is True
    assert ctl.overview().pending == 0 and (ctl.overview().errors or ctl.overview().offline)


def test_pair_added_through_the_dialogs_syncs_and_settings_survive_a_restart(
    qtbot, make_window, azurite_account, sdk, tmp_path
):  # type: ignore[no-untyped-def]
    container = "p" + uuid.uuid4().hex[:12]
    sdk.create_container(container)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello")
    window = make_window(AppConfig(accounts={azurite_account.name: azurite_account}))
    ctl = window.controller

    qtbot.mouseClick(button(window, "addPairButton"), Qt.MouseButton.LeftButton)
    dialog = window.pair_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.folder_edit.setText(str(folder))
    qtbot.waitUntil(lambda: container in dialog.picker.container_names(), timeout=20000)
    dialog.picker.set_selected(container)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData(SyncMode.UPLOAD.value))
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert len(ctl.pairs()) == 1
    pair = ctl.pairs()[0]
    assert (pair.container, pair.mode) == (container, SyncMode.UPLOAD)

    qtbot.mouseClick(button(window, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.status(pair.pair_id).last_result is not None, timeout=30000)
    blob = sdk.get_container_client(container).download_blob("hello.txt").readall()
    assert blob == b"hello"
    qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
    assert ctl.everything_paused()
    window.close()
    ctl.shutdown()

    # A new app start reads the saved settings (no secret in them).
    saved = load_config()
    assert [(p.local_root, p.container, p.mode) for p in saved.pairs] == [
        (str(folder), container, SyncMode.UPLOAD)
    ]
    assert PauseStore().everything_paused()  # the machine-wide pause, for the CLI too
    again = make_window(saved)
    assert again.pairs_view.model.rowCount() == 1
    assert again.pairs_view.model.data(again.pairs_view.model.index(0, 0)) == "docs"
    assert button(again, "pauseButton").text() == "Resume"
    qtbot.waitUntil(
        lambda: again.controller.status(pair.pair_id).last_sync is not None, timeout=20000
    )


def test_second_launch_brings_the_running_window_forward(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    window = make_window(AppConfig(), save=lambda _c: None)
    name = f"blobsync-test-{uuid.uuid4().hex[:8]}"
    first = SingleInstance(name)
    assert not first.notify_running(timeout_ms=200)  # nobody runs yet
    assert first.listen()
    window.hide()
    first.activated.connect(window.bring_to_front)
    try:
        second = SingleInstance(name)
        with qtbot.waitSignal(first.activated, timeout=3000):
            assert second.notify_running()
        qtbot.waitUntil(window.isVisible)
    finally:
        first.close()


def test_closing_hides_to_the_tray_or_quits_without_one(qtbot, make_window, fake_engines, tmp_path):  # type: ignore[no-untyped-def]
    factory = fake_engines(files=0)
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    window.keep_in_tray = True
    assert not window.close()  # the close event was ignored…
    assert not window.isVisible()  # …and the window hidden
    pair_id = window.controller.pairs()[0].pair_id
    assert window.controller.sync_now(pair_id)  # the engine still works
    qtbot.waitUntil(lambda: bool(factory.made) and factory.made[0].syncs == 1, timeout=20000)

    window.show()
    window.keep_in_tray = False
    assert window.close()


def test_demo_account_bootstrap_rules(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert demo_wanted(AppConfig())
    assert not demo_wanted(AppConfig(accounts={"acc": ACCOUNT}))
    config = AppConfig()
    point_demo_account(config, 10000)
    point_demo_account(config, 12345)  # re-pointed at the current port on every start
    assert demo_wanted(config)
    account = config.accounts[DEMO_ACCOUNT_NAME]
    assert account.account_url == "http://127.0.0.1:12345/devstoreaccount1"
    ctl = Controller(config, schedule=False, save=lambda _c: None)
    try:
        creds = ctl.credentials(DEMO_ACCOUNT_NAME)  # the published key, no keyring needed
        assert creds.account_url.endswith(":12345/devstoreaccount1") and creds.secret
    finally:
        ctl.shutdown()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_pair().local_root == str(tmp_path / "BlobSync")
    assert demo_pair().container == "blobsync-demo"


def test_version_flag_prints_and_exits_before_any_window() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "blobsync.gui", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "nonexistent-platform"},
    )
    # A QApplication with a missing platform plugin would abort: none was created.
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "blobsync 0.1.0"


def _stopping_factory(base, seen_options, stop):  # type: ignore[no-untyped-def]
    """Fake engines that raise ``stop`` unless the run restores or confirms enough."""

    def factory(pair, sink):  # type: ignore[no-untyped-def]
        engine = base(pair, sink)
        real_sync = engine.sync

        def sync(options=None, cancel=None):  # type: ignore[no-untyped-def]
            seen_options.append(options)
            confirmed = options.confirmed_deletes or 0
            if not options.restore_deleted and confirmed < stop.deletes:
                raise stop
            return real_sync(options, cancel)

        engine.sync = sync
        return engine

    return factory


def _stop(deletes: int = 30):  # type: ignore[no-untyped-def]
    from blobsync.core.errors import SafetyReason, SafetyStop

    paths = tuple(f"photos/img{i:03d}.jpg" for i in range(deletes))
    return SafetyStop(
        SafetyReason.FOLDER_EMPTIED,
        tracked=deletes,
        deletes=deletes,
        deletes_remote=deletes,
        nbytes=deletes * 2 * 1024 * 1024,
        paths=paths,
        local_root="/home/me/Photos",
        container="photos",
    )


def test_a_safety_stop_opens_a_deletion_review_and_restore_is_one_click(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    from blobsync.gui.widgets.deletion_review import DeletionReview

    seen: list[object] = []
    factory = _stopping_factory(fake_engines(files=2), seen, _stop())
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: window.banner_button.isVisible(), timeout=20000)
    assert window.banner_button.text() == "Review deletions…"
    assert "Sync anyway" not in window.banner_label.text()
    assert "--" not in window.banner_label.text()  # no CLI words in the app
    assert ctl.pair_state(pair_id) is PairState.REVIEW
    row = window.pairs_view.model.data(window.pairs_view.model.index(0, 3))
    assert row == "Stopped for safety: deletions to review"

    qtbot.mouseClick(window.banner_button, Qt.MouseButton.LeftButton)
    review = window.review_dialog
    assert isinstance(review, DeletionReview) and review.isVisible()
    assert "30 files (60.0 MiB) would be deleted in the container" in review.summary.text()
    assert "/home/me/Photos is empty" in review.headline.text()
    listed = [review.paths.item(i).text() for i in range(review.paths.count())]
    assert listed[0] == "photos/img000.jpg" and listed[-1] == "… and 18 more files"
    qtbot.mouseClick(review.show_all_button, Qt.MouseButton.LeftButton)
    assert review.paths.count() == 30
    assert review.restore_button.text() == "&Restore the files from the container"
    assert not review.delete_button.isEnabled()

    qtbot.mouseClick(review.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=20000)
    assert [o.restore_deleted for o in seen] == [False, True]
    assert not window.banner.isVisible()
    # The answer was for one run only.
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: len(seen) == 3 and not ctl.status(pair_id).syncing, timeout=20000)
    assert not seen[-1].restore_deleted and seen[-1].confirmed_deletes is None


def test_deleting_on_the_other_side_needs_the_number_typed(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    seen: list[object] = []
    factory = _stopping_factory(fake_engines(files=2), seen, _stop(12))
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.REVIEW, timeout=20000)
    window.review_deletions(pair_id)
    review = window.review_dialog
    assert review.delete_button.text() == "&Delete 12 files in the container"
    for wrong in ("", "1", "120", "all"):
        review.confirm_edit.setText(wrong)
        assert not review.delete_button.isEnabled()
    qtbot.mouseClick(review.delete_button, Qt.MouseButton.LeftButton)  # disabled: nothing
    assert review.isVisible() and len(seen) == 1
    review.confirm_edit.setText("12")
    assert review.delete_button.isEnabled() and review.delete_button.isDefault()
    qtbot.mouseClick(review.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(seen) == 2 and not ctl.status(pair_id).syncing, timeout=20000)
    assert seen[-1].confirmed_deletes == 12 and not seen[-1].restore_deleted
    assert ctl.pair_state(pair_id) is not PairState.REVIEW


def test_leave_it_paused_pauses_the_pair(qtbot, make_window, fake_engines, tmp_path):  # type: ignore[no-untyped-def]
    seen: list[object] = []
    factory = _stopping_factory(fake_engines(files=2), seen, _stop(3))
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.REVIEW, timeout=20000)
    window.review_deletions(pair_id)
    qtbot.mouseClick(window.review_dialog.pause_button, Qt.MouseButton.LeftButton)
    assert ctl.is_paused(pair_id) and len(seen) == 1
    assert not ctl.sync_now(pair_id)


def test_removing_a_syncing_pair_does_not_block_and_closes_its_engine(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    factory = fake_engines(files=200, item_delay=0.05)
    window = make_window(config_with(tmp_path, 2), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    first, second = (p.pair_id for p in ctl.pairs())
    assert ctl.sync_now(first)
    qtbot.waitUntil(lambda: (ctl.status(first).progress or None) is not None, timeout=20000)
    qtbot.waitUntil(lambda: ctl.status(first).progress.files_done >= 2, timeout=20000)
    engine = next(e for e in factory.made if e.syncs)

    started = time.monotonic()
    ctl.remove_pair(first)
    assert time.monotonic() - started < 0.5  # the GUI did not wait for the engine
    assert [p.pair_id for p in ctl.pairs()] == [second]
    assert window.pairs_view.model.rowCount() == 1
    qtbot.waitUntil(lambda: engine.closed, timeout=20000)
    qtbot.waitUntil(lambda: not ctl._retired, timeout=20000)


def test_new_conflicts_are_announced_once_but_known_ones_are_not(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    old = Issue("old.txt", IssueKind.CONFLICT, "Both sides changed.")
    factory = fake_engines(files=0, issues=[old])
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    notes: list[tuple[str, str, bool]] = []
    ctl.notify.connect(lambda *args: notes.append(args))
    qtbot.waitUntil(lambda: len(ctl.status(pair_id).issues) == 1, timeout=20000)
    assert notes == []  # already known at start: no notification

    engine = factory.made[0]
    engine.issues = [old, Issue("new.txt", IssueKind.CONFLICT, "Both sides changed.")]
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: len(ctl.status(pair_id).issues) == 2, timeout=20000)
    assert notes == [("New conflict", "new.txt needs your decision.", False)]
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: engine.syncs == 2 and not ctl.status(pair_id).syncing, timeout=20000)
    assert len(notes) == 1  # the same conflict is not announced again


def test_add_folder_with_no_account_walks_through_both_dialogs(
    qtbot, make_window, azurite, gui_keyring, tmp_path
):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLineEdit

    from blobsync.gui.widgets.account_dialog import AccountKind

    container = "w" + uuid.uuid4().hex[:12]
    window = make_window(AppConfig())
    ctl = window.controller
    qtbot.mouseClick(button(window, "addPairButton"), Qt.MouseButton.LeftButton)
    accounts = window.account_dialog
    assert accounts is not None and accounts.isVisible()
    accounts.set_kind(AccountKind.CONNECTION_STRING)
    accounts.findChild(QLineEdit, "nameEdit").setText("work")
    accounts.findChild(QLineEdit, "secretEdit").setText(azurite.connection_string)
    qtbot.mouseClick(
        accounts.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert "work" in ctl.config.accounts
    assert "work" in load_config().accounts  # saved at once, the secret in the keyring
    assert gui_keyring.items[("blobsync", "work")] == azurite.connection_string

    pairs = window.pair_dialog  # opened right after the account was added
    assert pairs is not None and pairs.isVisible()
    pairs.folder_edit.setText(str(tmp_path / "new-folder"))
    qtbot.waitUntil(
        lambda: (
            pairs.picker.selected_container() is not None or pairs.picker.new_button.isEnabled()
        ),
        timeout=20000,
    )
    new = pairs.picker.open_new_container_dialog()
    assert new is not None
    new.findChild(QLineEdit, "newContainerEdit").setText(container)
    new.accept()
    qtbot.waitUntil(lambda: pairs.picker.selected_container() == container, timeout=20000)
    qtbot.mouseClick(
        pairs.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert [(p.account, p.container) for p in ctl.pairs()] == [("work", container)]
    assert (tmp_path / "new-folder").is_dir()


def test_an_account_added_inside_the_pair_dialog_is_saved_and_usable_at_once(
    qtbot, make_window, azurite, gui_keyring, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    """Regression: "Add account…" inside the pair dialog used to put the account in the
    in-memory config only; it reached settings.json only if some later change saved."""
    from PySide6.QtWidgets import QLineEdit

    from blobsync.core.remote.azure import create_container
    from blobsync.gui.widgets.account_dialog import AccountKind

    create_container(azurite.credentials, container_name)
    first = AccountConfig(
        "first", "https://first.blob.core.windows.net", "first", SecretKind.ACCOUNT_KEY
    )
    window = make_window(AppConfig(accounts={"first": first}))
    ctl = window.controller
    qtbot.mouseClick(button(window, "addPairButton"), Qt.MouseButton.LeftButton)
    pairs = window.pair_dialog
    assert pairs is not None and pairs.isVisible()
    accounts = pairs.open_account_dialog()
    accounts.set_kind(AccountKind.CONNECTION_STRING)
    accounts.findChild(QLineEdit, "nameEdit").setText("second")
    accounts.findChild(QLineEdit, "secretEdit").setText(azurite.connection_string)
    qtbot.mouseClick(
        accounts.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert "second" in load_config().accounts  # saved at once, like any other account
    assert gui_keyring.items[("blobsync", "second")] == azurite.connection_string
    assert "second" in ctl.config.accounts
    assert pairs.selected_account() == "second"
    # ...and usable at once: the picker lists that account's containers.
    qtbot.waitUntil(lambda: container_name in pairs.picker.container_names(), timeout=20000)


def test_the_row_counts_every_file_of_a_big_sync_and_explains_its_counters(
    qtbot, make_window, fake_engines, tmp_path
):  # type: ignore[no-untyped-def]
    factory = fake_engines(files=2001, item_delay=0.001)
    window = make_window(config_with(tmp_path), engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    model = window.pairs_view.model
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(
        lambda: (
            (ctl.status(pair_id).progress or None) is not None
            and ctl.status(pair_id).progress.files_done > 0
        ),
        timeout=20000,
    )
    row = model.data(model.index(0, 5))
    assert "of 2,001 files" in row and row.startswith(tuple("0123456789"))
    assert "% of " in row  # the percent says what it is a percent of
    bar = window.progress_view.bar.format()
    assert bar.startswith("%p% of the data — ") and bar.endswith("of 2,001 files")
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=60000)
    assert model.data(model.index(0, 5)).startswith("↑2,001 ↓0 ✕0")
    tip = model.data(model.index(0, 5), Qt.ItemDataRole.ToolTipRole)
    assert "↑ 2,001 files uploaded" in tip and "✕ 0 files deleted" in tip
