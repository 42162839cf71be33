"""Filters end to end through the app against Azurite: a pair set up in the pair dialog
with a container path and patterns syncs only its part; a folder unchecked in the tree
(Edit…) keeps both sides as they are and, checked again, comes back merged with both
versions kept; a file moved out of the sync is removed from the container or put back
from the issues list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.models import IssueKind
from blobsync.gui.main_window import MainWindow
from blobsync.gui.views.issues_view import IssuesView
from blobsync.gui.widgets.pair_dialog import PairDialog

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


def write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def local_files(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".blobsync"]
        for name in files:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out


def blobs(sdk: BlobServiceClient, container: str, under: str = "") -> dict[str, bytes]:
    client = sdk.get_container_client(container)
    return {
        b.name[len(under) :]: client.download_blob(b.name).readall()
        for b in client.list_blobs(name_starts_with=under or None)
        if not b.name[len(under) :].startswith(".blobsync/")
    }


def run_sync(qtbot, window: MainWindow, pair_id: str):  # type: ignore[no-untyped-def]
    ctl = window.controller
    before = ctl.status(pair_id).last_result
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(
        lambda: not ctl.status(pair_id).syncing and ctl.status(pair_id).last_result is not before,
        timeout=60000,
    )
    result = ctl.status(pair_id).last_result
    assert result is not None and ctl.status(pair_id).failure is None
    return result


def open_dialog(qtbot, window: MainWindow, pair_id: str | None) -> PairDialog:  # type: ignore[no-untyped-def]
    if pair_id is None:
        window.add_pair()
    else:
        window.edit_pair(pair_id)
    dialog = window.pair_dialog
    assert isinstance(dialog, PairDialog)
    qtbot.waitUntil(lambda: "Loading" not in dialog.picker.status.text(), timeout=20000)
    return dialog


def save(qtbot, dialog: PairDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert dialog.result_pair is not None, dialog.error_label.text()


def test_a_pair_with_a_path_and_patterns_then_a_folder_left_out_and_back(
    qtbot, make_window, azurite_account: AccountConfig, sdk, container_name, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    sdk.create_container(container_name)
    sdk.get_blob_client(container_name, "other/keep.txt").upload_blob(b"another pair's")
    root = tmp_path / "Projects"
    write(root, "notes.txt", b"notes")
    write(root, "debug.log", b"log")
    write(root, "photos/a.jpg", b"jpg v1")
    window = make_window(AppConfig(accounts={azurite_account.name: azurite_account}))

    # Add: folder, container, a path in it, a pattern of its own
    dialog = open_dialog(qtbot, window, None)
    dialog.folder_edit.setText(str(root))
    dialog.picker.set_selected(container_name)
    dialog.path_picker.edit.setText("team/alpha")
    dialog.filters.editor.patterns_edit.setPlainText("*.log")
    qtbot.waitUntil(
        lambda: dialog.filters.tree.showing(container_name, "team/alpha/"), timeout=20000
    )
    save(qtbot, dialog)
    [pair] = window.controller.pairs()
    assert (pair.prefix, pair.patterns, pair.excluded_folders) == ("team/alpha/", ["*.log"], [])

    run_sync(qtbot, window, pair.pair_id)
    assert blobs(sdk, container_name, "team/alpha/") == {
        "notes.txt": b"notes",
        "photos/a.jpg": b"jpg v1",
    }
    assert blobs(sdk, container_name, "other/") == {"keep.txt": b"another pair's"}

    # Edit: uncheck photos in the tree; both sides then change it
    dialog = open_dialog(qtbot, window, pair.pair_id)
    tree = dialog.filters.tree
    qtbot.waitUntil(lambda: tree.showing(container_name, "team/alpha/"), timeout=20000)
    assert tree.item("photos").text(1) == "on this computer and in the container"  # type: ignore[union-attr]
    tree.item("photos").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    assert "never deletes" in dialog.filters.promise.text()
    save(qtbot, dialog)
    [pair] = window.controller.pairs()
    assert pair.excluded_folders == ["photos"] and pair.prefix == "team/alpha/"

    write(root, "photos/a.jpg", b"jpg edited here")
    write(root, "photos/new-here.jpg", b"only here")
    sdk.get_blob_client(container_name, "team/alpha/photos/b.jpg").upload_blob(b"from elsewhere")
    result = run_sync(qtbot, window, pair.pair_id)
    assert result.deleted_local == result.deleted_remote == 0 and result.excluded.folder == 1
    assert "photos/b.jpg" not in local_files(root)  # not downloaded
    assert blobs(sdk, container_name, "team/alpha/")["photos/a.jpg"] == b"jpg v1"  # not uploaded

    # Edit again: check photos; the next sync merges, keeping both versions of a.jpg
    dialog = open_dialog(qtbot, window, pair.pair_id)
    tree = dialog.filters.tree
    qtbot.waitUntil(lambda: tree.showing(container_name, "team/alpha/"), timeout=20000)
    assert tree.item("photos").checkState(0) == Qt.CheckState.Unchecked  # type: ignore[union-attr]
    tree.item("photos").setCheckState(0, Qt.CheckState.Checked)  # type: ignore[union-attr]
    save(qtbot, dialog)
    [pair] = window.controller.pairs()
    assert pair.excluded_folders == []
    result = run_sync(qtbot, window, pair.pair_id)
    assert result.deleted_local == result.deleted_remote == 0
    assert [i.kind for i in result.issues] == [IssueKind.CONFLICT]
    here, there = local_files(root), blobs(sdk, container_name, "team/alpha/")
    assert here.pop("debug.log") == b"log"  # *.log is still left out: here only
    assert here == there  # both sides agree, nothing lost
    photos = {k: v for k, v in here.items() if k.startswith("photos/")}
    assert sorted(photos.values()) == [
        b"from elsewhere",
        b"jpg edited here",
        b"jpg v1",
        b"only here",
    ]


@pytest.mark.parametrize(("button", "in_container"), [("removeMovedButton", False),
                                                       ("restoreMovedButton", True)])  # fmt: skip
def test_a_file_moved_out_of_the_sync_is_settled_from_the_issues_list(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path, button, in_container
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "Sync"
    write(root, "report.txt", b"the report")
    pair = PairConfig(str(root), azurite_account.name, container_name, excluded_folders=["private"])
    window = make_window(AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair]))
    run_sync(qtbot, window, pair.pair_id)
    (root / "private").mkdir()
    os.replace(root / "report.txt", root / "private" / "report.txt")
    result = run_sync(qtbot, window, pair.pair_id)
    [issue] = result.issues
    assert issue.kind is IssueKind.MOVED_OUT_OF_SYNC and issue.conflict_copy == "private/report.txt"
    assert blobs(sdk, container_name) == {"report.txt": b"the report"}  # held, not deleted

    view = window.issues_view
    assert isinstance(view, IssuesView)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=20000)
    window.tabs.setCurrentWidget(view)
    remove = window.findChild(QPushButton, "removeMovedButton")
    restore = window.findChild(QPushButton, "restoreMovedButton")
    assert remove is not None and restore is not None
    assert not remove.isVisible()  # nothing selected yet
    view.select_rel_paths(["report.txt"])
    assert remove.isVisible() and remove.isEnabled() and restore.isEnabled()
    assert not window.findChild(QPushButton, "keepMineButton").isEnabled()  # type: ignore[union-attr]
    assert "private/report.txt" in view.detail.text()

    qtbot.mouseClick(window.findChild(QPushButton, button), Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    ctl = window.controller
    expected_local = {"private/report.txt": b"the report"}
    if in_container:
        expected_local["report.txt"] = b"the report"
    qtbot.waitUntil(
        lambda: (
            view.model.rowCount() == 0
            and not ctl.status(pair.pair_id).syncing
            and local_files(root) == expected_local
        ),
        timeout=60000,
    )
    assert blobs(sdk, container_name) == ({"report.txt": b"the report"} if in_container else {})
    assert not remove.isVisible()


def test_the_app_syncs_again_at_once_when_a_sync_brought_a_new_ignore_file(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "Live"
    write(root, "a.txt", b"a")
    pair = PairConfig(str(root), azurite_account.name, container_name, interval_s=3600)
    window = make_window(
        AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair]), schedule=True
    )
    ctl = window.controller
    qtbot.waitUntil(  # the live loop's first sync
        lambda: (
            ctl.status(pair.pair_id).last_result is not None
            and not ctl.status(pair.pair_id).syncing
        ),
        timeout=60000,
    )
    live = ctl._live.live(pair.pair_id)  # type: ignore[union-attr]
    assert live is not None
    # another machine adds an ignore file; this one has a new log meanwhile (seen by the
    # watcher before the sync starts, so no later change event starts another sync)
    sdk.get_blob_client(container_name, ".blobsyncignore").upload_blob(b"*.log\n")
    write(root, "new.log", b"log")
    qtbot.waitUntil(lambda: live.schedule.first_change is not None, timeout=20000)
    assert ctl.sync_now(pair.pair_id)
    # that run downloads the ignore file (its own rules were fixed when it began); the
    # live loop runs the next one at once, under the new rules, not an hour later
    qtbot.waitUntil(
        lambda: (
            (r := ctl.status(pair.pair_id).last_result) is not None
            and r.excluded.by_pattern.get("*.log") == 1
            and not ctl.status(pair.pair_id).syncing
        ),
        timeout=30000,
    )
    assert (root / ".blobsyncignore").read_bytes() == b"*.log\n"
    assert live.skips("other.log", False)  # the watcher's filter follows the new rules
