"""The "what syncs" screenshots, taken by ``screenshot_script.py`` (same X display, same
private Azurite): the pair dialog's selective-sync tree (``selective_sync.png``), its
patterns editor with an invalid line and the live count (``patterns_editor.png``), and
the container path picker (``path_picker.png``). Each manifest entry also records what
the tree shows (name, check state, where) so the test can check the picture's content.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem, QWidget

from blobsync.core.app.emulator import Azurite
from blobsync.gui.widgets.pair_dialog import PairDialog

Save = Callable[[str, QPixmap, list[str], tuple[int, int]], None]
Texts = Callable[[QWidget], list[str]]
Wait = Callable[[QApplication, Callable[[], bool], str], None]

CONTAINER = "projects"
LOCAL = {
    "src/main.py": "print('hello')\n",
    "src/util.py": "def util(): ...\n",
    "docs/guide.md": "# Guide\n",
    "build/app.o": "o" * 900,
    "build/lib.o": "o" * 700,
    "node_modules/left-pad/index.js": "module.exports = 1\n",
    "node_modules/left-pad/package.json": "{}\n",
    "photos/2019/beach.jpg": "j" * 3000,
    "photos/2019/hills.jpg": "j" * 2000,
    "photos/2024/city.jpg": "j" * 2500,
    "notes.txt": "notes\n",
    "debug.log": "log\n",
    "Thumbs.db": "junk",
    "~$plan.docx": "lock",
    ".blobsyncignore": "# shared by every computer\nnode_modules/\n",
}
REMOTE = (
    "team/alpha/archive/2018/old.txt",
    "team/alpha/photos/2018/snow.jpg",
    "team/alpha/docs/guide.md",
    "team/beta/readme.txt",
    "laptop/notes.txt",
)


def tree_rows(tree: QTreeWidget) -> list[list[str]]:
    """[indented name, check state, where] of every row shown."""
    names = {
        Qt.CheckState.Checked: "checked",
        Qt.CheckState.PartiallyChecked: "partial",
        Qt.CheckState.Unchecked: "unchecked",
    }
    rows: list[list[str]] = []

    def walk(item: QTreeWidgetItem, depth: int) -> None:
        for i in range(item.childCount()):
            child = item.child(i)
            if child is None or child.data(0, Qt.ItemDataRole.UserRole + 1) is None:
                continue
            rows.append(["  " * depth + child.text(0), names[child.checkState(0)], child.text(1)])
            if child.isExpanded():
                walk(child, depth + 1)

    walk(tree.invisibleRootItem(), 0)
    return rows


def settle(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot_filters(
    app: QApplication,
    azurite: Azurite,
    host: Any,
    parent: QWidget,
    home: Path,
    save: Save,
    texts: Texts,
    wait_until: Wait,
    manifest: dict[str, Any],
) -> None:
    """Take the three pictures (the dialogs are closed again, nothing is saved)."""
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(CONTAINER)
    for name in REMOTE:
        sdk.get_blob_client(CONTAINER, name).upload_blob(b"x")
    sdk.close()
    root = home / "Projects"
    for rel, text in LOCAL.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    dialog = PairDialog(host, parent=parent)
    dialog.folder_edit.setText(str(root))
    dialog.show()
    dialog.move(60, 40)
    wait_until(app, lambda: CONTAINER in dialog.picker.container_names(), "the container list")
    dialog.picker.set_selected(CONTAINER)
    dialog.path_picker.edit.setText("team/alpha")
    dialog.filters.editor.patterns_edit.setPlainText("*.log\nbuild/\nreport[9-0].pdf\n!keep.log")
    tree = dialog.filters.tree
    wait_until(app, lambda: tree.showing(CONTAINER, "team/alpha/"), "the folders of both sides")
    photos = tree.item("photos")
    assert photos is not None
    photos.setExpanded(True)
    wait_until(app, lambda: tree.item("photos/2019") is not None, "the folders in photos")
    item_2019 = tree.item("photos/2019")
    assert item_2019 is not None
    item_2019.setCheckState(0, Qt.CheckState.Unchecked)  # as a click does
    settle(app, 0.5)
    save(
        "selective_sync.png",
        dialog.grab(),
        texts(dialog),
        (dialog.width(), dialog.height()),
    )
    manifest["selective_sync.png"]["tree"] = tree_rows(tree.tree)
    manifest["selective_sync.png"]["excluded_folders"] = tree.excluded_folders()

    dialog.filters.tabs.setCurrentWidget(dialog.filters.editor)
    editor = dialog.filters.editor
    editor.count_now()
    wait_until(app, lambda: editor.count_label.text().startswith("These rules"), "the live count")
    settle(app, 0.4)
    save(
        "patterns_editor.png",
        dialog.grab(),
        texts(dialog),
        (dialog.width(), dialog.height()),
    )

    browser = dialog.path_picker.open_browser()
    assert browser is not None
    browser.move(dialog.x() + 140, dialog.y() + 120)
    wait_until(app, lambda: browser.selected_path() == "team/alpha/", "the path in the browser")
    browser.select_path("team/")
    browser.add_folder("gamma")
    browser.select_path("team/alpha/")
    settle(app, 0.4)
    save(
        "path_picker.png",
        browser.grab(),
        texts(browser) + [browser.chosen_label.text()],
        (browser.width(), browser.height()),
    )
    manifest["path_picker.png"]["tree"] = _path_rows(browser.tree)
    browser.reject()
    dialog.reject()
    settle(app, 0.2)


def _path_rows(tree: QTreeWidget) -> list[str]:
    rows: list[str] = []

    def walk(item: QTreeWidgetItem, depth: int) -> None:
        for i in range(item.childCount()):
            child = item.child(i)
            if child is None or child.data(0, Qt.ItemDataRole.UserRole + 1) is None:
                continue
            rows.append("  " * depth + child.text(0))
            if child.isExpanded():
                walk(child, depth + 1)

    walk(tree.invisibleRootItem(), 0)
    return rows
