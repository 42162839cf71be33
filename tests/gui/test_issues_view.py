"""The issues list: rows in words, buttons per selection, the right resolve requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QPushButton

from blobsync.core.models import Issue, IssueKind
from blobsync.core.names import is_reserved
from blobsync.gui.models.issues_model import IssuesModel
from blobsync.gui.views.issues_view import IssuesView

pytestmark = [pytest.mark.gui]

CONFLICT = Issue(
    "docs/report.txt",
    IssueKind.CONFLICT,
    "Changed here and in the container since the last sync.",
    conflict_copy="docs/report (conflict from laptop).txt",
)
RACE = Issue("b.txt", IssueKind.CONCURRENT_CHANGE, "The blob changed while we uploaded it.")
DENIED = Issue("secret/c.txt", IssueKind.PERMISSION_DENIED, "Cannot write the file.")
NAME = Issue("bad\\name", IssueKind.NAME_NOT_ALLOWED, "Backslash.", retryable=False)


@pytest.fixture
def view(qtbot) -> IssuesView:  # type: ignore[no-untyped-def]
    widget = IssuesView()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    return widget


def buttons(view: IssuesView) -> dict[str, bool]:
    names = (
        "retryButton",
        "retryAllButton",
        "keepMineButton",
        "takeTheirsButton",
        "keepBothButton",
        "showInFolderButton",
    )
    found = {name: view.findChild(QPushButton, name) for name in names}
    assert all(btn is not None for btn in found.values())
    return {name: btn.isEnabled() for name, btn in found.items()}  # type: ignore[union-attr]


def test_model_shows_issue_in_words() -> None:
    model = IssuesModel()
    model.set_issues("p1", [CONFLICT, DENIED])
    model.set_issues("p2", [RACE])
    assert model.rowCount() == 3
    assert model.data(model.index(0, IssuesModel.ITEM)) == "docs/report.txt"
    assert model.data(model.index(0, IssuesModel.PROBLEM)) == CONFLICT.describe()
    assert model.data(model.index(1, IssuesModel.DETAILS)) == "Cannot write the file."
    assert "conflict from laptop" in model.data(model.index(0, 0), 3)  # tooltip role
    assert model.conflict_count() == 2
    assert model.issue_count("p1") == 2
    model.set_issues("p1", [])
    assert model.rowCount() == 1
    assert model.row_at(0).pair_id == "p2"


def test_buttons_follow_selection(view: IssuesView) -> None:
    assert buttons(view) == dict.fromkeys(buttons(view), False)
    assert "Nothing needs your attention" in view.summary.text()

    view.set_issues("p1", [CONFLICT, RACE, DENIED])
    state = buttons(view)
    assert state["retryAllButton"] and not state["retryButton"] and not state["keepMineButton"]
    assert "3 items need your attention (2 conflicts)" in view.summary.text()

    view.select_rel_paths(["docs/report.txt"])
    state = buttons(view)
    assert state["retryButton"] and state["keepMineButton"] and state["takeTheirsButton"]
    assert state["keepBothButton"]
    assert not state["showInFolderButton"]  # no folder known for p1 yet
    assert "conflict from laptop" in view.detail.text()

    view.select_rel_paths(["docs/report.txt", "b.txt"])
    state = buttons(view)
    assert state["keepMineButton"] and state["retryButton"]

    view.select_rel_paths(["docs/report.txt", "secret/c.txt"])
    state = buttons(view)
    assert state["retryButton"] and not state["keepMineButton"] and not state["keepBothButton"]

    view.select_rel_paths(["secret/c.txt"])
    assert not buttons(view)["takeTheirsButton"]

    # a refresh keeps the selection of items still pending
    view.select_rel_paths(["docs/report.txt", "secret/c.txt"])
    view.set_issues("p1", [CONFLICT, DENIED])
    assert [row.issue.rel_path for row in view.selected_rows()] == [
        "docs/report.txt",
        "secret/c.txt",
    ]
    view.set_issues("p1", [DENIED])
    assert [row.issue.rel_path for row in view.selected_rows()] == ["secret/c.txt"]

    view.set_issues("p1", [])
    assert buttons(view) == dict.fromkeys(buttons(view), False)


def test_resolve_requested_args(view: IssuesView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_issues("p1", [CONFLICT, DENIED])
    view.set_issues("p2", [RACE, NAME])
    asked: list[str] = []
    view.confirm = lambda title, text: asked.append(title) or True  # Keep mine / Take theirs
    seen: list[tuple[str, list[str], str]] = []
    view.resolve_requested.connect(lambda pid, paths, res: seen.append((pid, paths, res)))

    view.select_rel_paths(["docs/report.txt"])
    qtbot.mouseClick(view.keep_mine_button, _left())
    qtbot.mouseClick(view.take_theirs_button, _left())
    qtbot.mouseClick(view.keep_both_button, _left())
    assert seen == [
        ("p1", ["docs/report.txt"], "keep_mine"),
        ("p1", ["docs/report.txt"], "take_theirs"),
        ("p1", ["docs/report.txt"], "keep_both"),
    ]
    assert asked == ["Keep your version?", "Take their version?"]  # Keep both is not asked

    seen.clear()
    view.select_rel_paths(["docs/report.txt", "b.txt"])  # two pairs: one request per pair
    qtbot.mouseClick(view.keep_both_button, _left())
    assert seen == [("p1", ["docs/report.txt"], "keep_both"), ("p2", ["b.txt"], "keep_both")]

    seen.clear()
    view.select_rel_paths(["secret/c.txt"])
    qtbot.mouseClick(view.retry_button, _left())
    qtbot.mouseClick(view.keep_mine_button, _left())  # disabled: no emission
    assert seen == [("p1", ["secret/c.txt"], "retry")]

    seen.clear()
    qtbot.mouseClick(view.retry_all_button, _left())
    assert seen == [  # the conflict stays until the user chooses
        ("p1", ["secret/c.txt"], "retry"),
        ("p2", ["b.txt", "bad\\name"], "retry"),
    ]


def test_show_in_folder_opens_parent(view: IssuesView, tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "Sync"
    (root / "docs").mkdir(parents=True)
    opened: list[QUrl] = []
    view.url_opener = opened.append
    view.set_issues("p1", [CONFLICT, DENIED])
    view.set_pair_info("p1", str(root))
    assert view.model.data(view.model.index(0, IssuesModel.FOLDER)) == "Sync"

    view.select_rel_paths(["docs/report.txt"])
    assert buttons(view)["showInFolderButton"]
    qtbot.mouseClick(view.show_in_folder_button, _left())
    # secret/ does not exist: the nearest existing folder (the root) is opened
    view.select_rel_paths(["secret/c.txt"])
    qtbot.mouseClick(view.show_in_folder_button, _left())
    assert [url.toLocalFile() for url in opened] == [str(root / "docs"), str(root)]


def _left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


# ---- end to end: a real conflict, resolved from the list --------------------------------

EXPECTED_AFTER = {
    # resolution -> (local notes.txt, conflict copy kept?)
    "retry": ("theirs", True),
    "keep_mine": ("mine", False),
    "take_theirs": ("theirs", False),
    "keep_both": ("theirs", True),
}
CONTENT = {
    "base": b"base version\n",
    "mine": b"edited on this computer\n",
    "theirs": b"edited on the other machine, longer\n",
}
BUTTON = {
    "retry": "retryButton",
    "keep_mine": "keepMineButton",
    "take_theirs": "takeTheirsButton",
    "keep_both": "keepBothButton",
}


def local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def blob_files(sdk, container: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    client = sdk.get_container_client(container)
    # BlobSync's own ``.blobsync/`` space (the change beacon) is not a synced file
    return {
        b.name: client.download_blob(b.name).readall()
        for b in client.list_blobs()
        if not is_reserved(b.name)
    }


@pytest.mark.azurite
@pytest.mark.parametrize("resolution", list(EXPECTED_AFTER))
def test_conflict_resolved_from_the_issues_list(  # type: ignore[no-untyped-def]
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path, resolution
):
    from blobsync.core.app.settings import AppConfig, PairConfig

    root = tmp_path / "Sync"
    root.mkdir()
    (root / "notes.txt").write_bytes(CONTENT["base"])
    pair = PairConfig(str(root), azurite_account.name, container_name)
    config = AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair])
    window = make_window(config)
    ctl = window.controller
    view = window.issues_view
    assert isinstance(view, IssuesView)

    def run_sync() -> None:
        before = ctl.status(pair.pair_id).last_result
        assert ctl.sync_now(pair.pair_id)
        qtbot.waitUntil(
            lambda: (
                not ctl.status(pair.pair_id).syncing
                and ctl.status(pair.pair_id).last_result is not before
            ),
            timeout=60000,
        )

    run_sync()
    assert blob_files(sdk, container_name) == {"notes.txt": CONTENT["base"]}

    # A second client changes the blob, and the local file changes too.
    sdk.get_blob_client(container_name, "notes.txt").upload_blob(CONTENT["theirs"], overwrite=True)
    (root / "notes.txt").write_bytes(CONTENT["mine"])
    run_sync()

    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=20000)
    row = view.model.row_at(0)
    assert row.pair_id == pair.pair_id and row.issue.rel_path == "notes.txt"
    assert row.issue.kind is IssueKind.CONFLICT and row.issue.conflict_copy
    copy = row.issue.conflict_copy
    assert local_files(root) == {"notes.txt": CONTENT["theirs"], copy: CONTENT["mine"]}

    view.select_rel_paths(["notes.txt"])
    view.confirm = lambda title, text: True  # the question before Keep mine / Take theirs
    target = window.findChild(QPushButton, BUTTON[resolution])
    assert target is not None and target.isEnabled()
    qtbot.mouseClick(target, _left())

    expected_name, copy_kept = EXPECTED_AFTER[resolution]
    expected = {"notes.txt": CONTENT[expected_name]}
    if copy_kept:
        expected[copy] = CONTENT["mine"]
    pending = 1 if resolution == "retry" else 0  # retrying does not settle a conflict
    qtbot.waitUntil(
        lambda: (
            view.model.rowCount() == pending
            and not ctl.status(pair.pair_id).syncing
            and local_files(root) == expected
            and blob_files(sdk, container_name) == expected
        ),
        timeout=60000,
    )
    if pending:
        assert view.model.row_at(0).issue.kind is IssueKind.CONFLICT
    else:
        assert "Nothing needs your attention" in view.summary.text()
    # a further sync is quiet: both sides agree
    run_sync()
    result = ctl.status(pair.pair_id).last_result
    assert result is not None and result.writes == 0 and not result.issues


def test_retry_all_leaves_conflicts_for_the_user(qtbot) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.models import Issue, IssueKind
    from blobsync.gui.views.issues_view import IssuesView

    view = IssuesView()
    qtbot.addWidget(view)
    view.set_issues(
        "p",
        [
            Issue("a.txt", IssueKind.CONFLICT, "both changed", conflict_copy="a (conflict).txt"),
            Issue("b.txt", IssueKind.CONCURRENT_CHANGE, "raced"),
            Issue("c.txt", IssueKind.VANISHED, "gone"),
        ],
    )
    asked: list[tuple[str, list[str], str]] = []
    view.resolve_requested.connect(lambda pid, paths, res: asked.append((pid, paths, res)))
    view.retry_all_button.click()
    assert asked == [("p", ["b.txt", "c.txt"], "retry")]
    view.set_issues("p", [Issue("a.txt", IssueKind.CONFLICT, "both changed")])
    assert not view.retry_all_button.isEnabled()


def test_ignore_this_item_dismisses_a_symlink_for_good(qtbot, make_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
    from blobsync.core.app.status import PairState
    from blobsync.core.credentials import SecretKind
    from blobsync.core.engine import SyncEngine
    from blobsync.core.remote.memory import MemoryStore

    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("a")
    (root / "link").symlink_to("a.txt")
    store = MemoryStore("docs")
    account = AccountConfig("acc", "http://127.0.0.1:9/x", "x", SecretKind.ACCOUNT_KEY)
    config = AppConfig(accounts={"acc": account}, pairs=[PairConfig(str(root), "acc", "docs")])
    window = make_window(
        config,
        engine_factory=lambda pair, sink: SyncEngine(
            pair.local_root, store, tmp_path / "state.sqlite3", sink
        ),
        save=lambda _c: None,
    )
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    view = window.issues_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=20000)
    assert ctl.pair_state(pair_id) is PairState.ATTENTION
    view.select_rel_paths(["link"])
    assert view.ignore_button.isEnabled()
    qtbot.mouseClick(view.ignore_button, _left())
    qtbot.waitUntil(
        lambda: view.model.rowCount() == 0 and ctl.pair_state(pair_id) is PairState.IDLE,
        timeout=20000,
    )
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=20000)
    assert view.model.rowCount() == 0 and ctl.pair_state(pair_id) is PairState.IDLE
