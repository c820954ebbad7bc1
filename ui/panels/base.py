"""What every capability panel gets, and the base class they share."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from app.domain import EncodedImage
from app.errors import ImageError
from app.services import VerificationService
from ui.errors import ErrorPresenter
from ui.tasks import TaskRunner
from ui.widgets.image_pair import ImagePair
from ui.widgets.image_slot import ImageSlot


@dataclass
class PanelContext:
    service: VerificationService
    provider_id: str
    tasks: TaskRunner
    presenter: ErrorPresenter
    images: ImagePair

    @property
    def display_name(self) -> str:
        return self.service.info(self.provider_id).display_name

    def task_name(self, operation: str) -> str:
        return f"{self.provider_id}:{operation}"

    async def prepared(self, slot: ImageSlot) -> EncodedImage:
        """The slot's image prepared for this provider's upload rules (off the Qt thread)."""
        loaded = slot.loaded
        if loaded is None:
            title = "ID photo" if slot is self.images.id_photo else "selfie"
            raise ImageError(f"Load a {title} first: drop a file on it, paste, or use Open….")
        return await self.service.prepare_image(self.provider_id, loaded)


class Panel(QWidget):
    """One capability of one provider. Subclasses set `title` and build their form."""

    title = "Panel"

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx

    def on_connection_changed(self) -> None:
        """The tab switched connection (Sandbox ↔ profile): drop results of the old one."""
