"""The Activity view: what BlobSync changed, in every pair, newest first, and who did it.

Columns When, Pair, What, Path, Size; filters by pair, by kind (the shared
``KIND_GROUPS``: uploads, downloads, deletions, ...) and by a text found in the path or
the machine name. The history is read off the GUI thread
(:class:`~..models.activity_model.HistoryLoader`), again after every finished sync,
restore or undo and on F5 (the controller's ``history_changed``).

Double-click opens the file (or, when it is gone, the folder it was in); the context
menu has *Open*, *Show in folder*, *Restore previous version…* (a
:class:`~..widgets.recovery_dialogs.VersionsDialog` listing what both recycle bins
keep) and *Undo this sync…* (an :class:`~..widgets.recovery_dialogs.UndoDialog` that
shows a dry run's answer first). Restore and undo run on the pair's engine thread
through the controller; their outcome comes back through ``Controller.recovery`` and
is shown on the view's status line (and as a notification).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.recovery import PairChange, change_words, recovery_words, when_words

from ..bridge import JobKind, RecoveryOutcome
from ..controller import Controller
from ..models.activity_model import (
    KIND_CHOICES,
    ActivityModel,
    ActivityQuery,
    HistoryLoader,
    pair_label,
)
from ..qt_helpers import named
from ..widgets.recovery_dialogs import UndoDialog, VersionsDialog

#: Opens a file or folder: (path, what it is in words) -> False when nothing could.
Opener = Callable[[str, str], bool]


def open_with_desktop(path: str, _what: str) -> bool:
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(path)))


def existing_folder(path: Path, root: str) -> str:
    """The folder that holds ``path`` or, when it is gone, the nearest one that still
    exists (never above the pair's folder)."""
    folder = str(path.parent)
    while not os.path.isdir(folder) and len(folder) > len(root):
        folder = os.path.dirname(folder)
    return os.path.normpath(folder)


class ActivityView(QWidget):
    """Recent changes with their filters and the recovery actions."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = ActivityModel(self)
        self.loader = HistoryLoader(controller.history, self)
        self.loader.loaded.connect(self._on_loaded)
        self._run_loader = HistoryLoader(controller.history, self)
        self._run_loader.loaded.connect(self._on_run_loaded)
        #: Opens a file or folder; the main window puts its own (a banner when none can).
        self.opener: Opener = open_with_desktop
        self.versions_dialog: VersionsDialog | None = None
        self.undo_dialog: UndoDialog | None = None
        self.menu: QMenu | None = None  # the last context menu (tests drive it)
        self._versions_for: tuple[str, str] | None = None  # (pair_id, rel_path)
        self._undo_for: tuple[str, str] | None = None  # (pair_id, run_id)
        self._shown = 0  # the request whose answer is on screen

        self.pair_combo = named(QComboBox(), "activityPairCombo")
        self.pair_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.kind_combo = named(QComboBox(), "activityKindCombo")
        for label, group in KIND_CHOICES:
            self.kind_combo.addItem(label, group)
        self.filter_edit = named(QLineEdit(), "activityFilterEdit")
        self.filter_edit.setPlaceholderText("Find a path or a machine…")
        self.filter_edit.setClearButtonEnabled(True)
        self.summary = named(QLabel(), "activitySummary")
        self.status = named(QLabel(), "activityStatus")
        self.status.setWordWrap(True)
        self.status.hide()

        self.table = named(QTableView(), "activityTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(ActivityModel.WHEN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ActivityModel.PAIR, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ActivityModel.WHAT, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ActivityModel.PATH, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ActivityModel.SIZE, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(ActivityModel.WHAT, 320)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Pair:"))
        filters.addWidget(self.pair_combo)
        filters.addWidget(QLabel("Show:"))
        filters.addWidget(self.kind_combo)
        filters.addWidget(self.filter_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

        # Typing, a finished sync, several pairs finishing together: one read.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.reload)
        self._fill_pairs()
        self.pair_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.filter_edit.textChanged.connect(lambda _t: self._timer.start())
        controller.history_changed.connect(self._timer.start)
        controller.pairs_changed.connect(self._on_pairs_changed)
        controller.recovery.connect(self._on_recovery)
        self.reload()

    # ---- reading -------------------------------------------------------------------

    def query(self) -> ActivityQuery:
        """What the filters ask for."""
        return ActivityQuery(
            pair_id=self.pair_combo.currentData(),
            group=self.kind_combo.currentData(),
            text=self.filter_edit.text().strip(),
        )

    def refresh(self) -> None:
        """Read again soon (coalesces bursts)."""
        self._timer.start()

    def reload(self) -> None:
        """Read the history now (answered on the GUI thread a moment later)."""
        self._timer.stop()
        self.loader.load(self.query())

    @property
    def loading(self) -> bool:
        return self._timer.isActive() or not self.loader.idle

    def _on_loaded(self, number: int, rows: object) -> None:
        if number < self._shown or not isinstance(rows, list):
            return  # an older request answered late
        self._shown = number
        keep = self.selected_row()
        self.model.set_rows(rows)
        if keep is not None:
            for row, item in enumerate(self.model.rows()):
                if item.change.id == keep.change.id:
                    self.table.selectRow(row)
                    break
        self._say_summary()

    def _say_summary(self) -> None:
        count = self.model.rowCount()
        query = self.query()
        filtered = query.pair_id is not None or query.group is not None or bool(query.text)
        if count == 0:
            self.summary.setText(
                "No change matches these filters."
                if filtered
                else "No changes yet: what BlobSync uploads, downloads, deletes or restores "
                "shows up here."
            )
        else:
            more = " (the newest)" if count >= query.limit else ""
            self.summary.setText(
                f"{count:,} change{'s' if count != 1 else ''}{more}, newest first. "
                "Double-click to open; right-click to restore a previous version or undo a sync."
            )

    def _fill_pairs(self) -> None:
        current = self.pair_combo.currentData()
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        self.pair_combo.addItem("All pairs", None)
        for pair in self.controller.pairs():
            self.pair_combo.addItem(pair_label(pair), pair.pair_id)
        index = self.pair_combo.findData(current) if current is not None else 0
        self.pair_combo.setCurrentIndex(max(index, 0))
        self.pair_combo.blockSignals(False)

    def _on_pairs_changed(self) -> None:
        self._fill_pairs()
        self.refresh()

    # ---- selection and actions -----------------------------------------------------

    def selected_row(self) -> PairChange | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= self.model.rowCount():
            return None
        return self.model.row_at(rows[0].row())

    def select_path(self, rel_path: str) -> bool:
        """Select the newest change of ``rel_path`` (tests, the tray)."""
        for row, item in enumerate(self.model.rows()):
            if item.change.rel_path == rel_path:
                self.table.selectRow(row)
                return True
        return False

    def open_selected(self) -> bool:
        """Open the selected file; when it is gone, the folder it was in."""
        row = self.selected_row()
        path = row.local_path() if row is not None else None
        if row is None or path is None or row.pair is None:
            return self._say("This pair is not synced any more: nothing to open.")
        if path.is_file():
            return self.opener(str(path), path.name)
        folder = existing_folder(path, row.pair.local_root)
        self._say(f"{row.change.rel_path} is not in the folder now; opened the folder it was in.")
        return self.opener(folder, f"the folder of {path.name}")

    def show_selected_in_folder(self) -> bool:
        row = self.selected_row()
        path = row.local_path() if row is not None else None
        if row is None or path is None or row.pair is None:
            return self._say("This pair is not synced any more: no folder to show.")
        return self.opener(existing_folder(path, row.pair.local_root), f"the folder of {path.name}")

    def restore_selected(self) -> VersionsDialog | None:
        """Ask which previous version of the selected file to put back (non-blocking);
        the versions arrive from the pair's engine thread."""
        row = self.selected_row()
        if row is None or row.pair is None:
            return None
        pair_id, rel_path = row.pair.pair_id, row.change.rel_path
        dialog = VersionsDialog(pair_label(row.pair), rel_path, self)
        self.versions_dialog = dialog
        self._versions_for = (pair_id, rel_path)
        if not self.controller.versions(pair_id, rel_path):
            dialog.set_failure("this pair is not running.")

        def chosen() -> None:
            number = dialog.number
            if number is None:
                return
            if self.controller.restore(pair_id, rel_path, number):
                self._say(f"Restoring {rel_path}…")
            else:
                self._say(self.controller.recovery_problem(pair_id) or "Nothing was restored.")

        dialog.accepted.connect(chosen)
        dialog.open()
        return dialog

    def undo_selected(self) -> UndoDialog | None:
        """Confirm undoing the run of the selected change: its changes, then a dry
        run's answer; undo on Yes (non-blocking)."""
        row = self.selected_row()
        if row is None or row.pair is None:
            return None
        pair_id, run_id = row.pair.pair_id, row.change.run_id
        same_run = [r for r in self.model.rows() if r.change.run_id == run_id]
        dialog = UndoDialog(
            f"Undo what BlobSync did at {when_words(row.change.time)} in {pair_label(row.pair)}?",
            [_change_line(r) for r in same_run],
            self,
        )
        self.undo_dialog = dialog
        self._undo_for = (pair_id, run_id)
        self._run_loader.load(ActivityQuery(pair_id=pair_id, run_id=run_id))
        if not self.controller.undo(pair_id, run_id, dry_run=True):
            dialog.set_failure("this pair is not running.")

        def confirmed() -> None:
            if self.controller.undo(pair_id, run_id):
                self._say("Undoing the sync…")
            else:
                self._say(self.controller.recovery_problem(pair_id) or "Nothing was undone.")

        dialog.accepted.connect(confirmed)
        dialog.open()
        return dialog

    def context_menu(self) -> QMenu:
        """Open / Show in folder / Restore previous version… / Undo this sync… for
        the selected change."""
        row = self.selected_row()
        usable = row is not None and row.pair is not None
        menu = named(QMenu(self), "activityContextMenu")
        entries: list[tuple[str, Callable[[], object]]] = [
            ("&Open", self.open_selected),
            ("Show in &folder", self.show_selected_in_folder),
            ("&Restore previous version…", self.restore_selected),
            ("&Undo this sync…", self.undo_selected),
        ]
        for number, (text, slot) in enumerate(entries):
            if number == 2:
                menu.addSeparator()
            act = QAction(text, menu)
            act.setEnabled(usable)
            act.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(act)
        self.menu = menu
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        self.context_menu().popup(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, _index: QModelIndex) -> None:
        self.open_selected()

    # ---- answers from the engine thread --------------------------------------------

    def _on_run_loaded(self, _number: int, rows: object) -> None:
        if self.undo_dialog is not None and isinstance(rows, list) and rows:
            self.undo_dialog.set_changes([_change_line(r) for r in rows])

    def _on_recovery(self, pair_id: str, outcome: RecoveryOutcome) -> None:
        if outcome.kind is JobKind.VERSIONS:
            dialog = self.versions_dialog
            if dialog is not None and self._versions_for == (pair_id, outcome.subject):
                if outcome.failure is not None:
                    dialog.set_failure(outcome.failure.message)
                else:
                    dialog.set_versions(outcome.versions or [])
            return
        if outcome.kind is JobKind.UNDO and outcome.dry_run:
            undo = self.undo_dialog
            if undo is not None and self._undo_for == (pair_id, outcome.subject):
                if outcome.failure is not None:
                    undo.set_failure(outcome.failure.message)
                elif outcome.result is not None:
                    undo.set_preview(outcome.result)
            return
        restoring = outcome.kind is JobKind.RESTORE
        what = f"Restored {outcome.subject}" if restoring else "Undone"
        if outcome.failure is not None:
            verb = "restore" if restoring else "undo the sync"
            self._say(f"Could not {verb}: {outcome.failure.message}")
        elif outcome.result is not None:
            lines = recovery_words(outcome.result, "restore" if restoring else "undo")
            self._say(f"{what}: " + "; ".join(lines))

    def _say(self, text: str) -> bool:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        return False


def _change_line(row: PairChange) -> str:
    return f"{row.change.rel_path} — {change_words(row.change)}"
