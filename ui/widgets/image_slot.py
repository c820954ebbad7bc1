"""An image slot (ID photo or selfie): open, preview, clear. Loading runs off the Qt thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import LoadedImage
from app.services import VerificationService
from ui.tasks import TaskRunner

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff *.gif *.heic *.heif *.avif)"


class ImageSlot(QFrame):
    image_changed = Signal()

    def __init__(
        self,
        title: str,
        slot_id: str,
        service: VerificationService,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.slot_id = slot_id
        self._service = service
        self._tasks = tasks
        self._loaded: LoadedImage | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.title = QLabel(f"<b>{title}</b>")
        layout.addWidget(self.title)
        self.preview = QLabel("Drop, paste or open an image")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(200, 200)
        layout.addWidget(self.preview, 1)
        self.info = QLabel()
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open…")
        self.clear_button = QPushButton("Clear")
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.clear_button)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.clear_button.clicked.connect(self.clear)

    @property
    def loaded(self) -> LoadedImage | None:
        return self._loaded

    def set_loaded(self, image: LoadedImage | None) -> None:
        self._loaded = image
        if image is None:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("Drop, paste or open an image")
            self.info.clear()
        else:
            pixmap = QPixmap()
            pixmap.loadFromData(image.thumbnail_png)
            self.preview.setPixmap(pixmap)
            info = image.info
            self.info.setText(
                f"{image.name}: {info.format} {info.width}×{info.height}, "
                f"{info.byte_size / 1024:.0f} KB"
            )
        self.image_changed.emit()

    def clear(self) -> None:
        self.set_loaded(None)

    async def load_file(self, path: str) -> None:
        self.set_loaded(await self._service.load_image_file(path))

    async def load_bytes(self, data: bytes, name: str) -> None:
        self.set_loaded(await self._service.load_image_bytes(data, name))

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self._tasks.start(f"load:{self.slot_id}", self.load_file(path), label="Loading image")
