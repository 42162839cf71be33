"""The pair dialog's "What syncs" part: the selective-sync tree of folders and the
patterns editor side by side in two tabs, kept consistent with each other (folders a
pattern leaves out are greyed in the tree; the patterns' live count includes the
folders unchecked in the tree), with the engine's two promises said in words.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from blobsync.core.app.selection import pair_folders
from blobsync.core.app.settings import PairConfig
from blobsync.core.credentials import Credentials

from ..qt_helpers import named
from .patterns_editor import PatternsEditor
from .selective_sync import PairFolderLister, SelectiveSyncTree

PROMISE = (
    "Changes here apply from the next sync. Leaving a folder or file out never deletes "
    "it, on either side; bringing it back never overwrites anything: where the two sides "
    "differ, both versions are kept."
)


class PairFilters(QWidget):
    """Folders (selective sync) and patterns of one pair."""

    #: Something the user chose changed.
    changed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, lister: PairFolderLister = pair_folders
    ) -> None:
        super().__init__(parent)
        self._root: Path | None = None
        self._remote: tuple[Credentials | None, str | None, str] = (None, None, "")
        self.tree = SelectiveSyncTree(self, lister=lister)
        self.editor = PatternsEditor(self)
        self.tabs = named(QTabWidget(), "filterTabs")
        self.tabs.addTab(self.tree, "Folders")
        self.tabs.addTab(self.editor, "Patterns")
        self.promise = named(QLabel(PROMISE), "filterPromise")
        self.promise.setWordWrap(True)
        self.promise.setStyleSheet("color: #555555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.promise)
        self.editor.changed.connect(self._on_patterns_changed)
        self.tree.changed.connect(self._on_folders_changed)

    def load(self, pair: PairConfig | None) -> None:
        """Show a pair's saved choices (None: a new pair's defaults)."""
        if pair is None:
            return
        self.editor.set_rules(list(pair.patterns), pair.use_defaults)
        self.tree.set_excluded(list(pair.excluded_folders))
        self.editor.set_excluded_folders(self.tree.excluded_folders())
        self.tree.set_rules(self.editor.rules())

    def set_local_root(self, root: Path | None) -> None:
        """The local folder (None: not chosen, or not a folder yet)."""
        self._root = root
        self.editor.set_root(root)
        self.tree.set_source(root, *self._remote)

    def set_remote(self, creds: Credentials | None, container: str | None, prefix: str) -> None:
        """The pair's container and path (None: not chosen yet)."""
        self._remote = (creds, container, prefix)
        self.tree.set_source(self._root, creds, container, prefix)

    def patterns(self) -> list[str]:
        return self.editor.patterns()

    def use_defaults(self) -> bool:
        return self.editor.use_defaults()

    def excluded_folders(self) -> list[str]:
        return self.tree.excluded_folders()

    def problem(self) -> str | None:
        return self.editor.problem()

    @Slot()
    def _on_patterns_changed(self) -> None:
        self.tree.set_rules(self.editor.rules())
        self.changed.emit()

    @Slot()
    def _on_folders_changed(self) -> None:
        self.editor.set_excluded_folders(self.tree.excluded_folders())
        self.changed.emit()
