"""Table model of the folder pairs: folder, container, mode, state, last sync, counts.

Reads from the :class:`~blobsync.gui.controller.Controller` and refreshes a single row
when that pair's status changes (no full reset per progress tick).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from blobsync.core.app.beacon import BeaconView
from blobsync.core.app.expiry import expiry_words
from blobsync.core.app.status import PairState, plural
from blobsync.core.credentials import SecretKind
from blobsync.core.events import BeaconNotice
from blobsync.core.models import SyncMode

from ..controller import Controller
from ..icons import load_icon
from ..tray import ICON_NAMES, format_time

MODE_WORDS = {
    SyncMode.TWO_WAY: "Two-way",
    SyncMode.UPLOAD: "Upload only",
    SyncMode.DOWNLOAD: "Download only",
}

COLUMNS = ("Folder", "Container", "Mode", "State", "Last sync", "Activity")
PAIR_ID_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class PairsModel(QAbstractTableModel):
    """One row per configured pair."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.controller = controller
        self._ids = [p.pair_id for p in controller.pairs()]
        controller.pairs_changed.connect(self.reload)
        controller.pair_updated.connect(self.refresh_pair)

    def reload(self) -> None:
        self.beginResetModel()
        self._ids = [p.pair_id for p in self.controller.pairs()]
        self.endResetModel()

    def refresh_pair(self, pair_id: str) -> None:
        if pair_id in self._ids:
            row = self._ids.index(pair_id)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def pair_id_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        pair_id = self._ids[index.row()]
        pair = self.controller.pair(pair_id)
        if pair is None:
            return None
        if role == PAIR_ID_ROLE:
            return pair_id
        status = self.controller.status(pair_id)
        state = self.controller.pair_state(pair_id)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return Path(pair.local_root).name or pair.local_root
            if col == 1:
                return f"{pair.remote_label} ({pair.account})"
            if col == 2:
                return MODE_WORDS.get(pair.mode, str(pair.mode))
            if col == 3:
                paused_itself = self.controller.is_paused(pair_id)
                paused = paused_itself or self.controller.everything_paused()
                words = status.words(paused, paused_itself)
                if state is PairState.EXPIRES_SOON and status.expiry is not None:
                    words = expiry_words(status.expiry).split(" (")[0].replace("The SAS", "SAS")
                if state is PairState.SIGN_IN_EXPIRED and self._signs_in(pair.account):
                    words = "Sign-in expired — sign in with Microsoft again"
                return words
            if col == 4:
                return format_time(status.last_completed)
            if col == 5:
                return self._activity(pair_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return pair.local_root
            if col == 3 and status.failure is not None and not status.failure.cancelled:
                return f"{status.failure.title}: {status.failure.message}"
            if col == 3 and status.expiry is not None and expiry_words(status.expiry):
                return expiry_words(status.expiry, pair.account)
            if col == 5:
                return self._activity_tip(pair_id)
            if col == 4:
                return (
                    f"Last sync that went through to the end: {format_time(status.last_completed)}"
                    f"\nLast time everything was in sync: {format_time(status.last_sync)}\n"
                    + pickup_words(self.controller.beacon_view(pair_id), pair.interval_s)
                )
        if role == Qt.ItemDataRole.DecorationRole and col == 3:
            return load_icon(ICON_NAMES[state])
        return None

    def _signs_in(self, account_name: str) -> bool:
        account = self.controller.config.accounts.get(account_name)
        return account is not None and account.kind is SecretKind.ENTRA

    def _activity(self, pair_id: str) -> str:
        status = self.controller.status(pair_id)
        snap = status.progress
        if status.syncing and snap is not None:
            if snap.dry_run:
                return "Previewing…"
            return snap.summary_words if snap.files_total else snap.phase_words.capitalize()
        if status.unfinished and snap is not None and not snap.dry_run and snap.files_total:
            return f"Stopped after {snap.files_words}"
        result = status.last_result
        if result is None:
            return ""
        parts = [
            f"↑{result.uploaded:,}",
            f"↓{result.downloaded:,}",
            f"✕{result.deleted_local + result.deleted_remote:,}",
        ]
        if result.conflicts:
            parts.append(plural(result.conflicts, "conflict"))
        if result.skipped:
            parts.append(f"{result.skipped:,} skipped")
        return " ".join(parts)

    def _activity_tip(self, pair_id: str) -> str | None:
        status = self.controller.status(pair_id)
        result = status.last_result
        if result is None or status.syncing or status.unfinished:
            return None
        deleted = result.deleted_local + result.deleted_remote
        return (
            "Last sync: "
            f"↑ {plural(result.uploaded, 'file')} uploaded, "
            f"↓ {plural(result.downloaded, 'file')} downloaded, "
            f"✕ {plural(deleted, 'file')} deleted "
            f"({result.deleted_local:,} in the folder, {result.deleted_remote:,} in the "
            f"container), {plural(result.conflicts, 'conflict')}, "
            f"{result.skipped:,} skipped."
        )


def pickup_words(view: BeaconView | None, full_interval_s: float) -> str:
    """The "Last sync" tooltip: when changes from other machines were last picked up,
    and how soon the next ones will be."""
    when = format_time(view.last_pickup if view is not None else None)
    lines = [f"Changes from other machines last picked up: {when}"]
    every = f"{full_interval_s / 60:g} min"
    if view is None or not view.on:
        lines.append(f"Looked for at the check every {every} (change beacon off).")
    elif BeaconNotice.UNREADABLE in view.problems:
        lines.append(f"Looked for at the check every {every}: the change beacon cannot be read.")
    else:
        lines.append(f"Looked for every {view.interval_s:g} s (change beacon).")
    if view is not None and BeaconNotice.NOT_WRITABLE in view.problems:
        lines.append("This machine cannot update the change beacon: others see its changes later.")
    return "\n".join(lines)
