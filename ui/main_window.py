"""The main window: one tab per provider, a banner for errors, running tasks in the status bar.

The window is built in two steps so that it is on screen before the service layer loads: the
shell (title, menus, banners, status bar: PySide6 and a few light modules) paints first, and
`attach(service)` then adds the vendor tabs, which need the service layer and the panels
(together about four times the cost of the bare window). Everything heavy is imported there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QPaintEvent
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
from ui.errors import ErrorPresenter, StatusBanner
from ui.icons import app_icon
from ui.tasks import RunningTask, TaskRunner, readable_task_name
from ui.theme import apply_theme

if TYPE_CHECKING:
    from app.domain import CheckResult, SessionRecord
    from app.services import VerificationService
    from app.workflows.audit import VerifyResult
    from ui.dialogs.about_dialog import AboutDialog
    from ui.panels.compare import ComparePanel
    from ui.provider_tab import ProviderTab
    from ui.safety import OperatorSafety
    from ui.shortcuts import ShortcutsDialog, WindowShortcuts
    from ui.team_store import TeamStoreWatch

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

    def set_vendors(self, vendors: Mapping[str, str]) -> None:
        """Provider id → display name, for naming tasks; known once the service is attached."""
        self._vendors = dict(vendors)
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
    first_painted = Signal()  # once, when the window (the shell at first) is on screen

    def __init__(
        self,
        service: VerificationService | None = None,
        *,
        log_path: str | None = None,
        theme: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """The shell; with `service`, the whole window at once (as tests and the self-test do).

        `theme` checks its entry in View › Theme before a service says which one is saved.
        """
        super().__init__(parent)
        from pathlib import Path

        self._service: VerificationService | None = None
        self._attached = False
        self._closing = False
        self._painted = False
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        central = QWidget()
        self._layout = QVBoxLayout(central)
        self.banner = StatusBanner()
        self._layout.addWidget(self.banner)
        self.presenter = ErrorPresenter(self.banner, Path(log_path) if log_path else None)
        self.tasks = TaskRunner(on_error=self._on_task_error, parent=self)
        self.tasks.failed.connect(self.presenter.task_failed)
        self.tasks.succeeded.connect(self.presenter.task_succeeded)
        self.store_banner = StatusBanner()  # the team store's outage banner (ui/team_store.py)
        self._layout.addWidget(self.store_banner)
        self.tabs = QTabWidget()
        self.provider_tabs: dict[str, ProviderTab] = {}
        self.opening = QLabel("Opening your workspace…")
        self.opening.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.opening.setEnabled(False)  # drawn in the palette's muted text colour
        self._layout.addWidget(self.opening, 1)
        self.setCentralWidget(central)
        self.task_indicator = TaskIndicator(self.tasks)
        self.task_indicator.label.setText("Starting…")
        self.statusBar().addPermanentWidget(self.task_indicator)
        self.case_status = QLabel()
        self.statusBar().addWidget(self.case_status)
        self._service_actions: list[QAction] = []  # enabled once the service is attached
        # A theme picked from View › Theme before the settings are read; it wins over them.
        self.theme_chosen_in_shell: str | None = None
        self._build_menus(theme or "system")
        self._restore_size()
        if service is not None:
            self.attach(service)

    @property
    def service(self) -> VerificationService:
        if self._service is None:
            raise RuntimeError("the window's service is not attached yet")
        return self._service

    @property
    def attached(self) -> bool:
        """True once every tab is built (see `attach`)."""
        return self._attached

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    def attach(self, service: VerificationService) -> None:
        """Build the vendor tabs, the Compare view and everything else that needs `service`."""
        for _step in self._attach_steps(service):
            pass

    async def attach_progressively(self, service: VerificationService) -> None:
        """`attach`, one panel per turn of the event loop, so the shell keeps answering meanwhile.

        The tabs appear together once all are built, on the tab the operator left last.
        """
        import asyncio

        for _step in self._attach_steps(service):
            await asyncio.sleep(0)
            if self._closing:  # closed while the tabs were being built
                return

    def _attach_steps(self, service: VerificationService) -> Iterator[None]:
        """Build the window in steps of one tab or panel (10–20 ms each); yields between them."""
        from app.workflows.pair import ImagePairModel
        from ui.panels.compare import TITLE as COMPARE_TITLE
        from ui.panels.compare import ComparePanel
        from ui.provider_tab import ProviderTab
        from ui.safety import OperatorSafety
        from ui.shortcuts import WindowShortcuts
        from ui.team_store import TeamStoreWatch
        from ui.widgets.result_card import RESULT_LISTENERS

        if self._service is not None:
            raise RuntimeError("the window already has a service")
        self._service = service
        self.team_store: TeamStoreWatch = TeamStoreWatch(service, self.tasks, self.store_banner)
        # One ID photo and one selfie for the whole window: loading in any tab shows in all.
        self.pair = ImagePairModel()
        self.compare_panel: ComparePanel = ComparePanel(
            service, self.tasks, self.presenter, pair=self.pair
        )
        yield
        for info in service.providers:
            tab = ProviderTab(
                service, info.id, self.tasks, self.presenter, pair=self.pair, build_panels=False
            )
            self.provider_tabs[info.id] = tab
            yield
            yield from tab.build_panels()
        if self.compare_panel.vendors:
            self.tabs.addTab(self.compare_panel, COMPARE_TITLE)
            self.tabs.setTabToolTip(0, "One pair through every vendor's face match, side by side")
        for info in service.providers:
            self.tabs.addTab(self.provider_tabs[info.id], info.display_name)
            self.tabs.setTabToolTip(self.tabs.count() - 1, info.description)
        self._restore_tab()
        self._layout.removeWidget(self.opening)
        self.opening.deleteLater()
        if not self.provider_tabs:
            empty = QLabel(EMPTY_STATE)
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            empty.setWordWrap(True)
            self._layout.addWidget(empty, 1)
        else:
            self._layout.addWidget(self.tabs, 1)
        self.task_indicator.set_vendors({info.id: info.display_name for info in service.providers})
        self.presenter.credentials_requested.connect(self._on_credentials_requested)
        if self.theme_chosen_in_shell is not None:  # picked while the workspace was opening
            self.tasks.start("settings:theme", service.set_theme(self.theme_chosen_in_shell))
        for action in self.theme_actions.actions():
            action.setChecked(
                action.data() == (self.theme_chosen_in_shell or service.settings.theme)
            )
        self.shortcuts: WindowShortcuts = WindowShortcuts(self)
        # Operator safety: idle lock, privacy view, capture exclusion (ui/safety.py).
        self.safety: OperatorSafety = OperatorSafety(self)
        self.safety.add_menu_entries(self.view_menu, self.tools_menu)
        for warning in service.startup_warnings:
            self.presenter.info(warning, severity="warning")
        RESULT_LISTENERS.append(self._on_result_shown)
        self.set_active_case(service.active_case)
        if service.audit_check is not None:
            self.show_audit_check(service.audit_check)
        for action in self._service_actions:
            action.setEnabled(True)
        self._attached = True

    def _on_task_error(self, exc: BaseException, retry: Callable[[], None] | None = None) -> None:
        if self._service is not None:
            self.team_store.on_error(exc)
        self.presenter.show(exc, retry)

    def show_audit_check(self, check: VerifyResult) -> None:
        """A red banner when the start-up verification of the audit trail failed."""
        if not check.ok:
            self.presenter.info(
                f"The audit trail failed verification: {check.summary}", severity="error"
            )

    def _build_menus(self, theme: str) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions = QActionGroup(self)
        for mode, label in (("system", "Follow system"), ("light", "Light"), ("dark", "Dark")):
            action = QAction(label, self, checkable=True)
            action.setData(mode)
            action.setChecked(theme == mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_theme(m))
            self.theme_actions.addAction(action)
            theme_menu.addAction(action)
        self.view_menu = view_menu
        tools_menu = self.menuBar().addMenu("&Tools")
        self.tools_menu = tools_menu
        for label, slot in (
            ("&Audit trail…", self.open_audit_trail),
            ("&Cases…", self.open_cases),
            ("&Session registry…", self.open_registry),
            ("&Team store…", self.open_team_store),
        ):
            action = QAction(label, self)
            action.triggered.connect(lambda _=False, open_=slot: open_())
            action.setEnabled(False)
            self._service_actions.append(action)
            tools_menu.addAction(action)
        self.help_menu = self.menuBar().addMenu("&Help")
        shortcuts_action = QAction("&Keyboard shortcuts", self)
        shortcuts_action.triggered.connect(self.show_shortcuts)
        self.help_menu.addAction(shortcuts_action)
        about_action = QAction(f"&About {APP_NAME}", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        about_action.setEnabled(False)
        self._service_actions.append(about_action)
        self.help_menu.addAction(about_action)

    def show_shortcuts(self) -> ShortcutsDialog:
        from ui.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> AboutDialog:
        """Open the non-modal About box (versions and folders, copyable for support)."""
        from ui.dialogs.about_dialog import AboutDialog

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
        from ui.provider_tab import ProviderTab

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
        from ui.panels.base import Panel
        from ui.provider_tab import ProviderTab
        from ui.widgets.result_card import RESULT_LISTENERS

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
        if self.attached:
            self.tasks.start("settings:theme", self.service.set_theme(mode))
        else:  # chosen in the shell: shown now, saved once the workspace is open
            self.theme_chosen_in_shell = mode

    def _on_credentials_requested(self, provider_name: str) -> None:
        for provider_id, tab in self.provider_tabs.items():
            if self.service.info(provider_id).display_name == provider_name or not provider_name:
                self.tabs.setCurrentWidget(tab)
                tab.open_connection_dialog(new=self.service.is_sandbox(provider_id))
                return

    def _restore_size(self) -> None:
        geometry = QSettings().value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            available = screen.availableGeometry()
            self.resize(min(1360, available.width()), min(900, available.height()))

    def _restore_tab(self) -> None:
        tab = QSettings().value("window/tab")
        if isinstance(tab, str) and tab in self.provider_tabs:
            self.tabs.setCurrentWidget(self.provider_tabs[tab])
        elif tab == COMPARE_TAB:
            self.tabs.setCurrentWidget(self.compare_panel)

    def closeEvent(self, event: QCloseEvent) -> None:
        from ui.clipboard import wipe_now

        wipe_now()  # a concealed copy does not outlive the window
        self._closing = True
        state = QSettings()
        state.setValue("window/geometry", self.saveGeometry())
        if self._service is not None:
            self.team_store.stop()
        if self.attached:  # closed before the tabs were built: the remembered tab stays
            from ui.provider_tab import ProviderTab
            from ui.widgets.result_card import RESULT_LISTENERS

            if self._on_result_shown in RESULT_LISTENERS:
                RESULT_LISTENERS.remove(self._on_result_shown)
            current = self.tabs.currentWidget()
            if isinstance(current, ProviderTab):
                state.setValue("window/tab", current.provider_id)
            elif current is self.compare_panel:
                state.setValue("window/tab", COMPARE_TAB)
        super().closeEvent(event)
        self.closed.emit()
