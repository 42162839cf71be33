"""Choose the path inside a container that a pair syncs with, or a new one.

:class:`ContainerPathPicker` is the pair dialog's row: the path as text (empty: the whole
container), checked as you type (:func:`blobsync.core.names.prefix_problem`), and
*Browse…*, which opens :class:`PathPickerDialog`: the container's folders as a tree,
listed one level at a time on the service's side (a delimiter listing,
:func:`blobsync.core.app.selection.container_folders`) off the GUI thread, with *New
folder* to name one that does not exist yet. Blob storage has no empty folders: a new
path appears in the container with the pair's first sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.selection import container_folders
from blobsync.core.credentials import Credentials
from blobsync.core.names import normalize_prefix, prefix_problem

from ..qt_helpers import dialog_buttons, named
from .account_dialog import describe_error
from .background import run_in_background

#: (creds, container, path) -> the folders right under the path, as "a/b/" strings.
ContainerFolderLister = Callable[[Credentials, str, str], list[str]]

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
NEW_ROLE = Qt.ItemDataRole.UserRole + 2
ERROR = "color: #b00020;"
MUTED = "color: #555555;"


def shown_path(container: str, prefix: str) -> str:
    """``container/projects/x`` or ``container (the whole container)``."""
    return f"{container}/{prefix[:-1]}" if prefix else f"{container} (the whole container)"


class PathPickerDialog(QDialog):
    """The container's folders; ``chosen_path`` is the pick (normalised, "" = all)."""

    #: The folders under one path are shown ("" for the top); handy for tests.
    loaded = Signal(str)

    def __init__(
        self,
        creds: Credentials,
        container: str,
        current: str = "",
        parent: QWidget | None = None,
        *,
        lister: ContainerFolderLister = container_folders,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Choose a path in {container}")
        self._creds = creds
        self._container = container
        self._lister = lister
        self._items: dict[str, QTreeWidgetItem] = {}
        self._loaded: set[str] = set()
        self._wanted = normalize_prefix(current)
        self.chosen_path = self._wanted

        intro = QLabel(
            "Sync the folder with the whole container, or with the blobs under one path "
            "only; other pairs can use other paths of the same container."
        )
        intro.setWordWrap(True)
        self.tree = named(QTreeWidget(), "pathTree")
        self.tree.setHeaderHidden(True)
        self.tree.itemExpanded.connect(self._on_expanded)
        self.tree.currentItemChanged.connect(self._on_current_changed)
        top = QTreeWidgetItem([f"{container} (the whole container)"])
        top.setData(0, PATH_ROLE, "")
        bold = QFont(top.font(0))
        bold.setBold(True)
        top.setFont(0, bold)
        self.tree.addTopLevelItem(top)
        self._items[""] = top

        self.new_edit = named(QLineEdit(), "newPathEdit")
        self.new_edit.setPlaceholderText("New folder inside the selected one, e.g. laptop")
        self.new_button = named(QPushButton("New folder"), "newPathButton")
        self.new_button.clicked.connect(self._on_new_clicked)
        self.new_edit.returnPressed.connect(self._on_new_clicked)
        self.new_edit.textChanged.connect(self._on_new_text)
        new_row = QHBoxLayout()
        new_row.addWidget(self.new_edit, 1)
        new_row.addWidget(self.new_button)
        self.error = named(QLabel(), "pathError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR)
        self.status = named(QLabel(), "pathStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(MUTED)
        self.chosen_label = named(QLabel(), "chosenPath")
        self.chosen_label.setWordWrap(True)

        self.buttons = dialog_buttons(
            self, QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Choose")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addLayout(new_row)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.chosen_label)
        layout.addWidget(self.buttons)
        self.resize(480, 420)
        self.tree.setCurrentItem(top)
        self._on_new_text("")
        self.load("")

    # ---- listing ----------------------------------------------------------------------

    def load(self, path: str) -> None:
        """List the folders right under ``path`` (off the GUI thread)."""
        creds, container, lister = self._creds, self._container, self._lister
        self._say("Listing folders …")
        run_in_background(
            lambda: lister(creds, container, path),
            lambda result, error: self._on_listed(path, result, error),
            self,
        )

    def _on_listed(self, path: str, result: Any, error: BaseException | None) -> None:
        holder = self._items.get(path)
        if holder is None or path in self._loaded:
            return
        if error is not None:
            self._say(describe_error(error, self._creds.secret), ERROR)
            return
        self._loaded.add(path)
        for index in reversed(range(holder.childCount())):
            child = holder.child(index)
            if child is not None and child.data(0, PATH_ROLE) is None:
                holder.removeChild(child)
        for folder in sorted(str(f) for f in result):
            if folder in self._items or not folder.startswith(path):
                continue
            self._add_item(holder, folder, new=False)
        holder.setExpanded(True)
        if not path:
            self._say("" if result else "No folders in this container yet.")
        elif self.status.text() == "Listing folders …":
            self._say("")
        self.loaded.emit(path)
        self._follow_wanted()

    def _say(self, text: str, style: str = MUTED) -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _add_item(self, holder: QTreeWidgetItem, folder: str, new: bool) -> QTreeWidgetItem:
        name = folder[:-1].rsplit("/", 1)[-1]
        item = QTreeWidgetItem([f"{name}  (new)" if new else name])
        item.setData(0, PATH_ROLE, folder)
        item.setData(0, NEW_ROLE, new)
        if new:
            item.setToolTip(0, "It appears in the container with the first sync.")
        else:
            item.addChild(QTreeWidgetItem(["…"]))  # expandable until listed
        holder.addChild(item)
        self._items[folder] = item
        return item

    def _follow_wanted(self) -> None:
        """Open the way to the path the dialog started with."""
        wanted = self._wanted
        if not wanted:
            return
        parts = wanted[:-1].split("/")
        for n in range(1, len(parts) + 1):
            step = "/".join(parts[:n]) + "/"
            item = self._items.get(step)
            if item is None:
                parent = "/".join(parts[: n - 1]) + "/" if n > 1 else ""
                if parent in self._loaded:  # not in the container (yet): show it as new
                    item = self._add_item(self._items[parent], step, new=True)
                else:
                    return  # its parent is still being listed
            if step == wanted:
                self.tree.setCurrentItem(item)
                self._wanted = ""
                return
            if step not in self._loaded:
                item.setExpanded(True)  # lists it; we come back here when it is shown
                return

    @Slot(QTreeWidgetItem)
    def _on_expanded(self, item: QTreeWidgetItem) -> None:
        path = item.data(0, PATH_ROLE)
        if isinstance(path, str) and path not in self._loaded and not item.data(0, NEW_ROLE):
            self.load(path)

    # ---- choosing -----------------------------------------------------------------------

    def select_path(self, path: str) -> bool:
        """Select a shown folder; False if it is not shown."""
        item = self._items.get(normalize_prefix(path))
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        return True

    def selected_path(self) -> str:
        item = self.tree.currentItem()
        path = item.data(0, PATH_ROLE) if item is not None else ""
        return path if isinstance(path, str) else ""

    @Slot()
    def _on_current_changed(self, *_: object) -> None:
        self.chosen_label.setText(
            f"Syncs with: {shown_path(self._container, self.selected_path())}"
        )
        self._on_new_text(self.new_edit.text())

    def new_folder_problem(self, name: str) -> str | None:
        """Why ``name`` cannot be a new folder in the selected one ("" if nothing typed)."""
        name = name.strip()
        if not name:
            return ""
        if "/" in name:
            return "Type one folder name; make a folder inside it afterwards."
        path = self.selected_path() + name + "/"
        if path in self._items:
            return "A folder of this name is already there; select it."
        return prefix_problem(path)

    @Slot(str)
    def _on_new_text(self, text: str) -> None:
        problem = self.new_folder_problem(text)
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.new_button.setEnabled(problem is None)

    @Slot()
    def _on_new_clicked(self) -> None:
        self.add_folder(self.new_edit.text())

    def add_folder(self, name: str) -> bool:
        """Add a new folder inside the selected one and select it; False if refused."""
        if self.new_folder_problem(name) is not None:
            return False
        holder = self.tree.currentItem() or self._items[""]
        item = self._add_item(holder, self.selected_path() + name.strip() + "/", new=True)
        holder.setExpanded(True)
        self.tree.setCurrentItem(item)
        self.new_edit.clear()
        return True

    def accept(self) -> None:
        self.chosen_path = self.selected_path()
        super().accept()


class ContainerPathPicker(QWidget):
    """The pair dialog's "Path in container" row: text, checked as typed, and Browse."""

    #: The path changed (normalised; "" = the whole container).
    path_changed = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, lister: ContainerFolderLister = container_folders
    ) -> None:
        super().__init__(parent)
        self._lister = lister
        self._creds: Credentials | None = None
        self._container: str | None = None
        self.browser: PathPickerDialog | None = None

        self.edit = named(QLineEdit(), "containerPathEdit")
        self.edit.setPlaceholderText("the whole container, or a path such as projects/x")
        self.browse_button = named(QPushButton("Browse…"), "browsePathButton")
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.error = named(QLabel(), "containerPathError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR)
        self.error.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.edit.textChanged.connect(self._on_text_changed)
        self._update_enabled()

    def set_container(self, creds: Credentials | None, container: str | None) -> None:
        """Browse this container from now on (None: nothing to browse yet)."""
        self._creds, self._container = creds, container
        self._update_enabled()

    def path(self) -> str:
        """The typed path, normalised (``projects/x/``; "" = the whole container)."""
        return normalize_prefix(self.edit.text().strip())

    def set_path(self, prefix: str) -> None:
        self.edit.setText(normalize_prefix(prefix).rstrip("/"))

    def problem(self) -> str | None:
        """Why the typed path cannot be used, or None."""
        return prefix_problem(self.edit.text().strip())

    @Slot()
    def _on_browse_clicked(self) -> None:
        self.open_browser()

    def open_browser(self) -> PathPickerDialog | None:
        """Open the (window-modal, non-blocking) folder browser at the typed path."""
        if self._creds is None or self._container is None:
            return None
        start = self.path() if self.problem() is None else ""
        dialog = PathPickerDialog(self._creds, self._container, start, self, lister=self._lister)
        dialog.accepted.connect(self._on_browser_accepted)
        self.browser = dialog
        dialog.open()
        return dialog

    @Slot()
    def _on_browser_accepted(self) -> None:
        if self.browser is not None:
            self.set_path(self.browser.chosen_path)

    @Slot(str)
    def _on_text_changed(self, _text: str) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        if problem is None:
            self.path_changed.emit(self.path())

    def _update_enabled(self) -> None:
        self.browse_button.setEnabled(self._creds is not None and self._container is not None)
