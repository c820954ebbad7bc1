"""A zoomable viewer for a prepared image: fit, 100 %, mouse-wheel zoom and drag to pan.

It shows the prepared image (what the vendor receives: upright, sRGB, within the vendor's
size limits), so a full-size pixmap of a 48 MP original is never built.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImageReader, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import EncodedImage

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 16.0


class ZoomView(QGraphicsView):
    """A graphics view that zooms around the cursor on wheel and pans by dragging."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.fit_mode = True

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self.fit_mode = False
        self.resetTransform()
        self.scale(factor, factor)

    def fit(self) -> None:
        self.fit_mode = True
        rect = self.scene().itemsBoundingRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()


class ImageViewer(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Image")
        self.resize(900, 700)
        layout = QVBoxLayout(self)
        self.caption = QLabel()
        layout.addWidget(self.caption)
        self.scene = QGraphicsScene(self)
        self.view = ZoomView()
        self.view.setScene(self.scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene.addItem(self._item)
        layout.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        self.fit_button = QPushButton("Fit")
        self.actual_button = QPushButton("100 %")
        buttons.addWidget(self.fit_button)
        buttons.addWidget(self.actual_button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Wheel to zoom, drag to pan"))
        layout.addLayout(buttons)
        self.fit_button.clicked.connect(self.view.fit)
        self.actual_button.clicked.connect(lambda: self.view.set_zoom(1.0))

    @property
    def pixmap(self) -> QPixmap:
        return self._item.pixmap()

    def show_image(self, image: EncodedImage, caption: str) -> None:
        self._set(image.data, f"{caption}: {image.format.value} {image.width}×{image.height}")

    def show_thumbnail(self, png: bytes, caption: str) -> None:
        self._set(png, caption)

    def _set(self, data: bytes, caption: str) -> None:
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer)
        image = reader.read()
        self._item.setPixmap(QPixmap.fromImage(image))
        self.scene.setSceneRect(self._item.boundingRect())
        self.caption.setText(caption)
        self.view.fit()
