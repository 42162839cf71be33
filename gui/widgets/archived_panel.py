"""Blobs archived in the container, shown as their own state with a *Rehydrate* action.

An Archive-tier blob cannot be read or overwritten, so the engine never tries (it is
not an issue, and not retried every run): the pair's last sync lists it, and this panel
shows it as "archived in the container — not synced" under the issues list. *Rehydrate*
(button or context menu) asks Azure to bring it back to Hot or Cool, at standard
priority (up to 15 hours) or high (about an hour), through the application layer
(:meth:`~blobsync.core.app.service.AppService.rehydrate`) off the GUI thread; the pair
then syncs again, and downloads the blob once it is readable.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.service import AppService
from blobsync.core.errors import BlobSyncError
from blobsync.core.models import AccessTier, ArchivedBlob, RehydratePriority

from ..qt_helpers import named
from .background import run_in_background

ARCHIVED_WORDS = "Archived in the container — not synced"

#: The Rehydrate choices, in menu order.
REHYDRATE_CHOICES = (
    (AccessTier.HOT, RehydratePriority.STANDARD, "To Hot, standard priority (up to 15 hours)"),
    (AccessTier.HOT, RehydratePriority.HIGH, "To Hot, high priority (about an hour)"),
    (AccessTier.COOL, RehydratePriority.STANDARD, "To Cool, standard priority (up to 15 hours)"),
    (AccessTier.COOL, RehydratePriority.HIGH, "To Cool, high priority (about an hour)"),
)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - the loop returns


class ArchivedPanel(QWidget):
    """The archived blobs of every pair, with Rehydrate.

    ``rehydrated(pair_id)`` after a request was accepted (the caller syncs the pair).
    """

    rehydrated = Signal(str)
    COLUMNS = ("Item", "Size", "State", "Folder")

    def __init__(
        self,
        service: AppService,
        parent: QWidget | None = None,
        *,
        label_of: Callable[[str], str] = lambda pair_id: pair_id,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._label_of = label_of
        self._by_pair: dict[str, list[ArchivedBlob]] = {}
        self._requested: dict[tuple[str, str], str] = {}  # (pair, item) -> words
        self._rows: list[tuple[str, ArchivedBlob]] = []

        self.title = named(QLabel(), "archivedTitle")
        self.table = named(QTableWidget(0, len(self.COLUMNS)), "archivedTable")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(False)
        self.table.setColumnWidth(0, 220)
        self.table.setMaximumHeight(150)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.itemSelectionChanged.connect(self._update_button)
        self.rehydrate_button = named(QPushButton("Rehydrate…"), "rehydrateButton")
        self.rehydrate_button.setToolTip("Bring the selected blobs back from the Archive tier")
        self.rehydrate_button.setMenu(self._rehydrate_menu(self.rehydrate_button))
        self.status = named(QLabel(), "archivedStatus")
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.rehydrate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self._rebuild()

    # ---- feeding -------------------------------------------------------------------

    def set_blobs(self, pair_id: str, blobs: list[ArchivedBlob]) -> None:
        """The archived blobs of one pair, as its last sync saw them."""
        if blobs:
            self._by_pair[pair_id] = list(blobs)
        else:
            self._by_pair.pop(pair_id, None)
        still = {(pair_id, b.rel_path) for b in blobs}
        self._requested = {
            key: words
            for key, words in self._requested.items()
            if key[0] != pair_id or (key in still and not self._listed_rehydrating(key))
        }
        self._rebuild()

    def remove_pair(self, pair_id: str) -> None:
        self.set_blobs(pair_id, [])

    def rows(self) -> list[tuple[str, ArchivedBlob]]:
        return list(self._rows)

    def state_words(self, pair_id: str, blob: ArchivedBlob) -> str:
        """What the State column says for one blob."""
        asked = self._requested.get((pair_id, blob.rel_path))
        if asked:
            return asked
        if blob.rehydrating_to is not None:
            return f"Rehydrating to {blob.rehydrating_to.value} — not synced yet"
        return ARCHIVED_WORDS

    def _listed_rehydrating(self, key: tuple[str, str]) -> bool:
        return any(
            b.rel_path == key[1] and b.rehydrating_to is not None
            for b in self._by_pair.get(key[0], [])
        )

    def _rebuild(self) -> None:
        selected = {self._rows[i.row()] for i in self.table.selectionModel().selectedRows()}
        selected_keys = {(p, b.rel_path) for p, b in selected}
        self._rows = [(p, b) for p, blobs in self._by_pair.items() for b in blobs]
        self.table.setRowCount(len(self._rows))
        for row, (pair_id, blob) in enumerate(self._rows):
            cells = (
                blob.rel_path,
                _human(blob.size),
                self.state_words(pair_id, blob),
                self._label_of(pair_id),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{blob.rel_path}\n{self.state_words(pair_id, blob)}")
                self.table.setItem(row, col, item)
            if (pair_id, blob.rel_path) in selected_keys:
                self.table.selectRow(row)
        count = len(self._rows)
        self.title.setText(
            f"<b>{ARCHIVED_WORDS}</b> ({count} blob{'s' if count != 1 else ''}): "
            "BlobSync does not download or overwrite them until they are rehydrated."
        )
        self.setVisible(count > 0)
        self._update_button()

    # ---- rehydrate -----------------------------------------------------------------

    def selected(self) -> list[tuple[str, ArchivedBlob]]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self._rows[r] for r in rows if r < len(self._rows)]

    def select_rel_paths(self, rel_paths: list[str]) -> None:
        self.table.clearSelection()
        for row, (_pair, blob) in enumerate(self._rows):
            if blob.rel_path in rel_paths:
                self.table.selectRow(row)

    def rehydrate(
        self, items: list[tuple[str, ArchivedBlob]], tier: AccessTier, priority: RehydratePriority
    ) -> None:
        """Ask for each blob off the GUI thread; the rows say what was asked."""
        for pair_id, blob in items:
            self._ask(pair_id, blob.rel_path, tier, priority)
        self._rebuild()

    def _ask(
        self, pair_id: str, rel_path: str, tier: AccessTier, priority: RehydratePriority
    ) -> None:
        pair = self.service.pair(pair_id)
        if pair is None:
            return
        service = self.service
        self._requested[(pair_id, rel_path)] = f"Asking to rehydrate to {tier.value} …"

        def done(_result: object, error: BaseException | None) -> None:
            self._on_done(pair_id, rel_path, tier, priority, error)

        run_in_background(lambda: service.rehydrate(pair, rel_path, tier, priority), done, self)

    def _on_done(
        self,
        pair_id: str,
        rel_path: str,
        tier: AccessTier,
        priority: RehydratePriority,
        error: BaseException | None,
    ) -> None:
        key = (pair_id, rel_path)
        if error is None:
            wait = "about an hour" if priority is RehydratePriority.HIGH else "up to 15 hours"
            self._requested[key] = f"Rehydration to {tier.value} requested ({wait})"
            self.status.setText(
                f"Asked Azure to bring {rel_path} back to {tier.value}; it syncs once readable."
            )
            self.status.setStyleSheet("color: #1b7f3b;")
            self._rebuild()
            self.rehydrated.emit(pair_id)
            return
        self._requested.pop(key, None)
        words = error.message if isinstance(error, BlobSyncError) else "unexpected error"
        self.status.setText(f"Could not rehydrate {rel_path}: {words}")
        self.status.setStyleSheet("color: #b00020;")
        self._rebuild()

    def _rehydrate_menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.setObjectName("rehydrateMenu")
        for tier, priority, text in REHYDRATE_CHOICES:
            action = menu.addAction(text)
            action.triggered.connect(
                lambda _=False, t=tier, p=priority: self.rehydrate(self.selected(), t, p)
            )
        return menu

    def _on_context_menu(self, where: QPoint) -> None:
        if not self.selected():
            return
        menu = QMenu(self)
        sub = menu.addMenu("Rehydrate")
        for tier, priority, text in REHYDRATE_CHOICES:
            action = sub.addAction(text)
            action.triggered.connect(
                lambda _=False, t=tier, p=priority: self.rehydrate(self.selected(), t, p)
            )
        menu.popup(self.table.viewport().mapToGlobal(where))
        self.context_menu = menu  # kept for tests

    def _update_button(self) -> None:
        self.rehydrate_button.setEnabled(bool(self.selected()))
