"""A synced folder moved away while the app runs: noticed at once, the pair says
"Folder missing" with Locate… and Remove pair, nothing syncs meanwhile, and Locate…
follows the folder to its new place with the pair's state (last sync, snapshot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from blobsync.core.app.pairs import state_path
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.app.status import PairState
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import SyncEngine
from blobsync.core.remote.memory import MemoryStore

pytestmark = pytest.mark.gui

ACCOUNT = AccountConfig(
    "acc", "http://127.0.0.1:9/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY
)


def _window(make_window, root: Path):  # type: ignore[no-untyped-def]
    store = MemoryStore("docs")
    engines: list[SyncEngine] = []

    def factory(pair: PairConfig, sink):  # type: ignore[no-untyped-def]
        path = state_path(pair.local_root, ACCOUNT.account_url, ACCOUNT.account_name, "docs")
        engine = SyncEngine(pair.local_root, store, path, sink)
        engines.append(engine)
        return engine

    config = AppConfig(accounts={"acc": ACCOUNT}, pairs=[PairConfig(str(root), "acc", "docs")])
    window = make_window(config, engine_factory=factory, save=lambda _c: None, schedule=True)
    return window, store, engines


def test_a_moved_folder_is_missing_at_once_and_locate_follows_it(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(4):
        (root / f"f{i}.txt").write_text(f"file {i}")
    window, store, _engines = _window(make_window, root)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
    synced_at = ctl.status(pair_id).last_completed
    assert len(store.synced_names()) == 4

    moved = tmp_path / "archive" / "docs"
    moved.parent.mkdir()
    root.rename(moved)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.MISSING, timeout=3000)
    model = window.pairs_view.model
    assert model.data(model.index(0, 3)) == "Folder missing"
    assert window.banner.isVisible() and "is not there" in window.banner_label.text()
    assert (window.banner_button.text(), window.banner_button2.text()) == (
        "Locate…",
        "Remove pair",
    )
    assert "The folder of docs is missing" in window.issues_view.notice.text()
    assert "Nothing needs your attention" not in window.issues_view.summary.text()
    assert ctl.overview().state() is PairState.MISSING
    assert not ctl.sync_now(pair_id)  # no sync runs until it is resolved
    assert not root.exists()  # nothing recreated the old folder

    # Locate…: a folder that is not the same one is refused with a sentence.
    other = tmp_path / "other"
    other.mkdir()
    window.folder_picker = lambda _title, _start: str(other)
    assert not window.locate_folder(pair_id)
    assert "does not look like the folder that was synced" in window.banner_label.text()
    assert ctl.pairs()[0].local_root == str(root)

    window.folder_picker = lambda _title, _start: str(moved)
    assert window.locate_folder(pair_id)
    pair = ctl.pairs()[0]
    assert pair.local_root == str(moved)
    qtbot.waitUntil(
        lambda: (
            ctl.status(pair.pair_id).record is not None
            and ctl.pair_state(pair.pair_id) is not PairState.MISSING
        ),
        timeout=20000,
    )
    assert ctl.status(pair.pair_id).last_completed >= synced_at  # not "never"
    old_db = state_path(root, ACCOUNT.account_url, ACCOUNT.account_name, "docs")
    new_db = state_path(moved, ACCOUNT.account_url, ACCOUNT.account_name, "docs")
    assert new_db.exists() and not old_db.exists()  # the state came along
    qtbot.waitUntil(lambda: ctl.status(pair.pair_id).last_result is not None, timeout=30000)
    result = ctl.status(pair.pair_id).last_result
    # Nothing looked new, changed or deleted: a fresh snapshot would record all four.
    assert result.writes == 0 and result.recorded == 0 and len(store.synced_names()) == 4
    assert not window.banner.isVisible()


def test_a_folder_that_comes_back_syncs_again(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("a")
    window, store, _ = _window(make_window, root)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
    root.rename(tmp_path / "away")
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.MISSING, timeout=3000)
    (tmp_path / "away").rename(root)  # the drive is mounted again
    (root / "b.txt").write_text("b")
    qtbot.waitUntil(lambda: "b.txt" in store.synced_names(), timeout=30000)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
    assert not window.banner.isVisible()
