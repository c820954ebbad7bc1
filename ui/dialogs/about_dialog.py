"""About FaceDesk: versions, platform, keyring, per-provider API versions and folders.

Everything shown is also one plain-text block behind "Copy", for pasting into a support
ticket. It names no credential, image or person: only versions, connection names and paths.
"""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QSysInfo, Qt, qVersion
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__
from app.paths import AppPaths, default_paths
from app.settings import SANDBOX
from ui.clipboard import copy_text
from ui.icons import app_icon

if TYPE_CHECKING:  # the window's first paint imports this module before the service layer
    from app.services import VerificationService

TAGLINE = "Face match, 1:N search and verification sessions for identity-verification operators."


def build_kind() -> str:
    return "frozen build" if getattr(sys, "frozen", False) else "from source"


def _api_line(service: VerificationService, provider_id: str) -> str:
    info = service.info(provider_id)
    connection = service.active_connection(provider_id)
    fields = service.connection_fields(provider_id, connection)
    chosen = fields.get("api_version", "")
    known = ", ".join(info.api_versions)
    version = f"API {chosen or known}" if chosen or known else "unversioned API"
    if connection == SANDBOX:
        emulated = f" (the sandbox emulates {known})" if known and known != chosen else ""
        return f"Sandbox, {version}{emulated}"
    return f"profile “{connection}”, {version}"


def support_info(
    service: VerificationService, paths: AppPaths | None = None
) -> list[tuple[str, str]]:
    """(label, value) rows for the dialog and the support text, in display order."""
    paths = paths or default_paths()
    app = QGuiApplication.instance()
    platform_name = app.platformName() if isinstance(app, QGuiApplication) else "none"
    os_line = (
        f"{QSysInfo.prettyProductName()} ({QSysInfo.kernelType()} {QSysInfo.kernelVersion()}, "
        f"{QSysInfo.currentCpuArchitecture()})"
    )
    keyring_line = (
        service.secrets_backend
        if service.secrets_persistent
        else "none usable: credentials are kept in memory for this run only"
    )
    rows = [
        (APP_NAME, f"{__version__} ({build_kind()})"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", f"{qVersion()} (platform: {platform_name})"),
        ("PySide6", PYSIDE_VERSION),
        ("Operating system", os_line),
        ("Keyring", keyring_line),
    ]
    rows += [(info.display_name, _api_line(service, info.id)) for info in service.providers]
    rows += [
        ("Config folder", str(paths.config_dir)),
        ("Data folder", str(paths.data_dir)),
        ("Log folder", str(paths.log_dir)),
    ]
    return rows


def support_text(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    lines = [f"{APP_NAME} support information"]
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


class AboutDialog(QDialog):
    """Non-modal About box; `copy_button` puts `text` on the clipboard."""

    def __init__(
        self,
        service: VerificationService,
        paths: AppPaths | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.setWindowIcon(app_icon())
        self.rows = support_info(service, paths)
        self.text = support_text(self.rows)
        layout = QVBoxLayout(self)

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(self._logo())
        header.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(
            f"<h2 style='margin:0'>{APP_NAME}</h2><p style='margin:2px 0'>Version {__version__}"
            f"</p><p style='margin:2px 0'>{TAGLINE}</p>"
        )
        title.setWordWrap(True)
        title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        header.addWidget(title, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        layout.addSpacing(10)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.value_labels: dict[str, QLabel] = {}
        for label, value in self.rows:
            field = QLabel(value)
            field.setWordWrap(True)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.value_labels[label] = field
            form.addRow(f"{label}:", field)
        layout.addLayout(form)
        layout.addStretch(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this information for a support request")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        self.status = QLabel()
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(buttons)
        layout.addLayout(footer)
        self.setMinimumWidth(620)
        self.adjustSize()

    def _logo(self) -> QPixmap:
        return app_icon().pixmap(64, 64)

    def copy_to_clipboard(self) -> None:
        copy_text(self.text)
        self.status.setText("Copied.")
