"""App-wide settings: bandwidth limits, how often pairs check the container (in full, and
for other machines' changes through the change beacon), start at login, the name other
machines see ("changed on laptop-2"), and how long the recycle bins keep replaced and
deleted versions."""

from __future__ import annotations

import socket
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app import autostart
from blobsync.core.app.schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_INTERVAL_S
from blobsync.core.app.settings import AppConfig
from blobsync.core.errors import ConfigError

from ..qt_helpers import named

#: Sets the machine name ("" = the host name), checking it; raises ConfigError for a
#: name it refuses, OSError when the settings cannot be saved
#: (``AppService.set_machine_name``).
NameSetter = Callable[[str], None]


class SettingsDialog(QDialog):
    """Edits ``config`` in place on accept (the caller saves it). The machine name goes
    through ``set_machine_name`` (the app gives ``AppService.set_machine_name``, which
    checks and saves it); a refused name keeps the dialog open and says why."""

    def __init__(
        self,
        config: AppConfig,
        parent: QWidget | None = None,
        *,
        set_machine_name: NameSetter | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self._set_machine_name = set_machine_name or self._keep_name
        self.setWindowTitle("BlobSync settings")
        self.setObjectName("settingsDialog")

        self.upload_spin = self._kib_spin("uploadLimitSpin", config.upload_limit_kbps)
        self.download_spin = self._kib_spin("downloadLimitSpin", config.download_limit_kbps)
        self.interval_spin = QSpinBox(self)
        self.interval_spin.setObjectName("intervalSpin")
        self.interval_spin.setRange(1, 24 * 60)
        self.interval_spin.setSuffix(" min")
        intervals = [p.interval_s for p in config.pairs]
        default = int(DEFAULT_INTERVAL_S)
        self.interval_spin.setValue(max(1, round((min(intervals) if intervals else default) / 60)))
        self.beacon_spin = QSpinBox(self)
        self.beacon_spin.setObjectName("beaconIntervalSpin")
        self.beacon_spin.setRange(1, 600)
        self.beacon_spin.setSuffix(" s")
        beacons = [p.beacon_interval_s for p in config.pairs]
        self.beacon_spin.setValue(min(beacons) if beacons else int(DEFAULT_BEACON_INTERVAL_S))
        self.autostart_check = QCheckBox("Start BlobSync when I log in", self)
        self.autostart_check.setObjectName("autostartCheck")
        self.autostart_check.setChecked(autostart.is_enabled())

        self.machine_edit = named(QLineEdit(config.machine_name), "machineNameEdit")
        self.machine_edit.setPlaceholderText(socket.gethostname())
        self.machine_edit.setMaxLength(64)
        self.machine_edit.setToolTip(
            "Shown to the other machines in their history and conflicts: "
            "\u201cchanged on <this name>\u201d. Empty: the computer's name."
        )
        self.machine_error = named(QLabel(), "machineNameError")
        self.machine_error.setWordWrap(True)
        self.machine_error.setStyleSheet("color: #b00020;")
        self.machine_error.hide()
        self.bin_days_spin = named(QSpinBox(), "binDaysSpin")
        self.bin_days_spin.setRange(1, 3650)
        self.bin_days_spin.setSuffix(" days")
        self.bin_days_spin.setValue(max(1, config.bin_days))
        self.bin_size_spin = named(QSpinBox(), "binSizeSpin")
        self.bin_size_spin.setRange(1, 100_000)
        self.bin_size_spin.setSuffix(" GiB")
        self.bin_size_spin.setValue(max(1, config.bin_max_gib))
        self.system_trash_check = named(
            QCheckBox("Move expired versions to the desktop's trash instead of deleting them"),
            "systemTrashCheck",
        )
        self.system_trash_check.setChecked(config.expired_to_system_trash)

        form = QFormLayout()
        form.addRow("Upload limit:", self.upload_spin)
        form.addRow("Download limit:", self.download_spin)
        form.addRow("Check the containers every:", self.interval_spin)
        form.addRow("Look for other machines' changes every:", self.beacon_spin)
        hint = QLabel(
            "Local changes are synced within seconds. Changes BlobSync makes on other "
            "machines arrive within seconds too (one tiny request per pair each time; "
            "every 30 s after 10 quiet minutes); the periodic check picks up changes made "
            "by other tools.",
            self,
        )
        hint.setWordWrap(True)

        machine_box = QGroupBox("This machine", self)
        machine_form = QFormLayout(machine_box)
        machine_form.addRow("Machine name:", self.machine_edit)
        machine_form.addRow("", self.machine_error)
        machine_hint = named(QLabel(machine_box), "machineNameHint")
        self.machine_edit.textChanged.connect(lambda text: self._show_example(machine_hint, text))
        self._show_example(machine_hint, self.machine_edit.text())
        machine_hint.setWordWrap(True)
        machine_form.addRow(machine_hint)

        bin_box = QGroupBox("Recycle bins", self)
        bin_form = QFormLayout(bin_box)
        bin_form.addRow("Keep replaced and deleted versions for:", self.bin_days_spin)
        bin_form.addRow("At most, per folder pair on this computer:", self.bin_size_spin)
        bin_form.addRow(self.system_trash_check)
        bin_hint = QLabel(
            "Before a sync replaces or deletes a file, on either side, the old version "
            "goes to a recycle bin: this computer's versions folder and the container's "
            "own bin. Restore it from the Activity view.",
            bin_box,
        )
        bin_hint.setWordWrap(True)
        bin_form.addRow(bin_hint)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.autostart_check)
        layout.addWidget(machine_box)
        layout.addWidget(bin_box)
        layout.addWidget(buttons)

    def _kib_spin(self, name: str, value: int) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(0, 10_000_000)
        spin.setSingleStep(256)
        spin.setSuffix(" KiB/s")
        spin.setSpecialValueText("unlimited")
        spin.setValue(value)
        return spin

    def _keep_name(self, name: str) -> None:
        """Without the app's service (a dialog on its own): the name as typed, trimmed."""
        self.config.machine_name = name.strip()

    def accept(self) -> None:
        name = self.machine_edit.text()
        if name.strip() != self.config.machine_name:
            try:
                self._set_machine_name(name)
            except ConfigError as exc:
                self._refuse_name(exc.message)
                return
            except OSError as exc:
                self._refuse_name(f"The settings could not be saved: {exc}")
                return
        self.machine_error.hide()
        self.config.bin_days = self.bin_days_spin.value()
        self.config.bin_max_gib = self.bin_size_spin.value()
        self.config.expired_to_system_trash = self.system_trash_check.isChecked()
        self.config.upload_limit_kbps = self.upload_spin.value()
        self.config.download_limit_kbps = self.download_spin.value()
        for pair in self.config.pairs:
            pair.interval_s = self.interval_spin.value() * 60
            pair.beacon_interval_s = self.beacon_spin.value()
        wanted = self.autostart_check.isChecked()
        self.config.start_at_login = wanted
        if wanted:
            autostart.enable()
        else:
            autostart.disable()
        super().accept()

    @staticmethod
    def _show_example(hint: QLabel, name: str) -> None:
        # A non-breaking hyphen: "my-laptop" wraps as a whole.
        shown = (name.strip() or socket.gethostname()).replace("-", "\u2011")
        hint.setText(
            "Other machines see it in their history and conflicts (\u201cdeleted on "
            f"{shown}\u201d). Leave it empty to use the computer's name."
        )

    def _refuse_name(self, message: str) -> None:
        self.machine_error.setText(message)
        self.machine_error.show()
        self.machine_edit.setFocus()
        self.machine_edit.selectAll()
