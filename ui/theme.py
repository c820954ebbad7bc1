"""Light and dark Fusion palettes; "system" follows the OS colour scheme where Qt reports one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f6fdf"
VERDICT_COLOURS = {
    "positive": ("#1e7d3a", "#e3f4e8"),
    "negative": ("#b3261e", "#fbe6e4"),
    "inconclusive": ("#8a5a00", "#fff3d6"),
    "pending": ("#4b5563", "#eceff3"),
}


def _dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(37, 39, 43), QColor(28, 30, 33), QColor(232, 234, 237)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(44, 46, 51))
    palette.setColor(QPalette.ColorRole.ToolTipBase, base)
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, QColor(50, 53, 58))
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.BrightText, QColor(255, 99, 99))
    palette.setColor(QPalette.ColorRole.Link, QColor(120, 170, 255))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 144, 150))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 124, 130))
    return palette


def _light_palette() -> QPalette:
    palette = QApplication.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.Window, QColor(246, 247, 249))
    return palette


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def is_dark(mode: str) -> bool:
    return mode == "dark" or (mode == "system" and system_prefers_dark())


def apply_theme(app: QApplication, mode: str) -> None:
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if is_dark(mode) else _light_palette())
