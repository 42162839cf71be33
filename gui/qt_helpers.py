"""Small typed helpers over Qt that several widgets use."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QDialogButtonBox

T = TypeVar("T", bound=QObject)


def named(obj: T, name: str) -> T:
    """``obj`` with its object name set (tests and style sheets find widgets by it).

    Qt's constructors take ``objectName=`` at run time, but PySide6's type stubs do not
    list it; this keeps the widgets type-checked."""
    obj.setObjectName(name)
    return obj


def dialog_buttons(
    dialog: QDialog,
    buttons: QDialogButtonBox.StandardButton = (
        QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
    ),
) -> QDialogButtonBox:
    """The dialog's button row, wired to its ``accept``/``reject``."""
    box = QDialogButtonBox(buttons, dialog)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box
