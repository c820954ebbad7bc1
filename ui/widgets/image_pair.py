"""The ID photo and the selfie side by side; panels read them from here."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.services import VerificationService
from app.workflows.pair import ImagePairModel
from ui.tasks import TaskRunner
from ui.widgets.image_slot import ImageSlot


class ImagePair(QWidget):
    """Two image slots whose "prepared" badges follow the current provider."""

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
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.id_photo = ImageSlot("ID photo", f"{provider_id}:id", service, tasks, pair=self.model)
        self.selfie = ImageSlot("Selfie", f"{provider_id}:selfie", service, tasks, pair=self.model)
        layout.addWidget(self.id_photo)
        layout.addWidget(self.selfie)

    @property
    def slots(self) -> tuple[ImageSlot, ImageSlot]:
        return self.id_photo, self.selfie

    def set_provider(self, provider_id: str) -> None:
        """Re-prepare both images for another provider's upload rules."""
        self.provider_id = provider_id
        for slot in self.slots:
            slot.set_provider(provider_id)
