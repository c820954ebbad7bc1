"""Connection settings for one provider: profile name, URLs and options, and credentials.

Credentials go straight to the OS keyring through the service; the dialog never shows a
stored value (only whether one is set) and clears its fields when it closes.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.services import VerificationService
from app.settings import SANDBOX, ConnectionProfile
from ui.tasks import TaskRunner


class ConnectionDialog(QDialog):
    saved = Signal(str)  # connection name

    def __init__(
        self,
        service: VerificationService,
        tasks: TaskRunner,
        provider_id: str,
        connection: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._provider_id = provider_id
        self._original = connection if connection not in (None, SANDBOX) else None
        info = service.info(provider_id)
        self.setWindowTitle(f"{info.display_name}: connection settings")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        persistent = service.secrets_persistent
        # Where credentials go, said once and the same way everywhere in the dialog.
        self._secret_place = "in your system keyring" if persistent else "in memory for this run"
        intro = QLabel(
            f"A connection points FaceDesk at the real {info.display_name} service. URLs and "
            f"options are saved in FaceDesk's settings; credentials only {self._secret_place}."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        connection_box = QGroupBox("Connection")
        form = QFormLayout(connection_box)
        self.name_edit = QLineEdit(self._original or "")
        self.name_edit.setPlaceholderText("e.g. Production")
        form.addRow("Name:", self.name_edit)
        profile = service.profile(provider_id, self._original) if self._original else None
        self.field_edits: dict[str, QLineEdit | QComboBox] = {}
        for field in info.connection_fields:
            value = (profile.fields.get(field.name) if profile else None) or field.default
            widget: QLineEdit | QComboBox
            if field.choices:
                widget = QComboBox()
                widget.addItems(list(field.choices))
                if value in field.choices:
                    widget.setCurrentText(value)
            else:
                widget = QLineEdit(value)
                if field.is_url:
                    widget.setPlaceholderText("https://…")
            widget.setToolTip(field.help)
            self.field_edits[field.name] = widget
            form.addRow(f"{field.label}:", widget)
        layout.addWidget(connection_box)

        credentials_box = QGroupBox(
            "Credentials (stored in the system keyring)"
            if persistent
            else "Credentials (kept in memory for this run only)"
        )
        cform = QFormLayout(credentials_box)
        self.credential_edits: dict[str, QLineEdit] = {}
        for credential in info.credential_fields:
            edit = QLineEdit()
            if credential.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setToolTip(credential.help)
            edit.setPlaceholderText("not set")
            self.credential_edits[credential.name] = edit
            label = credential.label + (f" ({credential.group})" if credential.group else "")
            cform.addRow(f"{label}:", edit)
        if not service.secrets_persistent:
            warning = QLabel(
                "No system keyring is available: credentials are kept in memory for this run only."
            )
            warning.setWordWrap(True)
            warning.setStyleSheet("color: #8a5a00;")
            cform.addRow(warning)
        layout.addWidget(credentials_box)

        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.test_button = QPushButton("Test connection")
        buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.delete_button = QPushButton("Delete connection")
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        # After addButton: the button box shows every button it lays out. A new connection
        # has nothing saved to delete.
        self.delete_button.setVisible(self._original is not None)
        self.delete_button.setEnabled(self._original is not None)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self._on_save_clicked)
        buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self._on_test_clicked)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        layout.addWidget(buttons)
        self.finished.connect(self._wipe)
        if self._original:
            self._tasks.start(f"{provider_id}:credential_presence", self._show_presence())

    # --- values ---

    def _fields(self) -> dict[str, str]:
        values = {}
        for name, widget in self.field_edits.items():
            values[name] = (
                widget.currentText() if isinstance(widget, QComboBox) else widget.text().strip()
            )
        return values

    def _credentials(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.credential_edits.items()}

    def _wipe(self) -> None:
        for edit in self.credential_edits.values():
            edit.clear()

    async def _show_presence(self) -> None:
        assert self._original is not None
        presence = await self._service.credential_presence(self._provider_id, self._original)
        for name, present in presence.items():
            if present:
                self.credential_edits[name].setPlaceholderText(
                    "stored in keyring (unchanged)"
                    if self._service.secrets_persistent
                    else "kept in memory (unchanged)"
                )

    # --- actions ---

    def _on_test_clicked(self) -> None:
        self._tasks.start(
            f"{self._provider_id}:test_connection", self._test(), label="Testing connection"
        )

    async def _test(self) -> None:
        self.test_button.setEnabled(False)
        self.status.setText("Testing…")
        name = self.name_edit.text().strip() or self._original or "unsaved"
        try:
            outcome = await self._service.test_connection(
                self._provider_id,
                self._original or name,
                overrides=self._credentials(),
                field_overrides=self._fields(),
            )
        except AppError as exc:
            self.status.setStyleSheet("color: #b3261e;")
            self.status.setText(f"✖ {exc.user_message}")
            return
        finally:
            self.test_button.setEnabled(True)
        self.status.setStyleSheet("color: #1e7d3a;")
        self.status.setText(f"✔ {outcome}")

    def _on_save_clicked(self) -> None:
        self._tasks.start(
            f"{self._provider_id}:save_connection", self._save(), label="Saving connection"
        )

    async def _save(self) -> None:
        name = self.name_edit.text().strip()
        self.save_button.setEnabled(False)
        try:
            profile = ConnectionProfile(self._provider_id, name, self._fields())
            if self._original and self._original != name:
                # One call moves the stored credentials and registry rows to the new name.
                await self._service.rename_profile(self._provider_id, self._original, name)
                self._original = name
            await self._service.save_profile(profile)
            await self._service.save_credentials(self._provider_id, name, self._credentials())
            await self._service.set_active_connection(self._provider_id, name)
        except AppError as exc:
            self.status.setStyleSheet("color: #b3261e;")
            self.status.setText(f"✖ {exc.user_message}")
            return
        finally:
            self.save_button.setEnabled(True)
        self.saved.emit(name)
        self.accept()

    def _on_delete_clicked(self) -> None:
        self._tasks.start(f"{self._provider_id}:delete_connection", self._delete())

    async def _delete(self) -> None:
        from ui.dialogs.confirm import confirm_destructive

        if self._original is None:
            self.reject()  # a new connection was never saved: there is nothing to delete
            return
        if not await confirm_destructive(
            self,
            title="Delete connection",
            text=f"Delete the connection “{self._original}” and its credentials?",
            details=f"Its credentials are removed ({self._secret_place}). Sessions in the "
            "registry stay.",
        ):
            return
        await self._service.delete_profile(self._provider_id, self._original)
        self.saved.emit(SANDBOX)
        self.accept()
