"""The privacy view (View › Privacy view, Ctrl+Shift+P): for demos on a shared screen.

While on, every photo FaceDesk shows (image slots, thumbnails on result cards, the zoom view,
QR codes of hosted links) is blurred, item views show ids as `••••1a2b` (and names as `••••`
where a view is marked as holding names), and `CopyField`s show masked values. Copy still copies
the real value: the view hides what the audience sees, not what the operator works with.

Widgets created while the view is on are treated when they are shown (an application-wide Show
filter), so a result that arrives mid-demo is blurred before its first paint.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QGraphicsBlurEffect,
    QGraphicsView,
    QLabel,
    QStyledItemDelegate,
    QWidget,
)

from app.privacy import mask_ids_in, mask_name

PRIVACY_PROPERTY = "facedeskPrivacy"
BLUR_RADIUS = 22.0


class Private(StrEnum):
    """What a widget shows, for the privacy view (`mark_private`)."""

    PHOTO = "photo"  # always blurred, even before it holds a pixmap
    NAMES = "names"  # an item view whose rows are people's names or labels
    PUBLIC = "public"  # never treated (the app icon, vendor logos)


def mark_private(widget: QWidget, kind: Private) -> None:
    widget.setProperty(PRIVACY_PROPERTY, kind.value)


def _kind(widget: QWidget) -> str:
    value = widget.property(PRIVACY_PROPERTY)
    return value if isinstance(value, str) else ""


class _PrivacyBlur(QGraphicsBlurEffect):
    """Ours, so turning the view off removes only the effects it added."""


class MaskingDelegate(QStyledItemDelegate):
    """Paints an item view's text masked; the model keeps the real values."""

    def __init__(self, original: QAbstractItemDelegate, names: bool) -> None:
        super().__init__()
        self.original = original
        self.names = names

    def displayText(self, value: object, locale: object) -> str:
        text = super().displayText(value, locale)  # type: ignore[arg-type]  # QLocale
        return mask_name(text) if self.names else mask_ids_in(text)


class PrivacyView(QObject):
    changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.enabled = False
        self._filtering = False

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        app = QApplication.instance()
        if enabled and isinstance(app, QApplication) and not self._filtering:
            app.installEventFilter(self)
            self._filtering = True
        if isinstance(app, QApplication):
            for window in app.topLevelWidgets():
                self.apply(window)
        self.changed.emit(enabled)

    def apply(self, root: QWidget) -> None:
        """Treat (or restore) `root` and everything inside it."""
        for widget in (root, *root.findChildren(QWidget)):
            self._treat(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.enabled and event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            self.apply(watched)
        return False

    def _treat(self, widget: QWidget) -> None:
        kind = _kind(widget)
        if kind == Private.PUBLIC:
            return
        if isinstance(widget, QAbstractItemView):
            self._treat_view(widget, names=kind == Private.NAMES)
            return
        photo = kind == Private.PHOTO or isinstance(widget, QGraphicsView)
        if isinstance(widget, QLabel) and not widget.pixmap().isNull():
            photo = True
        if not photo:
            return
        effect = widget.graphicsEffect()
        if self.enabled and effect is None:
            blur = _PrivacyBlur(widget)
            blur.setBlurRadius(BLUR_RADIUS)
            blur.setBlurHints(QGraphicsBlurEffect.BlurHint.QualityHint)
            widget.setGraphicsEffect(blur)
        elif not self.enabled and isinstance(effect, _PrivacyBlur):
            widget.setGraphicsEffect(None)  # type: ignore[arg-type]

    def _treat_view(self, view: QAbstractItemView, *, names: bool) -> None:
        current = view.itemDelegate()
        if self.enabled and not isinstance(current, MaskingDelegate):
            delegate = MaskingDelegate(current, names)
            delegate.setParent(view)
            view.setItemDelegate(delegate)
        elif not self.enabled and isinstance(current, MaskingDelegate):
            view.setItemDelegate(current.original)
            current.deleteLater()
        view.viewport().update()


_view: PrivacyView | None = None


def privacy_view() -> PrivacyView:
    """The application's one privacy view."""
    global _view
    if _view is None:
        _view = PrivacyView()
    return _view
