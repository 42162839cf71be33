"""The list of folder pairs with per-pair actions (Sync now, Preview, Pause, Edit, Remove).

Running actions go straight to the controller; adding and editing need dialogs, so
they are signals the main window answers.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.status import PairState

from ..controller import Controller
from ..models.pairs_model import PairsModel


class PairsView(QWidget):
    """Table of pairs plus buttons acting on the selected one."""

    add_requested = Signal()
    edit_requested = Signal(str)
    remove_requested = Signal(str)
    locate_requested = Signal(str)  # the folder is missing: where did it go?
    review_requested = Signal(str)  # stopped for safety: open the deletion review
    open_folder_requested = Signal(str)
    selection_changed = Signal(str)  # pair_id, "" when none

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = PairsModel(controller)
        self.table = QTableView(self)
        self.table.setObjectName("pairsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self._emit_edit())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)

        self.add_button = self._button("A&dd folder…", "addPairButton", self.add_requested.emit)
        self.sync_button = self._button("Sync &now", "syncNowButton", self._sync_selected)
        self.preview_button = self._button("Pre&view", "previewButton", self.preview_selected)
        self.pause_button = self._button("Pa&use", "pausePairButton", self._toggle_pause)
        self.edit_button = self._button("Ed&it…", "editPairButton", self._emit_edit)
        self.remove_button = self._button("&Remove", "removePairButton", self._emit_remove)

        buttons = QHBoxLayout()
        for btn in (self.add_button, self.sync_button, self.preview_button, self.pause_button):
            buttons.addWidget(btn)
        buttons.addStretch(1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

        controller.pairs_changed.connect(self._after_reload)
        controller.pair_updated.connect(lambda _pid: self.update_buttons())
        controller.overview_changed.connect(lambda _ov: self.update_buttons())
        if self.model.rowCount() > 0:
            self.table.selectRow(0)
        self.update_buttons()

    def _button(self, text: str, name: str, slot: object) -> QPushButton:
        btn = QPushButton(text, self)
        btn.setObjectName(name)
        btn.clicked.connect(slot)
        return btn

    def selected_pair_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.pair_id_at(rows[0].row()) if rows else None

    def select_pair(self, pair_id: str) -> None:
        for row in range(self.model.rowCount()):
            if self.model.pair_id_at(row) == pair_id:
                self.table.selectRow(row)
                return

    def update_buttons(self) -> None:
        pair_id = self.selected_pair_id()
        pair = self.controller.pair(pair_id) if pair_id else None
        status = self.controller.status(pair_id) if pair_id else None
        busy = bool(status and status.syncing)
        globally_paused = self.controller.everything_paused()
        has = pair is not None
        self.sync_button.setEnabled(
            has
            and not busy
            and not globally_paused
            and not (pair and self.controller.is_paused(pair.pair_id))
        )
        self.preview_button.setEnabled(has and not busy)
        self.pause_button.setEnabled(has)
        self.pause_button.setText(
            "Res&ume" if pair and self.controller.is_paused(pair.pair_id) else "Pa&use"
        )
        self.edit_button.setEnabled(has and not busy)
        self.remove_button.setEnabled(has)

    def _after_reload(self) -> None:
        if self.selected_pair_id() is None and self.model.rowCount() > 0:
            self.table.selectRow(0)
        self.update_buttons()

    def _on_selection(self, *_args: object) -> None:
        self.update_buttons()
        self.selection_changed.emit(self.selected_pair_id() or "")

    def context_menu(self, pair_id: str) -> QMenu:
        """The right-click menu of a pair (what fits its state)."""
        ctl = self.controller
        state = ctl.pair_state(pair_id)
        status = ctl.status(pair_id)
        paused = ctl.is_paused(pair_id)
        menu = QMenu(self)

        def add(text: str, slot: Callable[[], object], enabled: bool = True) -> None:
            act = QAction(text, menu)
            act.setEnabled(enabled)
            act.triggered.connect(lambda _checked=False: slot())
            menu.addAction(act)

        if state is PairState.MISSING:
            add("&Locate the folder…", lambda: self.locate_requested.emit(pair_id))
        if state is PairState.REVIEW:
            add("Review &deletions…", lambda: self.review_requested.emit(pair_id))
        add(
            "Sync &now",
            lambda: ctl.sync_now(pair_id),
            not status.syncing and not paused and not ctl.everything_paused(),
        )
        add("Pre&view", lambda: ctl.preview(pair_id), not status.syncing)
        add(
            "Res&ume" if paused else "Pa&use",
            lambda: ctl.set_pair_paused(pair_id, not paused),
        )
        menu.addSeparator()
        add(
            "&Open folder",
            lambda: self.open_folder_requested.emit(pair_id),
            state is not PairState.MISSING,
        )
        add("Ed&it…", lambda: self.edit_requested.emit(pair_id), not status.syncing)
        add("&Remove…", lambda: self.remove_requested.emit(pair_id))
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        pair_id = self.model.pair_id_at(index.row()) if index.isValid() else None
        if pair_id is None:
            return
        self.select_pair(pair_id)
        self.context_menu(pair_id).popup(self.table.viewport().mapToGlobal(pos))

    def _sync_selected(self) -> None:
        pair_id = self.selected_pair_id()
        if pair_id:
            self.controller.sync_now(pair_id)

    def preview_selected(self) -> None:
        pair_id = self.selected_pair_id()
        if pair_id:
            self.controller.preview(pair_id)

    def _toggle_pause(self) -> None:
        pair_id = self.selected_pair_id()
        pair = self.controller.pair(pair_id) if pair_id else None
        if pair_id and pair is not None:
            self.controller.set_pair_paused(pair_id, not self.controller.is_paused(pair_id))
            self.update_buttons()

    def _emit_edit(self) -> None:
        pair_id = self.selected_pair_id()
        if pair_id:
            self.edit_requested.emit(pair_id)

    def _emit_remove(self) -> None:
        pair_id = self.selected_pair_id()
        if pair_id:
            self.remove_requested.emit(pair_id)
