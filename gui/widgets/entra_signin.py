"""*Sign in with Microsoft* in the account dialog: an Entra ID sign-in off the GUI thread.

The sign-in (:func:`blobsync.core.app.entra.sign_in`) blocks until the user finished
in the browser, so it runs with :func:`~.background.run_in_background`. When no browser
can open (no display, a remote session) azure-identity falls back to a device code:
the callback arrives on the worker thread, so it only puts the prompt in a queue that a
GUI-thread timer empties, and the panel shows the URL and the code (selectable, with
*Copy code*). Nothing here holds a token: the finished sign-in's credentials (the live
token credential and the record to save, no secret) are handed to the dialog.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app import entra
from blobsync.core.credentials import Credentials
from blobsync.core.errors import BlobSyncError

from ..qt_helpers import named
from .background import run_in_background

#: ``signer(account_url, on_device_code=..., tenant_id=..., client_id=...)`` ->
#: (credentials, sign-in); blocking. Raises ConfigError, AuthError.
Signer = Callable[..., tuple[Credentials, Any]]


class EntraSignInPanel(QWidget):
    """The *Sign in with Microsoft* button, what happens, and the device code.

    The optional tenant and client id fields (``tenant_edit``, ``client_edit``) belong
    to the panel but are laid out by the dialog, in its own form (:meth:`hint_rows`).
    ``signed_in(Credentials)`` is emitted when the sign-in finished; ``credentials``
    then holds them (until the hints change). ``url_source`` gives the account URL
    typed in the dialog.
    """

    signed_in = Signal(object)

    def __init__(
        self,
        url_source: Callable[[], str],
        parent: QWidget | None = None,
        *,
        signer: Signer = entra.sign_in,
    ) -> None:
        super().__init__(parent)
        self._url_source = url_source
        self._signer = signer
        self._busy = False
        self.credentials: Credentials | None = None
        self.username = ""
        self._prompts: queue.Queue[Any] = queue.Queue()
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._show_prompts)

        self.tenant_edit = named(QLineEdit(), "tenantEdit")
        self.tenant_edit.setPlaceholderText("optional: your organisation's tenant id or domain")
        self.client_edit = named(QLineEdit(), "clientIdEdit")
        self.client_edit.setPlaceholderText("optional: an app registration's client id")
        self.sign_in_button = named(QPushButton("Sign in with Microsoft"), "signInButton")
        self.sign_in_button.clicked.connect(self.start)
        self.status = named(QLabel(), "signInStatus")
        self.status.setWordWrap(True)
        self.code_label = named(QLabel(), "deviceCodeLabel")
        self.code_label.setWordWrap(True)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.code_label.setOpenExternalLinks(True)
        self.copy_code_button = named(QPushButton("Copy code"), "copyCodeButton")
        self.copy_code_button.clicked.connect(self._copy_code)
        self._code = ""

        row = QHBoxLayout()
        row.addWidget(self.sign_in_button)
        row.addWidget(self.status, 1)
        code_row = QHBoxLayout()
        code_row.addWidget(self.code_label, 1)
        code_row.addWidget(self.copy_code_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addLayout(code_row)
        self.tenant_edit.textEdited.connect(self._forget)
        self.client_edit.textEdited.connect(self._forget)
        self._hide_code()
        self.sign_in_button.setToolTip(
            "Opens Microsoft's sign-in page in your browser, or shows a code to enter on "
            "any device when no browser can open here."
        )
        self._set_status("No password or key is stored.", "idle")

    def is_busy(self) -> bool:
        return self._busy

    def hint_rows(self) -> list[tuple[str, QWidget]]:
        """The (label, field) rows the dialog puts in its form."""
        return [("Tenant:", self.tenant_edit), ("Client id:", self.client_edit)]

    @Slot()
    def start(self) -> None:
        """Sign in (off the GUI thread); answered by ``signed_in`` or a sentence."""
        if self._busy:
            return
        url = self._url_source().strip()
        if not url:
            self._set_status("Enter the account URL (or name) first.", "error")
            return
        self._busy = True
        self.credentials = None
        self.sign_in_button.setEnabled(False)
        self._hide_code()
        self._set_status("Signing in — finish in the browser window that opened …", "busy")
        signer, prompts = self._signer, self._prompts  # the worker holds no Qt object
        tenant, client = self.tenant_edit.text().strip(), self.client_edit.text().strip()
        self._poll.start()
        run_in_background(
            lambda: signer(url, on_device_code=prompts.put, tenant_id=tenant, client_id=client),
            self._on_done,
            self,
        )

    @Slot()
    def _show_prompts(self) -> None:
        while True:
            try:
                prompt = self._prompts.get_nowait()
            except queue.Empty:
                return
            self._code = str(prompt.user_code)
            uri = str(prompt.verification_uri)
            self.code_label.setText(
                f"No browser could open here. On any device, open<br>"
                f'<a href="{uri}">{uri}</a> and enter the code <b>{self._code}</b>.'
            )
            self.code_label.show()
            self.copy_code_button.show()
            self._set_status("Waiting for you to enter the code …", "busy")
            _grow_window(self)

    def _on_done(self, result: Any, error: BaseException | None) -> None:
        self._busy = False
        self._poll.stop()
        self._show_prompts()
        self.sign_in_button.setEnabled(True)
        if error is not None:
            self._hide_code()
            if isinstance(error, BlobSyncError):
                self._set_status(f"{error.title}: {error.message}", "error")
            else:
                self._set_status("Signing in failed (unexpected error; see the log).", "error")
            return
        creds, done = result
        self.credentials = creds
        self.username = str(getattr(done, "username", "") or "")
        self._hide_code()
        who = self.username or "your Microsoft account"
        cache = getattr(done, "cache", None)
        where = f" {entra.cache_words(cache)}" if cache is not None else ""
        self._set_status(f"Signed in as {who}.{where}", "ok")
        self.sign_in_button.setText("Sign in again")
        self.signed_in.emit(creds)
        _grow_window(self)

    @Slot()
    def _forget(self, *_: object) -> None:
        """Another tenant or client: the finished sign-in no longer matches."""
        if self.credentials is not None:
            self.credentials = None
            self.sign_in_button.setText("Sign in with Microsoft")
            self._set_status("Sign in again for this tenant or client id.", "idle")

    def _copy_code(self) -> None:
        if self._code:
            QGuiApplication.clipboard().setText(self._code)

    def _hide_code(self) -> None:
        self._code = ""
        self.code_label.clear()
        self.code_label.hide()
        self.copy_code_button.hide()

    def _set_status(self, text: str, state: str) -> None:
        colours = {"ok": "#1b7f3b", "error": "#b00020", "busy": "#555555", "idle": "#555555"}
        self.status.setText(text)
        self.status.setProperty("state", state)
        self.status.setStyleSheet(f"color: {colours[state]};")


def _grow_window(widget: QWidget) -> None:
    """Let the dialog grow to show new lines (wrapped labels do not resize it)."""
    window = widget.window()
    layout = window.layout()
    if layout is not None:
        layout.activate()
    height = window.sizeHint().height()
    if height > window.height():
        window.resize(window.width(), height)
