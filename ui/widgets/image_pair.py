"""The ID photo and the selfie side by side; panels read them from here."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.services import VerificationService
from app.workflows.pair import ImagePairModel
from ui.tasks import TaskRunner
from ui.widgets.image_slot import ImageSlot


class ImagePair(QWidget):
    """Two image slots whose "prepared" badges follow the current provider."""

    # Both slots turned into strips (True) or back into large drop targets: the tab resizes.
    compact_changed = Signal(bool)
    texts_changed = Signal()

    def __init__(
        self,
        service: VerificationService,
        tasks: TaskRunner,
        provider_id: str,
        parent: QWidget | None = None,
        *,
        model: ImagePairModel | None = None,
    ) -> None:
        super().__init__(parent)
        self.provider_id = provider_id
        # The window passes its one pair to every tab; alone (tests) a pair has its own.
        self.model = model if model is not None else ImagePairModel()
        self._row = layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.id_photo = ImageSlot("ID photo", f"{provider_id}:id", service, tasks, pair=self.model)
        self.selfie = ImageSlot("Selfie", f"{provider_id}:selfie", service, tasks, pair=self.model)
        layout.addWidget(self.id_photo)
        layout.addWidget(self.selfie)
        # Both slots follow the same pair, so they change together; the ID photo reports it.
        self.id_photo.compact_changed.connect(self.compact_changed)
        # A badge or warning that appears or goes changes a strip's height.
        for slot in self.slots:
            slot.image_changed.connect(self.texts_changed)
            slot.prepared_changed.connect(self.texts_changed)

    @property
    def compact(self) -> bool:
        return self.id_photo.compact

    def strip_height(self) -> int:
        """The height both strips need at the current width (wrapped warnings included)."""
        layout = self._row
        width = self.width()
        if layout.hasHeightForWidth() and width > 0:
            return max(layout.heightForWidth(width), layout.minimumSize().height())
        return self.sizeHint().height()

    @property
    def slots(self) -> tuple[ImageSlot, ImageSlot]:
        return self.id_photo, self.selfie

    def set_provider(self, provider_id: str) -> None:
        """Re-prepare both images for another provider's upload rules."""
        self.provider_id = provider_id
        for slot in self.slots:
            slot.set_provider(provider_id)
