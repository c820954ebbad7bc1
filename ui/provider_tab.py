"""A provider's tab: connection selector, the image pair, and one panel per declared capability."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import VerificationService
from app.settings import SANDBOX
from app.workflows.pair import ImagePairModel
from ui.dialogs.connection_dialog import ConnectionDialog
from ui.errors import ErrorPresenter
from ui.panels import panels_for
from ui.panels.base import Panel, PanelContext
from ui.panels.batch import BatchPanel, batch_kinds
from ui.tasks import TaskRunner
from ui.widgets.image_pair import ImagePair
from ui.widgets.image_slot import QWIDGETSIZE_MAX

NEW_CONNECTION = "New connection…"
SANDBOX_NOTE = (
    "Sandbox: an offline emulator of this vendor. No data leaves this computer, and its scores "
    "are derived from image hashes: they are not biometric."
)


class ProviderTab(QWidget):
    def __init__(
        self,
        service: VerificationService,
        provider_id: str,
        tasks: TaskRunner,
        presenter: ErrorPresenter,
        parent: QWidget | None = None,
        *,
        pair: ImagePairModel | None = None,
        build_panels: bool = True,
    ) -> None:
        """The tab; with `build_panels=False` its panels come from `build_panels()`, in steps."""
        super().__init__(parent)
        self.service = service
        self.provider_id = provider_id
        self.tasks = tasks
        self.presenter = presenter
        info = service.info(provider_id)
        layout = QVBoxLayout(self)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Connection:"))
        self.connection_combo = QComboBox()
        self.connection_combo.setMinimumWidth(180)
        bar.addWidget(self.connection_combo)
        self.settings_button = QPushButton("Connection settings…")
        bar.addWidget(self.settings_button)
        # Choice fields (e.g. Azure's API version) are switched right here, Sandbox included.
        self.option_combos: dict[str, QComboBox] = {}
        for field in info.connection_fields:
            if len(field.choices) > 1:
                bar.addWidget(QLabel(f"{field.label}:"))
                combo = QComboBox()
                combo.addItems(list(field.choices))
                combo.setToolTip(field.help)
                combo.activated.connect(
                    lambda _index, name=field.name: self._on_option_activated(name)
                )
                self.option_combos[field.name] = combo
                bar.addWidget(combo)
        self.connection_state = QLabel()
        self.connection_state.setWordWrap(True)
        bar.addWidget(self.connection_state, 1)
        layout.addLayout(bar)

        self.images = ImagePair(service, tasks, provider_id, model=pair)
        self.panel_tabs = QTabWidget()
        self.panel_tabs.setDocumentMode(True)
        self.context = PanelContext(service, provider_id, tasks, presenter, self.images)
        self.panels: list[Panel] = []

        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.images)
        splitter.addWidget(self.panel_tabs)
        # The panel's action and verdict come first: at 1024×700 they must fit unscrolled.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)
        self.images.compact_changed.connect(lambda _compact: self._fit_images())
        self.images.texts_changed.connect(self._fit_images)
        self._fit_images()
        self.connection_combo.activated.connect(self._on_connection_combo_activated)
        self.settings_button.clicked.connect(self._on_settings_clicked)
        if build_panels:
            for _step in self.build_panels():
                pass

    def build_panels(self) -> Iterator[None]:
        """Add one panel per declared capability, yielding after each (10–20 ms apiece).

        The connection's state is shown once all are there, since it enables their tabs.
        """
        info = self.service.info(self.provider_id)
        # Batch (issue 14): a Batch panel after the capability panels, for vendors with a job.
        batch_panels: list[type[Panel]] = [BatchPanel] if batch_kinds(self.provider_id) else []
        for panel_class in [*panels_for(self.provider_id, info.capabilities), *batch_panels]:
            panel = panel_class(self.context)
            self.panels.append(panel)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(panel)
            self.panel_tabs.addTab(scroll, panel.title)
            yield
        self._refresh_connections()

    def _fit_images(self) -> None:
        """Large drop targets while nothing is loaded; strips of their own height once loaded."""
        if self.images.compact:
            self.images.setFixedHeight(self.images.strip_height())
        else:
            # Wrapped badge text does not count in a splitter's minimum: leave the slots room.
            self.images.setMinimumHeight(250)
            self.images.setMaximumHeight(QWIDGETSIZE_MAX)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_images()  # wrapped text in a strip needs more or less height at a new width

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_images()

    def _refresh_connections(self) -> None:
        self.connection_combo.blockSignals(True)
        self.connection_combo.clear()
        self.connection_combo.addItems(list(self.service.connections(self.provider_id)))
        self.connection_combo.addItem(NEW_CONNECTION)
        self.connection_combo.setCurrentText(self.service.active_connection(self.provider_id))
        self.connection_combo.blockSignals(False)
        fields = self.service.connection_fields(self.provider_id)
        for name, combo in self.option_combos.items():
            combo.setCurrentText(fields.get(name, ""))
        self.tasks.start(f"{self.provider_id}:connection_state", self._update_state())

    async def _update_state(self) -> None:
        status = await self.service.connection_status(self.provider_id)
        self.settings_button.setText(
            "New connection…" if status.is_sandbox else "Connection settings…"
        )
        self.settings_button.setToolTip(
            "Point this tab at the real vendor with your own credentials"
            if status.is_sandbox
            else "Edit this connection's URLs and credentials"
        )
        # The sandbox note takes the palette's link colour through its foreground role, not a
        # style sheet: a style sheet's palette() is resolved once and kept across theme switches.
        self.connection_state.setForegroundRole(
            QPalette.ColorRole.Link if status.is_sandbox else QPalette.ColorRole.WindowText
        )
        if status.is_sandbox:
            self.connection_state.setText(SANDBOX_NOTE)
            self.connection_state.setStyleSheet("")
        elif status.missing_credentials:
            self.connection_state.setText(
                "Set credentials to use this connection: missing "
                + ", ".join(status.missing_credentials)
                + "."
            )
            self.connection_state.setStyleSheet("color: #b3261e;")
        else:
            fields = self.service.connection_fields(self.provider_id)
            where = next((v for k, v in fields.items() if "url" in k or k == "endpoint"), "")
            self.connection_state.setText(f"Connected to {where}" if where else "Ready.")
            self.connection_state.setStyleSheet("")
        for index, _panel in enumerate(self.panels):
            self.panel_tabs.widget(index).setEnabled(status.ready)
            self.panel_tabs.setTabToolTip(
                index, "" if status.ready else "Set credentials first (Connection settings…)"
            )

    def _on_connection_combo_activated(self, _index: int) -> None:
        choice = self.connection_combo.currentText()
        if choice == NEW_CONNECTION:
            self.open_connection_dialog(new=True)
            return
        self.tasks.start(f"{self.provider_id}:switch_connection", self._switch(choice))

    async def _switch(self, name: str) -> None:
        await self.service.set_active_connection(self.provider_id, name)
        for panel in self.panels:
            panel.on_connection_changed()
        self._refresh_connections()

    def _on_option_activated(self, name: str) -> None:
        value = self.option_combos[name].currentText()
        self.tasks.start(f"{self.provider_id}:option:{name}", self._set_option(name, value))

    async def _set_option(self, name: str, value: str) -> None:
        try:
            await self.service.set_connection_option(self.provider_id, name, value)
        finally:
            self._after_dialog()

    def _on_settings_clicked(self) -> None:
        self.open_connection_dialog(new=self.service.is_sandbox(self.provider_id))

    def open_connection_dialog(self, *, new: bool) -> ConnectionDialog:
        current = self.service.active_connection(self.provider_id)
        dialog = ConnectionDialog(
            self.service,
            self.tasks,
            self.provider_id,
            None if new or current == SANDBOX else current,
            self,
        )
        dialog.saved.connect(lambda _name: self._after_dialog())
        dialog.rejected.connect(self._refresh_connections)
        dialog.open()
        return dialog

    def _after_dialog(self) -> None:
        for panel in self.panels:
            panel.on_connection_changed()
        self._refresh_connections()
