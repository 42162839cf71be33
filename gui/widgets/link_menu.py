"""*Copy link* for a synced file: a read-only URL (1 hour, 1 day or 7 days) on the clipboard.

:class:`LinkMaker` asks the application layer
(:meth:`~blobsync.core.app.service.AppService.share_link`: a service SAS with the
account key, a user-delegation SAS with Entra ID) off the GUI thread, then puts the
URL on the clipboard and says until when it works. The URL is a bearer secret: it is
never logged or shown, only copied. :meth:`LinkMaker.add_menu` adds the *Copy link*
submenu to any context menu that lists a synced file.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from blobsync.core.app.service import AppService
from blobsync.core.errors import BlobSyncError
from blobsync.core.remote.base import LinkDuration, ShareLink

from .background import run_in_background

#: The choices, in menu order.
LINK_CHOICES = (
    (LinkDuration.HOUR, "Valid for 1 hour"),
    (LinkDuration.DAY, "Valid for 1 day"),
    (LinkDuration.WEEK, "Valid for 7 days"),
)


class LinkMaker(QObject):
    """Makes links for the pairs of one :class:`AppService`.

    ``finished(message, ok)``: one sentence for the user after each attempt.
    """

    finished = Signal(str, bool)

    def __init__(self, service: AppService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.last_link: ShareLink | None = None  # for tests: what went to the clipboard

    def add_menu(self, menu: QMenu, pair_id: str, rel_path: str) -> QMenu:
        """Add *Copy link* (with its three validities) for one file to ``menu``."""
        sub = menu.addMenu("Copy link")
        sub.setObjectName("copyLinkMenu")
        for duration, text in LINK_CHOICES:
            action = sub.addAction(text)
            action.setData(duration.name)
            action.triggered.connect(
                lambda _=False, d=duration: self.copy_link(pair_id, rel_path, d)
            )
        return sub

    def copy_link(self, pair_id: str, rel_path: str, duration: LinkDuration) -> None:
        """Make the link off the GUI thread; the clipboard gets it when it is ready."""
        pair = self.service.pair(pair_id)
        if pair is None:
            self.finished.emit("This folder pair is not configured any more.", False)
            return
        service = self.service
        run_in_background(
            lambda: service.share_link(pair, rel_path, duration),
            lambda result, error: self._on_done(rel_path, result, error),
            self,
        )

    def _on_done(self, rel_path: str, result: Any, error: BaseException | None) -> None:
        if error is not None or not isinstance(result, ShareLink):
            words = (
                error.message
                if isinstance(error, BlobSyncError)
                else "unexpected error; see the log"
            )
            self.finished.emit(f"No link for {rel_path}: {words}", False)
            return
        self.last_link = result
        QGuiApplication.clipboard().setText(result.url)
        self.finished.emit(
            f"Link to {rel_path} copied: anyone with it can download the file until "
            f"{result.expires.astimezone():%Y-%m-%d %H:%M}.",
            True,
        )
