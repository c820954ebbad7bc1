"""The main window: one tab per provider, a banner for errors, running tasks in the status bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.domain import CheckResult, SessionRecord
from app.services import VerificationService
from app.workflows.audit import VerifyResult
from app.workflows.pair import ImagePairModel
from ui.dialogs.about_dialog import AboutDialog, app_icon
from ui.errors import ErrorPresenter, StatusBanner
from ui.panels.base import Panel
from ui.panels.compare import TITLE as COMPARE_TITLE
from ui.panels.compare import ComparePanel
from ui.provider_tab import ProviderTab
from ui.shortcuts import ShortcutsDialog, WindowShortcuts
from ui.tasks import RunningTask, TaskRunner, readable_task_name
from ui.theme import apply_theme
from ui.widgets.result_card import RESULT_LISTENERS

COMPARE_TAB = "compare"  # the --tab name and the remembered tab of the Compare view
EMPTY_STATE = (
    "<h2>No vendors are installed</h2><p>This FaceDesk build registers no provider modules, so "
    "there is nothing to connect to yet. Install a build that includes Azure AI Face, Veriff, "
    "uqudo or GLAIR Vision.</p>"
)


class TaskIndicator(QWidget):
    """Status-bar widget: what is running, a busy bar, and a cancel button."""

    def __init__(
        self,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        vendors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        from PySide6.QtWidgets import QHBoxLayout

        self._tasks = tasks
        self._vendors = dict(vendors or {})  # provider id → display name
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.menu = QMenu(self)
        self.cancel_button.setMenu(self.menu)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        tasks.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        running = [t for t in self._tasks.running() if t.cancellable]
        visible = bool(running)
        self.bar.setVisible(visible)
        self.cancel_button.setVisible(visible)
        self.menu.clear()
        if not running:
            self.label.setText("Ready")
            return
        self.label.setText(
            self._label(running[0]) if len(running) == 1 else f"{len(running)} operations running"
        )
        for task in running:
            action = self.menu.addAction(f"Cancel “{self._label(task)}”")
            action.triggered.connect(lambda _=False, name=task.name: self._tasks.cancel(name))

    def _label(self, task: RunningTask) -> str:
        if task.label != task.name:
            return task.label
        return readable_task_name(task.name, self._vendors)

    def _on_cancel_clicked(self) -> None:
        for task in self._tasks.running():
            if task.cancellable:
                self._tasks.cancel(task.name)


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        service: VerificationService,
        *,
        log_path: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        from pathlib import Path

        self.service = service
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        central = QWidget()
        layout = QVBoxLayout(central)
        self.banner = StatusBanner()
        layout.addWidget(self.banner)
        self.presenter = ErrorPresenter(self.banner, Path(log_path) if log_path else None)
        self.tasks = TaskRunner(on_error=self._on_task_error, parent=self)
        # --- team store: outage banner and live refresh (ui/team_store.py) ---
        from ui.team_store import TeamStoreWatch

        self.store_banner = StatusBanner()
        layout.addWidget(self.store_banner)
        self.team_store = TeamStoreWatch(service, self.tasks, self.store_banner)
        # --- end of team store ---
        self.tasks.failed.connect(self.presenter.task_failed)
        self.tasks.succeeded.connect(self.presenter.task_succeeded)
        self.tabs = QTabWidget()
        self.provider_tabs: dict[str, ProviderTab] = {}
        # One ID photo and one selfie for the whole window: loading in any tab shows in all.
        self.pair = ImagePairModel()
        self.compare_panel = ComparePanel(service, self.tasks, self.presenter, pair=self.pair)
        if self.compare_panel.vendors:
            self.tabs.addTab(self.compare_panel, COMPARE_TITLE)
            self.tabs.setTabToolTip(0, "One pair through every vendor's face match, side by side")
        for info in service.providers:
            tab = ProviderTab(service, info.id, self.tasks, self.presenter, pair=self.pair)
            self.provider_tabs[info.id] = tab
            self.tabs.addTab(tab, info.display_name)
            self.tabs.setTabToolTip(self.tabs.count() - 1, info.description)
        if not self.provider_tabs:
            empty = QLabel(EMPTY_STATE)
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            empty.setWordWrap(True)
            layout.addWidget(empty, 1)
        else:
            layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.task_indicator = TaskIndicator(
            self.tasks, vendors={info.id: info.display_name for info in service.providers}
        )
        self.statusBar().addPermanentWidget(self.task_indicator)
        self.presenter.credentials_requested.connect(self._on_credentials_requested)
        self._build_menus()
        self.shortcuts = WindowShortcuts(self)
        # --- operator safety: idle lock, privacy view, capture exclusion (ui/safety.py) ---
        from ui.safety import OperatorSafety

        self.safety = OperatorSafety(self)
        self.safety.add_menu_entries(self.view_menu, self.tools_menu)
        # --- end of operator safety ---
        for warning in service.startup_warnings:
            self.presenter.info(warning, severity="warning")
        RESULT_LISTENERS.append(self._on_result_shown)
        self.case_status = QLabel()
        self.statusBar().addWidget(self.case_status)
        self.set_active_case(service.active_case)
        if service.audit_check is not None:
            self.show_audit_check(service.audit_check)
        self._restore_geometry()

    def _on_task_error(self, exc: BaseException, retry: Callable[[], None] | None = None) -> None:
        self.team_store.on_error(exc)
        self.presenter.show(exc, retry)

    def show_audit_check(self, check: VerifyResult) -> None:
        """A red banner when the start-up verification of the audit trail failed."""
        if not check.ok:
            self.presenter.info(
                f"The audit trail failed verification: {check.summary}", severity="error"
            )

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        for mode, label in (("system", "Follow system"), ("light", "Light"), ("dark", "Dark")):
            action = QAction(label, self, checkable=True)
            action.setChecked(self.service.settings.theme == mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_theme(m))
            group.addAction(action)
            theme_menu.addAction(action)
        self.view_menu = view_menu
        tools_menu = self.menuBar().addMenu("&Tools")
        self.tools_menu = tools_menu
        audit_action = QAction("&Audit trail…", self)
        audit_action.triggered.connect(self.open_audit_trail)
        tools_menu.addAction(audit_action)
        cases_action = QAction("&Cases…", self)
        cases_action.triggered.connect(self.open_cases)
        tools_menu.addAction(cases_action)
        registry_action = QAction("&Session registry…", self)
        registry_action.triggered.connect(self.open_registry)
        tools_menu.addAction(registry_action)
        team_action = QAction("&Team store…", self)
        team_action.triggered.connect(self.open_team_store)
        tools_menu.addAction(team_action)
        self.help_menu = self.menuBar().addMenu("&Help")
        shortcuts_action = QAction("&Keyboard shortcuts", self)
        shortcuts_action.triggered.connect(self.show_shortcuts)
        self.help_menu.addAction(shortcuts_action)
        about_action = QAction(f"&About {APP_NAME}", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        self.help_menu.addAction(about_action)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> AboutDialog:
        """Open the non-modal About box (versions and folders, copyable for support)."""
        dialog = AboutDialog(self.service, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_audit_trail(self) -> None:
        from ui.dialogs.audit_dialog import AuditDialog

        dialog = AuditDialog(self.service, self.tasks, self)
        self.team_store.changed.connect(dialog.refresh)
        dialog.open()

    def open_team_store(self) -> QDialog:
        from ui.team_store import TeamStoreDialog

        dialog = TeamStoreDialog(self.service, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_cases(self) -> QDialog:
        from ui.dialogs.case_dialog import CaseDialog

        dialog = CaseDialog(
            self.service, self.tasks, self.set_active_case, self.current_pair, parent=self
        )
        self.team_store.changed.connect(dialog.on_store_changed)
        dialog.open()
        return dialog

    def current_pair(self) -> list[tuple[str, bytes, str]]:
        """The current tab's prepared (metadata-stripped) ID photo and selfie, for a case."""
        current = self.tabs.currentWidget()
        if not isinstance(current, ProviderTab):
            return []
        pair = []
        for role, slot in (("id", current.images.id_photo), ("selfie", current.images.selfie)):
            image = slot.prepared
            if image is not None:
                pair.append((role, image.data, image.mime_type))
        return pair

    def _on_result_shown(self, card: QWidget, result: CheckResult) -> None:
        """A result shown in this window while a case is active joins the case's timeline."""
        try:
            if self.service.active_case is None or not self.isAncestorOf(card):
                return
        except RuntimeError:  # this window was deleted without closing: stop listening
            RESULT_LISTENERS.remove(self._on_result_shown)
            return
        tab, panel = None, None
        widget = card.parentWidget()
        while widget is not None and tab is None:
            if isinstance(widget, Panel) and panel is None:
                panel = widget
            if isinstance(widget, ProviderTab):
                tab = widget
            widget = widget.parentWidget()
        if tab is None:
            return
        operation = panel.title if panel is not None else "check"
        self.tasks.start(
            f"case:attach:{id(result)}",
            self.service.attach_check_to_active_case(tab.provider_id, operation, result),
            cancellable=False,
        )

    def set_active_case(self, reference: str | None) -> None:
        """Show the active case in the title and the status bar."""
        self.setWindowTitle(f"{APP_NAME} — case {reference}" if reference else APP_NAME)
        self.case_status.setText(f"Active case: {reference}" if reference else "")

    def open_registry(self) -> None:
        from ui.dialogs.registry_dialog import RegistryDialog

        dialog = RegistryDialog(self.service, self.tasks, self)
        dialog.session_opened.connect(self.open_tracked_session)
        dialog.open()

    def open_tracked_session(self, record: SessionRecord) -> bool:
        """Show a registry session in its vendor's tab and panel; False if none shows it."""
        tab = self.provider_tabs.get(record.provider)
        if tab is None:
            return False
        if record.profile != self.service.active_connection(record.provider):
            self.presenter.info(
                f"This session belongs to the connection “{record.profile}”. Switch the "
                f"{tab.context.display_name} tab to it, then open the session again.",
                severity="warning",
            )
            return False
        for index, panel in enumerate(tab.panels):
            if panel.open_tracked(record):
                self.tabs.setCurrentWidget(tab)
                tab.panel_tabs.setCurrentIndex(index)
                return True
        return False

    def set_theme(self, mode: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, mode)
        self.tasks.start("settings:theme", self.service.set_theme(mode))

    def _on_credentials_requested(self, provider_name: str) -> None:
        for provider_id, tab in self.provider_tabs.items():
            if self.service.info(provider_id).display_name == provider_name or not provider_name:
                self.tabs.setCurrentWidget(tab)
                tab.open_connection_dialog(new=self.service.is_sandbox(provider_id))
                return

    def _restore_geometry(self) -> None:
        state = QSettings()
        geometry = state.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            available = screen.availableGeometry()
            self.resize(min(1360, available.width()), min(900, available.height()))
        tab = state.value("window/tab")
        if isinstance(tab, str) and tab in self.provider_tabs:
            self.tabs.setCurrentWidget(self.provider_tabs[tab])
        elif tab == COMPARE_TAB:
            self.tabs.setCurrentWidget(self.compare_panel)

    def closeEvent(self, event: QCloseEvent) -> None:
        from ui.clipboard import wipe_now

        wipe_now()  # a concealed copy does not outlive the window
        self.team_store.stop()
        if self._on_result_shown in RESULT_LISTENERS:
            RESULT_LISTENERS.remove(self._on_result_shown)
        state = QSettings()
        state.setValue("window/geometry", self.saveGeometry())
        current = self.tabs.currentWidget()
        if isinstance(current, ProviderTab):
            state.setValue("window/tab", current.provider_id)
        elif current is self.compare_panel:
            state.setValue("window/tab", COMPARE_TAB)
        super().closeEvent(event)
        self.closed.emit()
