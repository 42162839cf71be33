"""Selective sync: a tree of the pair's folders on both sides with check boxes, as
Dropbox and Maestral show it.

Local folders come from disk, remote ones from the container (a delimiter listing of
the pair's path, :func:`blobsync.core.app.selection.pair_folders`), both off the GUI
thread and one level at a time, when a folder is expanded. Unchecking a folder leaves
it out (neither uploaded nor downloaded); a folder with something left out below it is
partly checked; the rules of the boxes are :class:`~blobsync.core.app.selection.FolderSelection`'s.
Folders that a pattern already leaves out are shown greyed with the pattern, without a
box of their own. What is saved is ``excluded_folders()``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.selection import Check, FolderSelection, local_folders, pair_folders
from blobsync.core.credentials import Credentials
from blobsync.core.engine.filtering import local_path_filter
from blobsync.core.errors import BlobSyncError, ConfigError
from blobsync.core.filters import FilterRules, PathFilter
from blobsync.core.models import ExcludedBy

from ..qt_helpers import named
from .account_dialog import describe_error
from .background import run_in_background

#: (creds, container, pair's path, folder) -> the folders right inside it (relative).
PairFolderLister = Callable[[Credentials, str, str, str], list[str]]

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
_CHECK = {
    Check.CHECKED: Qt.CheckState.Checked,
    Check.PARTIAL: Qt.CheckState.PartiallyChecked,
    Check.UNCHECKED: Qt.CheckState.Unchecked,
}
_WHERE = {
    (True, True): "on this computer and in the container",
    (True, False): "on this computer",
    (False, True): "in the container",
    (False, False): "on neither side now",
}
MUTED = "color: #555555;"


class SelectiveSyncTree(QWidget):
    """The folders of a pair with check boxes; see the module docstring."""

    #: The user checked or unchecked a folder.
    changed = Signal()
    #: The folders inside one folder ("" for the top) are shown; handy for tests.
    loaded = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, lister: PairFolderLister = pair_folders
    ) -> None:
        super().__init__(parent)
        self._lister = lister
        self.selection = FolderSelection()
        self._root: Path | None = None
        self._creds: Credentials | None = None
        self._container: str | None = None
        self._prefix = ""
        self._rules = FilterRules()
        self._path_filter: PathFilter | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        self._loaded: set[str] = set()
        self._generation = 0
        self._updating = False
        self.remote_problem: str | None = None

        intro = QLabel(
            "Unchecked folders are neither uploaded nor downloaded. A partly checked "
            "folder syncs its own files and its checked folders."
        )
        intro.setWordWrap(True)
        self.tree = named(QTreeWidget(), "selectiveTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Folder", "Where"])
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemExpanded.connect(self._on_expanded)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.summary = named(QLabel(), "selectiveSummary")
        self.summary.setWordWrap(True)
        self.status = named(QLabel(), "selectiveStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(MUTED)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        self._show_summary()
        self.status.setText("Choose the local folder to see its folders.")

    # ---- values ----------------------------------------------------------------------

    def set_excluded(self, folders: list[str]) -> None:
        """Start from a pair's saved left-out folders."""
        self.selection = FolderSelection(folders)
        self._rebuild()

    def excluded_folders(self) -> list[str]:
        return self.selection.excluded_folders()

    def set_rules(self, rules: FilterRules) -> None:
        """The patterns in force (their left-out folders are greyed in the tree)."""
        self._rules = FilterRules(
            patterns=rules.patterns,
            use_defaults=rules.use_defaults,
            use_ignore_file=rules.use_ignore_file,
        )
        self._compile_rules()
        self._refresh_items()

    def set_source(
        self,
        root: Path | None,
        creds: Credentials | None,
        container: str | None,
        prefix: str = "",
    ) -> None:
        """Where the folders come from: the local folder and the pair's container path
        (None: not chosen yet). Lists the top level again when anything changed."""
        if (root, creds, container, prefix) == (
            self._root,
            self._creds,
            self._container,
            self._prefix,
        ):
            return
        self._root, self._creds, self._container, self._prefix = root, creds, container, prefix
        self._compile_rules()
        self._rebuild()

    def item(self, rel_folder: str) -> QTreeWidgetItem | None:
        """The tree's row of a folder, if shown."""
        return self._items.get(rel_folder)

    def is_loaded(self, rel_folder: str) -> bool:
        return rel_folder in self._loaded

    def showing(self, container: str | None, prefix: str = "") -> bool:
        """True once the top level is shown for this container and path (the dialog
        changes the source as fields settle; tests and screenshots wait for it)."""
        return (
            self._root is not None
            and (self._container, self._prefix) == (container, prefix)
            and "" in self._loaded
        )

    # ---- loading ----------------------------------------------------------------------

    def _rebuild(self) -> None:
        self._generation += 1
        self._updating = True
        self.tree.clear()
        self._updating = False
        self._items.clear()
        self._loaded.clear()
        self.remote_problem = None
        self._show_summary()
        if self._root is None:
            self.status.setText("Choose the local folder to see its folders.")
            return
        self.load("")

    def load(self, rel_folder: str) -> None:
        """List the folders inside ``rel_folder`` on both sides (off the GUI thread)."""
        root, creds, container, prefix = self._root, self._creds, self._container, self._prefix
        if root is None:
            return
        lister, generation = self._lister, self._generation

        def both() -> tuple[list[str], list[str] | None, BaseException | None]:
            local = local_folders(root, rel_folder)
            if creds is None or container is None:
                return local, None, None
            try:
                return local, lister(creds, container, prefix, rel_folder), None
            except BlobSyncError as exc:
                return local, None, exc

        if rel_folder == "":
            self.status.setText("Looking for folders …")
        run_in_background(
            both, lambda result, error: self._on_listed(generation, rel_folder, result, error), self
        )

    def _on_listed(
        self, generation: int, parent: str, result: Any, error: BaseException | None
    ) -> None:
        if generation != self._generation or parent in self._loaded:
            return
        if parent and parent not in self._items:
            return
        local: list[str] = []
        remote: list[str] | None = None
        if error is not None:
            self.remote_problem = describe_error(error)
        else:
            local, remote, remote_error = result
            if remote_error is not None:
                secret = self._creds.secret if self._creds else ""
                self.remote_problem = describe_error(remote_error, secret)
        self._loaded.add(parent)
        # Folders left out earlier stay visible (to be checked again) even when gone.
        saved = [f for f in self.selection.excluded_folders() if _parent_of(f) == parent]
        names = sorted({*local, *(remote or ()), *saved})
        self.selection.add_folders(parent, names)
        self._updating = True
        holder = self._items[parent] if parent else self.tree.invisibleRootItem()
        for index in reversed(range(holder.childCount())):
            child = holder.child(index)
            if child is not None and child.data(0, PATH_ROLE) is None:  # the "loading" placeholder
                holder.removeChild(child)
        local_set, remote_set = set(local), set(remote or ())
        for name in names:
            item = QTreeWidgetItem([name.rsplit("/", 1)[-1], ""])
            item.setData(0, PATH_ROLE, name)
            if remote is None:  # the container's side is not known
                where = "on this computer" if name in local_set else "not on this computer"
            else:
                where = _WHERE[(name in local_set, name in remote_set)]
            item.setData(1, PATH_ROLE, where)
            holder.addChild(item)
            self._items[name] = item
            item.addChild(QTreeWidgetItem(["…", ""]))  # expandable until listed
        self._updating = False
        self._refresh_items()
        self._show_status()
        self.loaded.emit(parent)
        # Show the way down to every saved left-out folder.
        for name in names:
            if any(f.startswith(name + "/") for f in self.selection.excluded_folders()):
                self._items[name].setExpanded(True)

    @Slot(QTreeWidgetItem)
    def _on_expanded(self, item: QTreeWidgetItem) -> None:
        rel = item.data(0, PATH_ROLE)
        if isinstance(rel, str) and rel not in self._loaded:
            self.load(rel)

    # ---- the boxes --------------------------------------------------------------------

    @Slot(QTreeWidgetItem, int)
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0:
            return
        rel = item.data(0, PATH_ROLE)
        if not isinstance(rel, str):
            return
        checked = item.checkState(0) != Qt.CheckState.Unchecked
        try:
            self.selection.set_checked(rel, checked)
        except ValueError:  # a parent not listed yet: keep what was there
            pass
        self._refresh_items()
        self.changed.emit()

    def _compile_rules(self) -> None:
        self._path_filter = None
        if self._root is not None:
            try:
                self._path_filter = local_path_filter(self._root, self._rules)
            except ConfigError:
                self._path_filter = None  # the patterns editor says what is wrong

    def _pattern_verdict(self, rel: str) -> str | None:
        verdict = self._path_filter.folder_excluded(rel) if self._path_filter else None
        if verdict is None or verdict.by is ExcludedBy.FOLDER:
            return None
        return verdict.pattern

    def _refresh_items(self) -> None:
        self._updating = True
        grey = QBrush(QColor("#8a8a8a"))
        for rel, item in self._items.items():
            pattern = self._pattern_verdict(rel)
            where = item.data(1, PATH_ROLE) or ""
            if pattern is not None:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(0, Qt.CheckState.Unchecked)
                item.setText(1, f"left out by the pattern {pattern}")
                item.setForeground(0, grey)
                item.setForeground(1, grey)
                item.setToolTip(0, "Change the patterns to sync this folder.")
            else:
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                item.setCheckState(0, _CHECK[self.selection.state(rel)])
                item.setText(1, where)
                item.setForeground(0, QBrush())
                item.setForeground(1, grey)
                item.setToolTip(0, rel)
        self._updating = False
        self._show_summary()

    def _show_summary(self) -> None:
        out = self.selection.excluded_folders()
        if not out:
            self.summary.setText("Every folder syncs.")
        elif len(out) <= 4:
            self.summary.setText(
                f"Left out: {len(out)} folder{'s' if len(out) != 1 else ''} ({', '.join(out)})."
            )
        else:
            self.summary.setText(f"Left out: {len(out)} folders ({', '.join(out[:3])}, …).")

    def _show_status(self) -> None:
        missing = self._root is not None and not self._root.is_dir()
        if missing and not self.remote_problem and self._container is not None:
            self.status.setStyleSheet(MUTED)
            self.status.setText(
                f"{_short(self._root)} does not exist yet (it is created when you save): "
                "these are the container's folders."
            )
        elif self.remote_problem:
            self.status.setStyleSheet("color: #b00020;")
            self.status.setText(f"The container's folders are not shown: {self.remote_problem}")
        elif self._container is None:
            self.status.setStyleSheet(MUTED)
            self.status.setText("The container's folders show once a container is chosen.")
        elif not self._items:
            self.status.setStyleSheet(MUTED)
            self.status.setText("No folders on either side yet.")
        else:
            where = self._container + (f"/{self._prefix.rstrip('/')}" if self._prefix else "")
            self.status.setStyleSheet(MUTED)
            self.status.setText(f"Folders on this computer and in {where}.")


def _short(path: Path | None) -> str:
    """``~/Music`` for a folder under the home folder, else the whole path."""
    if path is None:
        return ""
    home = Path.home()
    return f"~/{path.relative_to(home).as_posix()}" if path.is_relative_to(home) else str(path)


def _parent_of(rel_folder: str) -> str:
    cut = rel_folder.rfind("/")
    return rel_folder[:cut] if cut > 0 else ""
