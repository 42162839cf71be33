"""App-wide settings: bandwidth limits, how often pairs check the container (in full, and
for other machines' changes through the change beacon), start at login."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app import autostart
from blobsync.core.app.schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_INTERVAL_S
from blobsync.core.app.settings import AppConfig


class SettingsDialog(QDialog):
    """Edits ``config`` in place on accept (the caller saves it)."""

    def __init__(self, config: AppConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
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
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.autostart_check)
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

    def accept(self) -> None:
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
