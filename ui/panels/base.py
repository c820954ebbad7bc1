"""What every capability panel gets, and the base class they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtWidgets import QAbstractButton, QWidget

from app.domain import EncodedImage, SessionRecord
from app.errors import ImageError
from app.services import VerificationService
from app.workflows.pair import ImagePairModel, InputStamp, PairSlot
from app.workflows.sandbox_controls import SandboxControls
from app.workflows.sessions import AuditRule, SessionTracker, run_audited
from ui.errors import ErrorPresenter
from ui.tasks import TaskRunner
from ui.widgets.image_pair import ImagePair
from ui.widgets.image_slot import ImageSlot
from ui.widgets.result_card import ResultCard

T = TypeVar("T")


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

    @property
    def pair(self) -> ImagePairModel:
        """The window's one image pair (shared by every tab)."""
        return self.images.model

    @property
    def sessions(self) -> SessionTracker:
        """This provider's rows in the session registry."""
        return SessionTracker(self.service, self.provider_id)

    @property
    def sandbox(self) -> SandboxControls:
        """The sandbox's demo controls; they refuse off the Sandbox connection."""
        return SandboxControls(self.service, on_sandbox=self.service.is_sandbox(self.provider_id))

    async def audited(self, rule: AuditRule, call: Callable[[], Awaitable[T]], *targets: str) -> T:
        """Run a consequential call with its attempt and outcome in the audit trail."""
        return await run_audited(self.service, self.provider_id, rule, call, *targets)

    def task_name(self, operation: str) -> str:
        return f"{self.provider_id}:{operation}"

    def stamp(self, *slots: ImageSlot) -> InputStamp:
        """What a result about to be made depends on: these images and the connection."""
        return self.pair.stamp(
            tuple(slot.kind for slot in slots), self.service.active_connection(self.provider_id)
        )

    async def prepared(self, slot: ImageSlot) -> EncodedImage:
        """The slot's image prepared for this provider's upload rules (made once, then reused)."""
        loaded = self.pair.image(slot.kind)
        if loaded is None:
            title = "an ID photo" if slot.kind is PairSlot.ID_PHOTO else "a selfie"
            raise ImageError(f"Load {title} first: drop a file on it, paste, or use Open….")
        provider_id = self.provider_id
        return await self.pair.prepared(
            loaded,
            self.service.info(provider_id).upload_rules,
            lambda image, _rules: self.service.prepare_image(provider_id, image),
        )


class Panel(QWidget):
    """One capability of one provider. Subclasses set `title` and build their form."""

    title = "Panel"
    # Button attributes for Ctrl+Return (the first one enabled and visible runs) and for F5.
    main_actions: tuple[str, ...] = ()
    refresh_actions: tuple[str, ...] = ()

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        unsubscribe = ctx.pair.subscribe(self.on_images_changed)
        self.destroyed.connect(lambda _obj=None: unsubscribe())

    def on_images_changed(self, slot: PairSlot) -> None:
        """An image of the pair changed or was cleared: results made from it go stale at once."""
        for card in self.findChildren(ResultCard):
            card.check_stale(self.ctx.pair)

    def on_connection_changed(self) -> None:
        """The tab switched connection (Sandbox ↔ profile): drop results of the old one."""

    def open_tracked(self, record: SessionRecord) -> bool:
        """Open a registry session here if this panel shows its kind; False if not."""
        return False

    def trigger(self, names: tuple[str, ...]) -> bool:
        """Click the first of these buttons the operator could click now; False if none."""
        for name in names:
            button = getattr(self, name, None)
            if (
                isinstance(button, QAbstractButton)
                and button.isEnabled()
                and button.isVisibleTo(self)
            ):
                button.click()
                return True
        return False
