"""The pair dialog's "what syncs" widgets: the patterns editor (defaults, invalid lines in
words, the live count), the selective-sync tree (check/uncheck, partial state, folders
of both sides, greyed pattern folders, the count of left-out folders) and the container
path picker (browse, new folder), the last two against Azurite."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.selection import preview_exclusions
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.errors import AuthError
from blobsync.core.filters import DEFAULT_PATTERNS, IGNORE_FILE, FilterRules
from blobsync.gui.widgets.pair_filters import PairFilters
from blobsync.gui.widgets.path_picker import ContainerPathPicker, PathPickerDialog
from blobsync.gui.widgets.patterns_editor import PatternsEditor, preview_words
from blobsync.gui.widgets.selective_sync import SelectiveSyncTree

pytestmark = [pytest.mark.gui]

CREDS = Credentials(
    "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY, "k"
)


def write(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "Projects"
    write(
        root,
        "notes.txt",
        "debug.log",
        "trace.log",
        "Thumbs.db",
        "~$plan.docx",
        "src/main.py",
        "build/a.o",
        "build/b.o",
        "build/c.o",
        "photos/2019/a.jpg",
        "photos/2024/b.jpg",
    )
    return root


def counted(qtbot, editor: PatternsEditor):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(editor.counted, timeout=20000) as blocker:
        editor.count_now()
    return blocker.args[0]


def test_patterns_editor_flags_bad_lines_in_words_and_counts_live(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    editor = PatternsEditor()
    qtbot.addWidget(editor)
    editor.show()
    # the built-in list is visible and on; nothing chosen yet says so
    assert editor.defaults_check.isChecked()
    assert all(p in editor.defaults_list.text() for p in DEFAULT_PATTERNS)
    assert "Choose the local folder" in editor.count_label.text()

    editor.set_root(folder)
    first = counted(qtbot, editor)
    assert (first.files, first.counts.defaults) == (2, 2)  # Thumbs.db, ~$plan.docx
    assert editor.count_label.text() == "These rules leave out 2 files in this folder."

    # typing: a valid pattern, an invalid one, a comment; the count follows by itself
    with qtbot.waitSignal(editor.counted, timeout=20000) as blocker:
        for n, line in enumerate(["*.log", "[z-a]", "# scratch", "build/"]):
            if n:
                qtbot.keyClick(editor.patterns_edit, Qt.Key.Key_Return)
            qtbot.keyClicks(editor.patterns_edit, line)
    assert editor.patterns() == ["*.log", "[z-a]", "# scratch", "build/"]
    assert editor.problems_label.isVisible()
    assert editor.problems_label.text() == (
        "Line 2 is not used: '[z-a]' is not a valid pattern (bad character range z-a). "
        "Change or remove it to save."
    )
    assert editor.problem() == (
        "Pattern line 2: '[z-a]' is not a valid pattern (bad character range z-a)."
    )
    assert [m.cursor.blockNumber() for m in editor.patterns_edit.extraSelections()] == [1]
    preview = blocker.args[0]
    assert (preview.files, preview.folders, preview.files_in_folders) == (7, 1, 3)
    assert preview.counts.by_pattern == {"*.log": 2, "build/": 1, "Thumbs.db": 1, "~$*": 1}
    assert editor.count_label.text() == (
        "These rules leave out 7 files in this folder (1 folder as a whole, with 3 files in them)."
    )

    # the switch turns the built-in list off; folders unchecked in the tree count too
    editor.defaults_check.setChecked(False)
    assert not editor.use_defaults() and not editor.defaults_list.isEnabled()
    editor.set_excluded_folders(["photos/2019"])
    preview = counted(qtbot, editor)
    assert (preview.files, preview.counts.defaults, preview.counts.folder) == (6, 0, 1)
    assert editor.rules().excluded_folders == frozenset({"photos/2019"})

    # fixing the line clears the problem; the folder's ignore file is read and named
    editor.patterns_edit.setPlainText("*.log\nbuild/")
    assert editor.problem() is None and not editor.problems_label.isVisible()
    (folder / IGNORE_FILE).write_text("src/\n# c\n!\n")
    preview = counted(qtbot, editor)
    assert preview.counts.ignore_file == 1
    assert editor.ignore_file_label.text() == (
        f"This folder's {IGNORE_FILE} adds 1 pattern (on every computer); 1 line in it is "
        "not valid and skipped."
    )


def tree_with(qtbot, lister, folder: Path, excluded: list[str] = []):  # type: ignore[no-untyped-def]  # noqa: B006
    tree = SelectiveSyncTree(lister=lister)
    qtbot.addWidget(tree)
    tree.show()
    tree.set_excluded(excluded)
    with qtbot.waitSignal(tree.loaded, timeout=20000):
        tree.set_source(folder, CREDS, "box", "team/x/")
    return tree


def fake_remote(folders: dict[str, list[str]], calls: list[tuple[str, str]] | None = None):  # type: ignore[no-untyped-def]
    def lister(creds, container, prefix, rel):  # type: ignore[no-untyped-def]
        if calls is not None:
            calls.append((prefix, rel))
        return folders.get(rel, [])

    return lister


def state(tree: SelectiveSyncTree, rel: str) -> Qt.CheckState:
    item = tree.item(rel)
    assert item is not None, rel
    return item.checkState(0)


def expand(qtbot, tree: SelectiveSyncTree, rel: str) -> None:  # type: ignore[no-untyped-def]
    item = tree.item(rel)
    assert item is not None
    with qtbot.waitSignal(tree.loaded, timeout=20000, check_params_cb=lambda p: p == rel):
        item.setExpanded(True)


def test_tree_shows_both_sides_and_checks_like_dropbox(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[str, str]] = []
    remote = fake_remote({"": ["archive", "photos"], "photos": ["photos/2018"]}, calls)
    tree = tree_with(qtbot, remote, folder)
    assert calls == [("team/x/", "")]
    top = [tree.tree.topLevelItem(i).text(0) for i in range(tree.tree.topLevelItemCount())]  # type: ignore[union-attr]
    assert top == ["archive", "build", "photos", "src"]
    assert tree.item("archive").text(1) == "in the container"  # type: ignore[union-attr]
    assert tree.item("src").text(1) == "on this computer"  # type: ignore[union-attr]
    assert tree.item("photos").text(1) == "on this computer and in the container"  # type: ignore[union-attr]
    assert tree.summary.text() == "Every folder syncs."
    assert all(state(tree, f) == Qt.CheckState.Checked for f in ("archive", "photos", "src"))

    expand(qtbot, tree, "photos")
    assert [tree.item("photos").child(i).text(0) for i in range(3)] == ["2018", "2019", "2024"]  # type: ignore[union-attr]
    changes: list[None] = []
    tree.changed.connect(lambda: changes.append(None))
    tree.item("photos/2019").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]  # a click
    assert state(tree, "photos") == Qt.CheckState.PartiallyChecked
    assert state(tree, "photos/2019") == Qt.CheckState.Unchecked
    assert state(tree, "photos/2024") == Qt.CheckState.Checked
    assert tree.excluded_folders() == ["photos/2019"] and len(changes) == 1
    assert tree.summary.text() == "Left out: 1 folder (photos/2019)."

    tree.item("build").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    assert tree.summary.text() == "Left out: 2 folders (build, photos/2019)."
    # unchecking the parent takes its children along; one folder is saved
    tree.item("photos").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    assert tree.excluded_folders() == ["build", "photos"]
    assert state(tree, "photos/2024") == Qt.CheckState.Unchecked
    # checking one child of a left-out folder brings the parent back, partly
    tree.item("photos/2024").setCheckState(0, Qt.CheckState.Checked)  # type: ignore[union-attr]
    assert state(tree, "photos") == Qt.CheckState.PartiallyChecked
    assert tree.excluded_folders() == ["build", "photos/2018", "photos/2019"]
    # a click on a partly checked folder checks all of it
    tree.item("photos").setCheckState(0, Qt.CheckState.Checked)  # type: ignore[union-attr]
    assert tree.excluded_folders() == ["build"]
    assert state(tree, "photos/2019") == Qt.CheckState.Checked


def test_tree_opens_the_way_to_saved_folders_and_keeps_gone_ones(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    tree = SelectiveSyncTree(lister=fake_remote({}))
    qtbot.addWidget(tree)
    tree.show()
    tree.set_excluded(["photos/2019", "old-stuff"])
    tree.set_source(folder, CREDS, "box", "")
    qtbot.waitUntil(lambda: tree.is_loaded("photos"), timeout=20000)
    assert tree.item("photos").isExpanded()  # type: ignore[union-attr]
    assert state(tree, "photos/2019") == Qt.CheckState.Unchecked
    assert state(tree, "photos") == Qt.CheckState.PartiallyChecked
    gone = tree.item("old-stuff")
    assert gone is not None and gone.text(1) == "on neither side now"
    gone.setCheckState(0, Qt.CheckState.Checked)  # brought back: no longer saved
    assert tree.excluded_folders() == ["photos/2019"]


def test_pattern_folders_are_greyed_and_a_listing_error_is_said(qtbot, folder: Path) -> None:  # type: ignore[no-untyped-def]
    def failing(creds, container, prefix, rel):  # type: ignore[no-untyped-def]
        raise AuthError("The account key is wrong.")

    filters = PairFilters(lister=failing)
    qtbot.addWidget(filters)
    filters.show()
    with qtbot.waitSignal(filters.tree.loaded, timeout=20000):
        filters.set_local_root(folder)
        filters.set_remote(CREDS, "box", "")
    tree = filters.tree
    assert "The account key is wrong." in tree.status.text()
    assert tree.item("build").text(1) == "on this computer"  # type: ignore[union-attr]
    # a pattern typed in the other tab greys the folder it leaves out
    filters.editor.patterns_edit.setPlainText("build/")
    build = tree.item("build")
    assert build is not None and build.text(1) == "left out by the pattern build/"
    assert not build.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert tree.excluded_folders() == []  # the pattern does it, not the tree
    # and unchecking in the tree shows in the patterns' count
    tree.item("photos").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    assert filters.editor.rules().excluded_folders == frozenset({"photos"})
    assert filters.excluded_folders() == ["photos"]


# ---- the container path picker, against Azurite ---------------------------------------


@pytest.mark.azurite
def test_path_picker_browses_and_creates_a_path(
    qtbot, azurite: Azurite, container_name: str
) -> None:  # type: ignore[no-untyped-def]
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(container_name)
    for name in ("team/alpha/a.txt", "team/beta/b.txt", "laptop/c.txt", "top.txt"):
        sdk.get_blob_client(container_name, name).upload_blob(b"x")
    sdk.close()

    picker = ContainerPathPicker()
    qtbot.addWidget(picker)
    picker.show()
    assert not picker.browse_button.isEnabled()
    picker.set_container(azurite.credentials, container_name)
    assert picker.browse_button.isEnabled()
    picker.edit.setText("team/../x")
    assert "'..'" in picker.error.text() and picker.error.isVisible()
    picker.set_path("team/beta/")
    assert picker.edit.text() == "team/beta" and picker.problem() is None

    dialog = picker.open_browser()
    assert isinstance(dialog, PathPickerDialog)
    # it opens the way to the current path, listing one level at a time
    qtbot.waitUntil(lambda: dialog.selected_path() == "team/beta/", timeout=20000)
    top = dialog.tree.topLevelItem(0)
    assert top is not None
    assert [top.child(i).text(0) for i in range(top.childCount())] == ["laptop", "team"]
    assert dialog.chosen_label.text() == f"Syncs with: {container_name}/team/beta"

    dialog.select_path("team/")
    dialog.new_edit.setText("a/b")
    assert not dialog.new_button.isEnabled() and "one folder name" in dialog.error.text()
    dialog.new_edit.setText("alpha")
    assert not dialog.new_button.isEnabled() and "already there" in dialog.error.text()
    dialog.new_edit.setText(".blobsync")
    assert "BlobSync's own space" in dialog.error.text()
    dialog.new_edit.setText("gamma")
    assert dialog.new_button.isEnabled() and dialog.error.text() == ""
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    assert dialog.selected_path() == "team/gamma/"
    assert dialog.tree.currentItem().text(0) == "gamma  (new)"  # type: ignore[union-attr]
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert picker.path() == "team/gamma/" and picker.edit.text() == "team/gamma"

    # the whole container is a choice too
    again = picker.open_browser()
    assert again is not None
    qtbot.waitUntil(lambda: again.selected_path() == "team/gamma/", timeout=20000)
    again.select_path("")
    again.accept()
    assert picker.path() == "" and picker.edit.text() == ""


@pytest.mark.azurite
def test_path_picker_lists_a_container_that_does_not_exist_yet(
    qtbot, azurite: Azurite, container_name: str
) -> None:  # type: ignore[no-untyped-def]
    dialog = PathPickerDialog(azurite.credentials, container_name)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=20000):
        dialog.show()
    assert dialog.status.text() == "No folders in this container yet."
    assert dialog.add_folder("laptop") and dialog.selected_path() == "laptop/"


@pytest.mark.azurite
def test_tree_lists_the_containers_folders_of_the_pairs_path(
    qtbot, azurite: Azurite, container_name: str, folder: Path
) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.app.selection import pair_folders

    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(container_name)
    for name in ("team/x/music/a.mp3", "team/x/photos/2018/b.jpg", "team/x/.blobsync/t",
                 "team/xy/other/c.txt"):  # fmt: skip
        sdk.get_blob_client(container_name, name).upload_blob(b"x")
    sdk.close()
    tree = SelectiveSyncTree(lister=pair_folders)
    qtbot.addWidget(tree)
    tree.show()
    with qtbot.waitSignal(tree.loaded, timeout=20000):
        tree.set_source(folder, azurite.credentials, container_name, "team/x/")
    top = [tree.tree.topLevelItem(i).text(0) for i in range(tree.tree.topLevelItemCount())]  # type: ignore[union-attr]
    assert top == ["build", "music", "photos", "src"]  # not .blobsync, not team/xy's
    assert tree.item("music").text(1) == "in the container"  # type: ignore[union-attr]
    expand(qtbot, tree, "photos")
    assert tree.item("photos/2018").text(1) == "in the container"  # type: ignore[union-attr]
    assert tree.item("photos/2019").text(1) == "on this computer"  # type: ignore[union-attr]
    assert tree.status.text() == f"Folders on this computer and in {container_name}/team/x."


def test_the_count_names_the_rules_of_nested_ignore_files(tmp_path: Path) -> None:
    root = tmp_path / "f"
    write(root, "web/a.log", "web/b.log", "web/dist/app.js", "web/index.html", "x.bak")
    (root / "web" / IGNORE_FILE).write_text("*.log\n/dist\n")
    preview = preview_exclusions(root, FilterRules(patterns=("*.bak",)))
    assert preview_words(preview) == (
        "These rules leave out 4 files in this folder (1 folder as a whole, with 1 file in "
        "them). Among them, by .blobsyncignore files in subfolders: "
        "web/.blobsyncignore: *.log (2), web/.blobsyncignore: /dist (1)."
    )
