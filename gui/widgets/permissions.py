"""The permission check in the app: what an account may do in one container, in words.

:class:`PermissionCheck` runs the application layer's probe
(:func:`blobsync.core.app.accounts.check_permissions`: list, read, write and delete,
with a temporary blob in BlobSync's reserved space) off the GUI thread and shows the
answer: one mark per permission, the sentence saying what is missing, and what it
means for syncing (a pair whose account may not delete keeps deletions as issues).
The account dialog shows it after *Test connection*, the pair dialog as soon as a
container is chosen, before the first sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from blobsync.core.app.accounts import check_permissions
from blobsync.core.credentials import Credentials
from blobsync.core.errors import BlobSyncError
from blobsync.core.models import Permission, SyncMode
from blobsync.core.remote.probe import PermissionReport

from ..qt_helpers import named
from .background import run_in_background

#: (credentials, container) -> the report. Raises AuthError, ConnectionFailure.
Prober = Callable[[Credentials, str], PermissionReport]

__all__ = ["PermissionCheck", "Prober", "check_permissions", "consequences", "marks"]

_MODE_WORDS = {
    SyncMode.TWO_WAY: "two-way",
    SyncMode.UPLOAD: "upload only",
    SyncMode.DOWNLOAD: "download only",
}


def marks(report: PermissionReport) -> str:
    """``list ✓  read ✓  write ✓  delete ✗``."""
    return "   ".join(f"{p.value} {'✓' if report.allows(p) else '✗'}" for p in Permission)


def consequences(report: PermissionReport) -> str:
    """What the missing permissions mean for a pair, in one or two sentences."""
    if not report.container_exists:
        return "The first sync creates it; the check runs when it exists."
    if report.ok:
        return ""  # describe() already says everything is allowed
    words = []
    if Permission.DELETE in report.missing:
        words.append(
            "Files deleted on this computer will not be deleted in the container: the "
            "blobs are kept and listed as issues instead."
        )
    usable = [_MODE_WORDS[m] for m in SyncMode if report.supports(m)]
    if not usable:
        words.append("BlobSync cannot sync this container with these credentials.")
    elif len(usable) < len(SyncMode):
        words.append(f"It can sync as {' or '.join(usable)}.")
    return " ".join(words)


def report_text(report: PermissionReport) -> str:
    """The whole answer as rich text for a label."""
    if not report.container_exists:
        return f"{_escape(report.describe())} {_escape(consequences(report))}"
    text = f"<b>{_escape(marks(report))}</b><br>{_escape(report.describe())}"
    more = consequences(report)
    return f"{text}<br>{_escape(more)}" if more else text


class PermissionCheck(QWidget):
    """A label that checks (off the GUI thread) and shows one container's permissions.

    ``checked`` carries the :class:`PermissionReport`, or None when the check failed.
    """

    checked = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, prober: Prober = check_permissions):
        super().__init__(parent)
        self._prober = prober
        self._generation = 0
        self.report: PermissionReport | None = None
        self.error: str = ""
        self.label = named(QLabel(), "permissionLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self._pending: tuple[Credentials, str] | None = None
        # Choosing containers one after another checks only the last one.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(self._start)
        self.clear()

    def busy(self) -> bool:
        return self._pending is not None or self._debounce.isActive()

    def clear(self) -> None:
        """Forget the last answer (a new account or container is being chosen)."""
        self._generation += 1
        self._pending = None
        self._debounce.stop()
        self.report, self.error = None, ""
        self.label.clear()
        self.hide()

    def check(self, creds: Credentials, container: str, *, at_once: bool = False) -> None:
        """Check ``container`` with ``creds`` (after a short pause unless ``at_once``)."""
        self.clear()
        self._pending = (creds, container)
        self._show(f"Checking what these credentials may do in '{container}' …", "busy")
        if at_once:
            self._start()
        else:
            self._debounce.start()

    def show_report(self, report: PermissionReport) -> None:
        self.report, self.error = report, ""
        self._show(report_text(report), "ok" if report.ok else "warning")

    @Slot()
    def _start(self) -> None:
        if self._pending is None:
            return
        creds, container = self._pending
        generation, prober = self._generation, self._prober
        run_in_background(
            lambda: prober(creds, container),
            lambda result, error: self._on_done(generation, result, error),
            self,
        )

    def _on_done(self, generation: int, result: Any, error: BaseException | None) -> None:
        if generation != self._generation:
            return  # another container was chosen meanwhile
        self._pending = None
        if error is None and isinstance(result, PermissionReport):
            self.show_report(result)
            self.checked.emit(result)
            return
        if isinstance(error, BlobSyncError):
            self.error = f"Could not check the permissions: {error.message}"
        else:
            self.error = "Could not check the permissions (unexpected error; see the log)."
        self._show(_escape(self.error), "error")
        self.checked.emit(None)

    def _show(self, text: str, state: str) -> None:
        colours = {"ok": "#1b7f3b", "warning": "#8a5300", "error": "#b00020", "busy": "#555555"}
        self.label.setText(text)
        self.label.setProperty("state", state)
        self.label.setStyleSheet(f"color: {colours[state]};")
        self.show()
        _grow_window(self)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _grow_window(widget: QWidget) -> None:
    """Let the dialog grow to show new lines (wrapped labels do not resize it)."""
    window = widget.window()
    layout = window.layout()
    if layout is not None:
        layout.activate()
    height = window.sizeHint().height()
    if height > window.height():
        window.resize(window.width(), height)
