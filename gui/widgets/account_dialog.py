"""Dialog to add (or edit) a storage account: connection string, name + key, SAS URL,
local Azurite, or *Sign in with Microsoft* (Entra ID; :mod:`.entra_signin`, no secret
stored).

**Test connection** runs ``check_connection`` off the GUI thread and says in one
sentence what is wrong; with a container named (a container SAS names its own) it
runs the permission check there instead and shows what is missing
(:mod:`.permissions`). Saving fields whose test just failed needs a second, explicit
"Save anyway". Editing (``editing=``) can rename the account and give it a new secret
(an empty secret field keeps the current one). **Save** puts the secret in the OS keyring
(:mod:`blobsync.core.app.secrets`) and adds an :class:`AccountConfig` (no secret) to
``config.accounts``; the caller saves the config. When no keyring is usable the dialog
says so, and saving is refused unless the user ticks the plaintext-file opt-in, which
shows a visible warning. The secret field is always masked and the secret never
appears in a message or the window title.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app import secrets
from blobsync.core.app.accounts import (
    account_url_from,
    check_account,
    check_permissions,
    credentials_from_secret,
    label_problem,
)
from blobsync.core.app.settings import AccountConfig, AppConfig
from blobsync.core.credentials import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Credentials,
    SecretKind,
    from_entra,
)
from blobsync.core.errors import BlobSyncError, ConfigError
from blobsync.core.remote.probe import PermissionReport

from ..qt_helpers import dialog_buttons, named
from .background import run_in_background
from .entra_signin import EntraSignInPanel, Signer
from .permissions import PermissionCheck, Prober

#: The default name of an account added with the Azurite preset. (The app's own demo
#: account, "Local emulator (Azurite)", is created by the controller, not here.)
AZURITE_LABEL = "azurite"
AZURITE_DEFAULT_URL = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"


class AccountKind(enum.StrEnum):
    """The choices of the kind combo."""

    CONNECTION_STRING = "connection_string"
    KEY = "account_key"
    SAS = "sas"
    AZURITE = "azurite"
    ENTRA = "entra"


_KIND_TEXT = {
    AccountKind.CONNECTION_STRING: "Connection string",
    AccountKind.KEY: "Account name and key",
    AccountKind.SAS: "SAS URL",
    AccountKind.AZURITE: "Local emulator (Azurite)",
    AccountKind.ENTRA: "Sign in with Microsoft (Entra ID)",
}
_SECRET_LABEL = {
    AccountKind.CONNECTION_STRING: "Connection string:",
    AccountKind.KEY: "Account key:",
    AccountKind.SAS: "SAS URL:",
    AccountKind.AZURITE: "Account key:",
    AccountKind.ENTRA: "",
}
_SECRET_HINT = {
    AccountKind.CONNECTION_STRING: "DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…",
    AccountKind.KEY: "Access keys → key1 in the Azure portal",
    AccountKind.SAS: "https://NAME.blob.core.windows.net/?sv=…&sig=…",
    AccountKind.AZURITE: "",
    AccountKind.ENTRA: "",
}
_URL_HINT = {
    AccountKind.CONNECTION_STRING: "taken from the connection string",
    AccountKind.KEY: "account name, or https://NAME.blob.core.windows.net",
    AccountKind.SAS: "taken from the SAS URL",
    AccountKind.AZURITE: AZURITE_DEFAULT_URL,
    AccountKind.ENTRA: "account name, or https://NAME.blob.core.windows.net",
}


#: Friendlier names for the usual keyring backends (``secrets.backend_name()``).
_KEYRING_WORDS = {
    "SecretService.Keyring": "Secret Service: GNOME Keyring or KWallet",
    "kwallet.DBusKeyring": "KWallet",
    "macOS.Keyring": "macOS Keychain",
    "Windows.WinVaultKeyring": "Windows Credential Manager",
}


#: Saves an account: (label, credentials, allow_plaintext) -> the saved account.
#: Raises ConfigError (the dialog shows it) or OSError.
AccountSaver = Callable[[str, Credentials, bool], AccountConfig]
#: Saves an edited account: (old label, new label, new credentials or None to keep
#: the secret, allow_plaintext) -> the saved account. Raises ConfigError or OSError.
AccountEditor = Callable[[str, str, Credentials | None, bool], AccountConfig]

_SECRET_KIND = {
    AccountKind.CONNECTION_STRING: SecretKind.CONNECTION_STRING,
    AccountKind.KEY: SecretKind.ACCOUNT_KEY,
    AccountKind.SAS: SecretKind.SAS,
    AccountKind.AZURITE: SecretKind.ACCOUNT_KEY,
    AccountKind.ENTRA: SecretKind.ENTRA,
}


def _redact(text: str, secret: str) -> str:
    """Belt and braces: a message must never carry the secret, even by accident."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "<hidden>")
    return text


