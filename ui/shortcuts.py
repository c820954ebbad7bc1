"""Window-wide keyboard shortcuts and the Help › Keyboard shortcuts list.

Each shortcut acts on the current vendor tab: its image slots (the window's one pair) and the
panel shown. Panels name their main and refresh buttons (`Panel.main_actions`,
`Panel.refresh_actions`); a shortcut clicks the first of them the operator could click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QVBoxLayout, QWidget

from ui.panels.base import Panel
from ui.widgets.image_slot import ImageSlot

if TYPE_CHECKING:
    from ui.main_window import MainWindow
    from ui.provider_tab import ProviderTab

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+O", "Open an ID photo"),
    ("Ctrl+Shift+O", "Open a selfie"),
    ("Ctrl+V", "Paste an image into the slot clicked last, or the first empty one"),
    ("Ctrl+Return", "Run the shown panel's main action (Match, Verify, Create…)"),
    ("F5", "Refresh the shown panel's list"),
    ("Ctrl+F", "Filter the shown list (the focused one); in the registry and audit trail too"),
    ("Alt+1 … Alt+4", "Switch to the first … fourth vendor tab"),
    ("Alt+0", "Switch to the Compare view"),
    ("Ctrl+L", "Lock FaceDesk now (it also locks after the idle time in Lock and privacy)"),
    ("Ctrl+Shift+P", "Privacy view: blur photos, mask ids and names (for demos)"),
    ("Ctrl+Q", "Quit"),
)


class WindowShortcuts:
    """Installs the shortcuts on `window` as actions (they work wherever focus is)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.actions: dict[str, QAction] = {}
        self._add("open_id", "Ctrl+O", lambda: self._open(selfie=False))
        self._add("open_selfie", "Ctrl+Shift+O", lambda: self._open(selfie=True))
        self._add("paste", QKeySequence.StandardKey.Paste, self.paste)
        self._add("main_action", "Ctrl+Return", lambda: self._panel_action(main=True))
        self._add("main_action_enter", "Ctrl+Enter", lambda: self._panel_action(main=True))
        self._add("refresh", "F5", lambda: self._panel_action(main=False))
        for index in range(4):
            self._add(f"tab_{index + 1}", f"Alt+{index + 1}", lambda i=index: self._tab(i))
        self._add("compare", "Alt+0", self._compare)
        for tab in window.provider_tabs.values():
            for slot in tab.images.slots:
                slot.paste_shortcut.setEnabled(False)  # the window's Ctrl+V picks the slot

    def _add(self, name: str, key: str | QKeySequence.StandardKey, slot: object) -> None:
        action = QAction(name, self.window)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.window.addAction(action)
        self.actions[name] = action

    # --- targets -------------------------------------------------------------------------------

    def current_tab(self) -> ProviderTab | None:
        from ui.provider_tab import ProviderTab

        tab = self.window.tabs.currentWidget()
        return tab if isinstance(tab, ProviderTab) else None

    def current_panel(self) -> Panel | None:
        tab = self.current_tab()
        if tab is None or not tab.panels:
            return None
        index = tab.panel_tabs.currentIndex()
        return tab.panels[index] if 0 <= index < len(tab.panels) else None

    def paste_target(self) -> ImageSlot | None:
        """The slot with focus (clicked last), else the first empty one, else none."""
        tab = self.current_tab()
        if tab is None:
            return None
        widget: QWidget | None = QApplication.focusWidget()
        while widget is not None:
            if isinstance(widget, ImageSlot) and widget in tab.images.slots:
                return widget
            widget = widget.parentWidget()
        return next((slot for slot in tab.images.slots if slot.loaded is None), None)

    # --- actions -------------------------------------------------------------------------------

    def _open(self, *, selfie: bool) -> None:
        tab = self.current_tab()
        if tab is not None:
            (tab.images.selfie if selfie else tab.images.id_photo).open_file_dialog()

    def paste(self) -> None:
        slot = self.paste_target()
        if slot is None:
            self.window.presenter.info(
                "Both images are loaded: click the ID photo or the selfie, then paste to "
                "replace it."
            )
            return
        slot.paste()

    def _panel_action(self, *, main: bool) -> None:
        panel = self.current_panel()
        if panel is not None and panel.isEnabled():
            panel.trigger(panel.main_actions if main else panel.refresh_actions)

    def _tab(self, index: int) -> None:
        # Alt+N names the Nth vendor whatever precedes the vendor tabs (the Compare view).
        vendors = list(self.window.provider_tabs.values())
        if index < len(vendors):
            self.window.tabs.setCurrentWidget(vendors[index])

    def _compare(self) -> None:
        if self.window.tabs.indexOf(self.window.compare_panel) >= 0:
            self.window.tabs.setCurrentWidget(self.window.compare_panel)


class ShortcutsDialog(QDialog):
    """Help › Keyboard shortcuts: every shortcut, in one table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        rows = "".join(
            f"<tr><td><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for key, what in SHORTCUTS
        )
        self.table = QLabel(f"<table cellpadding='3'>{rows}</table>")
        layout.addWidget(self.table)
