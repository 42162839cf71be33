"""Progress of the running sync: overall files and bytes, speed, ETA, current transfers,
running counts, and Cancel.

It renders :class:`~blobsync.core.app.progress.ProgressSnapshot` objects, which the bridge sends
at most 10 times a second, so the cost does not grow with the number of files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.progress import ProgressSnapshot, human_bytes
from blobsync.core.models import ActionKind

from ..controller import Controller

KIND_WORDS = {
    ActionKind.UPLOAD: "Uploading",
    ActionKind.DOWNLOAD: "Downloading",
    ActionKind.DELETE_LOCAL: "Deleting (local)",
    ActionKind.DELETE_REMOTE: "Deleting (remote)",
    ActionKind.CONFLICT: "Keeping both",
}


def human_duration(seconds: float) -> str:
    """75 -> '1 min 15 s'."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class _BarDelegate(QStyledItemDelegate):
    """Draws the Progress column as a small progress bar (percentage in UserRole)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: object) -> None:
        pct = index.data(Qt.ItemDataRole.UserRole)  # type: ignore[attr-defined]
        if not isinstance(pct, int):
            super().paint(painter, option, index)  # type: ignore[arg-type]
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum, bar.progress = 0, 100, pct
        bar.text = index.data(Qt.ItemDataRole.DisplayRole)  # type: ignore[attr-defined]
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class ProgressView(QWidget):
    """Shows one pair's progress: the pair that is syncing (or last synced)."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.pair_id: str | None = None
        self.last_snapshot: ProgressSnapshot | None = None

        self.title = QLabel("Nothing running", self)
        self.title.setObjectName("progressTitle")
        self.bar = QProgressBar(self)
        self.bar.setObjectName("overallBar")
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.bytes_label = QLabel("", self)
        self.bytes_label.setObjectName("bytesLabel")
        self.speed_label = QLabel("", self)
        self.speed_label.setObjectName("speedLabel")
        self.counts_label = QLabel("", self)
        self.counts_label.setObjectName("countsLabel")
        self.cancel_button = QPushButton("&Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel)

        self.transfers = QTableWidget(0, 3, self)
        self.transfers.setObjectName("transfersTable")
        self.transfers.setHorizontalHeaderLabels(["File", "Action", "Progress"])
        self.transfers.verticalHeader().hide()
        self.transfers.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.transfers.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.transfers.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 180)
        self._bar_delegate = _BarDelegate(self.transfers)
        self.transfers.setItemDelegateForColumn(2, self._bar_delegate)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel_button)
        figures = QHBoxLayout()
        figures.addWidget(self.bytes_label, 1)
        figures.addWidget(self.speed_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addLayout(figures)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.transfers, 1)

        controller.progress.connect(self._on_progress)
        controller.pair_updated.connect(self._on_pair_updated)
        controller.pairs_changed.connect(self._on_pairs_changed)

    # ---- following a pair -----------------------------------------------------------

    def show_pair(self, pair_id: str | None) -> None:
        """Show this pair's latest figures."""
        self.pair_id = pair_id or None
        snap = self.controller.status(pair_id).progress if pair_id else None
        self.show_snapshot(snap)

    def _on_progress(self, pair_id: str, snapshot: ProgressSnapshot) -> None:
        current_running = self.pair_id is not None and self.controller.status(self.pair_id).syncing
        if pair_id != self.pair_id and current_running:
            return  # keep showing the run the user is watching
        self.pair_id = pair_id
        self.show_snapshot(snapshot)

    def _on_pair_updated(self, pair_id: str) -> None:
        if pair_id == self.pair_id:
            self._update_cancel()

    def _on_pairs_changed(self) -> None:
        if self.pair_id and self.controller.pair(self.pair_id) is None:
            self.show_pair(None)

    def _update_cancel(self) -> None:
        running = bool(self.pair_id and self.controller.status(self.pair_id).syncing)
        self.cancel_button.setEnabled(running)

    def _cancel(self) -> None:
        if self.pair_id:
            self.controller.cancel(self.pair_id)
            self.cancel_button.setEnabled(False)
            self.title.setText(self.title.text() + " — cancelling…")

    # ---- drawing --------------------------------------------------------------------

    def show_snapshot(self, snap: ProgressSnapshot | None) -> None:
        """Draw one snapshot (None clears the view)."""
        self.last_snapshot = snap
        self._update_cancel()
        pair = self.controller.pair(self.pair_id) if self.pair_id else None
        if snap is None or pair is None:
            self.title.setText("Nothing running")
            self.bar.setValue(0)
            for label in (self.bytes_label, self.speed_label, self.counts_label):
                label.setText("")
            self.transfers.setRowCount(0)
            return
        name = f"{Path(pair.local_root).name} ↔ {pair.container}"
        if snap.running:
            what = "Preview of" if snap.dry_run else "Syncing"
            self.title.setText(f"{what} {name} — {snap.phase_words}")
        elif snap.dry_run:
            self.title.setText(f"Preview of {name}: done")
        elif snap.cancelled:
            self.title.setText(f"Last sync of {name}: stopped before the end")
        elif snap.failed:
            self.title.setText(f"Last sync of {name}: failed")
        else:
            self.title.setText(f"Last sync of {name}: done")
        if snap.bytes_total > 0:
            fraction = snap.bytes_done / snap.bytes_total
        elif snap.files_total > 0:
            fraction = snap.files_done / snap.files_total
        else:
            fraction = 0.0 if snap.running else 1.0
        self.bar.setValue(round(1000 * min(fraction, 1.0)))
        # The percent is of the bytes when there are bytes to move: say so, and give the
        # file count beside it, not as if it were the same measure.
        if snap.bytes_total > 0:
            self.bar.setFormat(f"%p% of the data — {snap.files_words}")
        elif snap.files_total == 0 and not snap.running:
            self.bar.setFormat("Nothing needed changing")
        else:
            self.bar.setFormat(snap.files_words)
        self.bytes_label.setText(snap.bytes_words)
        if snap.running and snap.speed_bps > 0:
            eta = f", {human_duration(snap.eta_s)} left" if snap.eta_s is not None else ""
            self.speed_label.setText(f"{human_bytes(snap.speed_bps)}/s{eta}")
        else:
            self.speed_label.setText(f"elapsed {human_duration(snap.elapsed_s)}")
        self.counts_label.setText(
            f"Uploaded {snap.uploaded:,} · Downloaded {snap.downloaded:,} · "
            f"Deleted {snap.deleted:,} · Skipped {snap.skipped:,} · Conflicts {snap.conflicts:,}"
        )
        self.counts_label.setToolTip(
            "What this run has done so far: files uploaded to the container, downloaded "
            "into the folder, deleted on either side, skipped (see Issues) and kept "
            "twice because both sides changed (conflicts)."
        )
        self._render_transfers(snap)

    def _render_transfers(self, snap: ProgressSnapshot) -> None:
        rows = snap.transfers[:50]
        self.transfers.setRowCount(len(rows))
        for row, transfer in enumerate(rows):
            pct = 100 * transfer.bytes_done // transfer.size if transfer.size else 0
            values = (
                transfer.rel_path,
                KIND_WORDS.get(transfer.kind, transfer.kind.value),
                f"{pct}% of {human_bytes(transfer.size)}",
            )
            for col, text in enumerate(values):
                item = self.transfers.item(row, col)
                if item is None:
                    item = QTableWidgetItem(text)
                    self.transfers.setItem(row, col, item)
                elif item.text() != text:
                    item.setText(text)
                if col == 2 and item.data(Qt.ItemDataRole.UserRole) != pct:
                    item.setData(Qt.ItemDataRole.UserRole, int(pct))