def describe_error(exc: BaseException, secret: str = "") -> str:
    """One plain sentence (with the error's title) for the status line."""
    if isinstance(exc, BlobSyncError):
        text = f"{exc.title}: {exc.message}"
    else:
        text = f"Unexpected error ({type(exc).__name__})."
    return _redact(text, secret)


class AccountDialog(QDialog):
    """Add one account; ``saved_account`` is set when the user saved."""

    def __init__(
        self,
        config: AppConfig,
        save_account: AccountSaver,
        parent: QWidget | None = None,
        *,
        checker: Callable[[Credentials], None] = check_account,
        azurite_url: str = AZURITE_DEFAULT_URL,
        signer: Signer | None = None,
        prober: Prober = check_permissions,
        editing: AccountConfig | None = None,
        save_edit: AccountEditor | None = None,
        current: Callable[[str], Credentials] | None = None,
    ) -> None:
        super().__init__(parent)
        self.editing = editing
        self.setWindowTitle(
            f"Edit storage account — {editing.name}" if editing else "Add storage account"
        )
        self.config = config
        self._save_account = save_account
        self._save_edit = save_edit
        self._current = current  # the saved credentials of an edited account
        self.saved_account: AccountConfig | None = None
        self._checker = checker
        self._azurite_url = editing.account_url if editing else azurite_url
        self._testing = False
        #: The fields whose connection test failed, and why (saving them needs a yes).
        self._failed: tuple[tuple[str, ...], str] | None = None
        self._save_anyway = False
        self._keyring_usable, backend, reason = secrets.keyring_status()

        self.kind_combo = named(QComboBox(), "kindCombo")
        for kind, text in _KIND_TEXT.items():
            self.kind_combo.addItem(text, kind.value)
        self.name_edit = named(QLineEdit(), "nameEdit")
        self.name_edit.setPlaceholderText("a short name you choose, e.g. work-photos")
        self.url_edit = named(QLineEdit(), "urlEdit")
        self.secret_edit = named(QLineEdit(), "secretEdit")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_label = QLabel()

        self.keyring_label = named(QLabel(), "keyringLabel")
        self.keyring_label.setWordWrap(True)
        self.plaintext_check = named(
            QCheckBox("Store the secret in a plain text file on this computer (not recommended)"),
            "plaintextCheck",
        )
        self.plaintext_warning = named(
            QLabel(
                "⚠ INSECURE: anyone who can read your files can read this secret "
                f"({secrets.plaintext_file()})."
            ),
            "plaintextWarning",
        )
        self.plaintext_warning.setWordWrap(True)
        self.plaintext_warning.setStyleSheet("color: #b00020; font-weight: bold;")
        if self._keyring_usable:
            where = _KEYRING_WORDS.get(backend, backend)
            self.keyring_label.setText(f"The secret will be kept in the OS keyring ({where}).")
            self.plaintext_check.hide()
        else:
            self.keyring_label.setText(f"No usable OS keyring: {reason}")
            self.keyring_label.setStyleSheet("color: #b00020;")
        self.plaintext_warning.hide()
        self.plaintext_check.toggled.connect(self._on_plaintext_toggled)

        # Entra ID sign-in and the permission check (see the module docstring).
        self.entra_panel = named(
            EntraSignInPanel(self._typed_url, self, **({"signer": signer} if signer else {})),
            "entraPanel",
        )
        self.container_edit = named(QLineEdit(), "containerEdit")
        self.container_edit.setPlaceholderText("optional: check what you may do in a container")
        self.permission_check = named(PermissionCheck(self, prober=prober), "permissionCheck")
        self._prober = prober

        self.test_button = named(QPushButton("Test connection"), "testButton")
        self.test_button.clicked.connect(self.test_connection)
        self.status_label = named(QLabel(), "statusLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setMinimumWidth(360)
        self._set_status("", "idle")

        form = QFormLayout()
        form.addRow("Connect with:", self.kind_combo)
        form.addRow("Name:", self.name_edit)
        form.addRow("Account URL:", self.url_edit)
        for text, field in self.entra_panel.hint_rows():
            form.addRow(text, field)
        form.addRow(self.secret_label, self.secret_edit)
        form.addRow("", self.entra_panel)
        form.addRow("Container:", self.container_edit)
        self._form = form
        for row in (self.entra_panel, *(field for _t, field in self.entra_panel.hint_rows())):
            form.setRowVisible(row, False)  # shown for Entra ID only (_on_kind_changed)

        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.status_label, 1)

        self.buttons = dialog_buttons(self)

        layout = QVBoxLayout(self)
        # Grow with a long message instead of squeezing the fields.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.permission_check)
        layout.addWidget(self.keyring_label)
        layout.addWidget(self.plaintext_check)
        layout.addWidget(self.plaintext_warning)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        if editing is not None:
            self._fill_from(editing)
        self._on_kind_changed()
        for edit in (self.name_edit, self.url_edit, self.secret_edit):
            edit.textChanged.connect(self._on_fields_edited)
        self.kind_combo.currentIndexChanged.connect(self._on_fields_edited)

    def _fill_from(self, account: AccountConfig) -> None:
        from blobsync.core.app.accounts import uses_published_key

        if uses_published_key(account):
            kind = AccountKind.AZURITE
        else:
            kind = {
                SecretKind.CONNECTION_STRING: AccountKind.CONNECTION_STRING,
                SecretKind.ACCOUNT_KEY: AccountKind.KEY,
                SecretKind.SAS: AccountKind.SAS,
            }[account.kind]
        self.set_kind(kind)
        self.name_edit.setText(account.name)
        self.url_edit.setText(account.account_url)

    def focus_secret(self) -> None:
        """Start with the secret field (Change secret…)."""
        self.secret_edit.setFocus()

    # ---- state -------------------------------------------------------------------

    def kind(self) -> AccountKind:
        return AccountKind(self.kind_combo.currentData())

    def set_kind(self, kind: AccountKind) -> None:
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind.value))

    @Slot()
    def _on_kind_changed(self) -> None:
        kind = self.kind()
        self.secret_label.setText(_SECRET_LABEL[kind])
        self.secret_edit.setPlaceholderText(
            "unchanged: type a new one to replace it"
            if self.editing is not None and kind is not AccountKind.AZURITE
            else _SECRET_HINT[kind]
        )
        self.url_edit.setPlaceholderText(_URL_HINT[kind])
        uses_url = kind in (AccountKind.KEY, AccountKind.AZURITE, AccountKind.ENTRA)
        self.url_edit.setEnabled(uses_url)
        entra_id = kind is AccountKind.ENTRA
        self._form.setRowVisible(self.secret_edit, not entra_id)
        for row in (self.entra_panel, *(field for _t, field in self.entra_panel.hint_rows())):
            self._form.setRowVisible(row, entra_id)
        self.keyring_label.setVisible(not entra_id)
        self.plaintext_check.setVisible(not entra_id and not self._keyring_usable)
        self.plaintext_warning.setVisible(not entra_id and self.plaintext_check.isChecked())
        self.permission_check.clear()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))
        if kind is AccountKind.AZURITE:
            self.url_edit.setText(self._azurite_url)
            self.secret_edit.setText(AZURITE_KEY)  # public, documented development key
            self.secret_edit.setCursorPosition(0)
            self.secret_edit.setEnabled(False)
            if not self.name_edit.text().strip():
                self.name_edit.setText(self._free_label(AZURITE_LABEL))
        else:
            if self.secret_edit.text() == AZURITE_KEY:
                self.secret_edit.clear()
            if self.editing is None and self.name_edit.text() == self._free_label(AZURITE_LABEL):
                self.name_edit.clear()
            if not uses_url and self.editing is None:
                self.url_edit.clear()
            self.secret_edit.setEnabled(True)
        self._set_status("", "idle")

    def _free_label(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``… if an account already has that name."""
        label, n = base, 1
        while label in self.config.accounts:
            n += 1
            label = f"{base}-{n}"
        return label

    @Slot(bool)
    def _on_plaintext_toggled(self, checked: bool) -> None:
        self.plaintext_warning.setVisible(checked)

    def _set_status(self, text: str, state: str) -> None:
        colours = {"ok": "#1b7f3b", "error": "#b00020", "busy": "#555555", "idle": "#000000"}
        self.status_label.setText(text)
        self.status_label.setProperty("state", state)
        self.status_label.setStyleSheet(f"color: {colours[state]};")
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow to show a long message whole instead of squeezing the fields."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        need = (
            layout.totalHeightForWidth(self.width())
            if layout.hasHeightForWidth()
            else layout.totalSizeHint().height()
        )
        if need > self.height():
            self.resize(self.width(), need)

    # ---- credentials -------------------------------------------------------------

    def keeps_secret(self) -> bool:
        """Editing, with the secret left as it was (empty field, same kind and URL)."""
        old = self.editing
        if old is None or self.secret_edit.text().strip() or self.kind() is AccountKind.AZURITE:
            return False
        if self.kind() is AccountKind.KEY and self.url_edit.text().strip() != old.account_url:
            return False  # a new URL needs its key typed again
        return _SECRET_KIND[self.kind()] is old.kind

    def credentials(self) -> Credentials:
        """The credentials the fields describe. Raises ConfigError (never echoing the secret)."""
        kind = self.kind()
        secret = self.secret_edit.text().strip()
        url = self.url_edit.text().strip()
        if kind is AccountKind.ENTRA:
            return self._entra_credentials()
        if self.keeps_secret() and self._current is not None and self.editing is not None:
            return self._current(self.editing.name)
        if kind is AccountKind.AZURITE:
            secret, url = AZURITE_KEY, url or self._azurite_url
        if not secret:
            raise ConfigError(f"Enter the {_SECRET_LABEL[kind].rstrip(':').lower()}.")
        if kind is AccountKind.KEY and not url:
            raise ConfigError("Enter the account name or its URL.")
        return credentials_from_secret(_SECRET_KIND[kind], secret, url)

    def _typed_url(self) -> str:
        text = self.url_edit.text().strip()
        return account_url_from(text) if text else ""

    def _entra_credentials(self) -> Credentials:
        signed = self.entra_panel.credentials
        if signed is None:
            raise ConfigError("Sign in with Microsoft first.")
        url = self._typed_url()
        if not url:
            raise ConfigError("Enter the account name or its URL.")
        return from_entra(
            url,
            signed.token_credential,
            tenant_id=signed.tenant_id,
            client_id=signed.client_id,
            sign_in_record=signed.sign_in_record,
        )

    # ---- test --------------------------------------------------------------------

    @Slot()
    def test_connection(self) -> None:
        """Check the fields against the service, off the GUI thread."""
        if self._testing:
            return
        try:
            creds = self.credentials()
        except ConfigError as exc:
            self._set_status(describe_error(exc, self.secret_edit.text()), "error")
            return
        self._testing = True
        self.test_button.setEnabled(False)
        self._set_status(f"Testing {creds.account_url} …", "busy")
        self.permission_check.clear()
        checker = self._checker  # the worker must not hold the dialog (see background.py)
        container, prober = self.container_edit.text().strip() or creds.sas_container, self._prober
        if container and not self.container_edit.text().strip():
            self.container_edit.setText(container)  # the one a container SAS names
        if container:  # the container alone: a container SAS cannot make account-level calls
            run_in_background(lambda: prober(creds, container), self._on_tested, self)
            return
        run_in_background(lambda: checker(creds), self._on_tested, self)

    def _on_tested(self, _result: Any, error: BaseException | None) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        if error is None:
            self._failed = None
            try:
                name = self.credentials().account_name
            except ConfigError:
                name = "the account"
            self._set_status(f"Connection works: {name} answered.", "ok")
            if isinstance(_result, PermissionReport):
                self.permission_check.show_report(_result)
        else:
            sentence = describe_error(error, self.secret_edit.text())
            self._failed = (self._fields(), sentence)
            self._set_status(sentence, "error")

    def _fields(self) -> tuple[str, ...]:
        return (
            self.kind().value,
            self.url_edit.text().strip(),
            self.secret_edit.text().strip(),
        )

    @Slot()
    def _on_fields_edited(self, *_: object) -> None:
        if self._save_anyway:
            self._save_anyway = False
            self._save_button().setText("Save")

    def _save_button(self) -> QPushButton:
        from PySide6.QtWidgets import QDialogButtonBox

        button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        assert button is not None
        return button

    def test_failed(self) -> bool:
        """The connection test of exactly these fields failed."""
        return self._failed is not None and self._failed[0] == self._fields()

    def is_testing(self) -> bool:
        return self._testing

    # ---- save --------------------------------------------------------------------

    def accept(self) -> None:
        """Save the account, or say why not (the dialog stays open). Fields whose test
        just failed are saved only after a second, explicit "Save anyway"."""
        secret_text = self.secret_edit.text()
        if self.test_failed() and not self._save_anyway and self._failed is not None:
            self._save_anyway = True
            self._save_button().setText("Save anyway")
            self._set_status(
                f"The connection test failed ({self._failed[1]}). Save these settings "
                "anyway? Choose “Save anyway” to keep them, or correct them and test again.",
                "error",
            )
            return
        try:
            account = self._save()
        except BlobSyncError as exc:
            self._set_status(describe_error(exc, secret_text), "error")
            return
        except OSError as exc:
            self._set_status(f"Cannot save the settings: {exc.strerror or exc}.", "error")
            return
        self.saved_account = account
        super().accept()

    def _save(self) -> AccountConfig:
        if self.editing is not None:
            return self._save_edited(self.editing)
        creds = self.credentials()
        kind = self.kind()
        label = self.name_edit.text().strip()
        if not label:
            label = AZURITE_LABEL if kind is AccountKind.AZURITE else creds.account_name
            self.name_edit.setText(label)
        problem = label_problem(label)
        if problem:
            raise ConfigError(problem)
        if label in self.config.accounts:
            raise ConfigError(f"An account named '{label}' already exists; choose another name.")
        # Entra ID stores no secret; its tokens stay in memory unless kept encrypted.
        allow_plaintext = self.plaintext_check.isChecked() and kind is not AccountKind.ENTRA
        try:
            return self._save_account(label, creds, allow_plaintext)
        except secrets.NoUsableKeyring:
            raise ConfigError(
                "No usable OS keyring, so the secret cannot be saved safely. Tick "
                "'Store the secret in a plain text file' to save it anyway (not recommended)."
            ) from None

    def _save_edited(self, old: AccountConfig) -> AccountConfig:
        label = self.name_edit.text().strip() or old.name
        problem = label_problem(label)
        if problem:
            raise ConfigError(problem)
        if label != old.name and label in self.config.accounts:
            raise ConfigError(f"An account named '{label}' already exists; choose another name.")
        creds = None if self.keeps_secret() else self.credentials()
        if self._save_edit is None:
            raise ConfigError("This account cannot be edited here.")
        try:
            return self._save_edit(old.name, label, creds, self.plaintext_check.isChecked())
        except secrets.NoUsableKeyring:
            raise ConfigError(
                "No usable OS keyring, so the secret cannot be saved safely. Tick "
                "'Store the secret in a plain text file' to save it anyway (not recommended)."
            ) from None
