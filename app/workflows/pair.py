"""The one image pair a window works on: the ID photo and the selfie, shared by every tab.

Qt-free so the rules are testable without a display. Listeners are plain callables called
synchronously on every change; each change bumps a generation so a result can say which images
it came from and be found stale once they are replaced or cleared. Prepared versions (what a
vendor receives) are cached by (image fingerprint, upload rules): made once, reused by every
action and every badge.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from app.domain import EncodedImage, LoadedImage, UploadRules

SHORT_FINGERPRINT = 8
# Two images times a handful of vendors' rules; old entries go first beyond this.
CACHE_LIMIT = 16


class PairSlot(StrEnum):
    ID_PHOTO = "id"
    SELFIE = "selfie"

    @property
    def label(self) -> str:
        return "ID photo" if self is PairSlot.ID_PHOTO else "selfie"


def fingerprint_of(data: bytes) -> str:
    """The hex SHA-256 of the original bytes: the image's identity in results and audits."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class PairImage:
    image: LoadedImage
    fingerprint: str

    @property
    def short(self) -> str:
        return self.fingerprint[:SHORT_FINGERPRINT]


@dataclass(frozen=True, slots=True)
class InputStamp:
    """Which images (by fingerprint), connection and time a result was made from."""

    inputs: tuple[tuple[PairSlot, PairImage], ...]
    connection: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def fingerprint(self, slot: PairSlot) -> str | None:
        return next((image.fingerprint for s, image in self.inputs if s is slot), None)

    @property
    def slots(self) -> tuple[PairSlot, ...]:
        return tuple(slot for slot, _image in self.inputs)


Listener = Callable[[PairSlot], None]
Preparer = Callable[[LoadedImage, UploadRules], Awaitable[EncodedImage]]


class ImagePairModel:
    """The ID photo and selfie, a change counter, and the cache of prepared versions."""

    def __init__(self) -> None:
        self._images: dict[PairSlot, PairImage | None] = dict.fromkeys(PairSlot)
        self._generations: dict[PairSlot, int] = dict.fromkeys(PairSlot, 0)
        self.generation = 0
        self._listeners: list[Listener] = []
        self._prepared: dict[tuple[str, UploadRules], asyncio.Future[EncodedImage]] = {}
        self.prepare_count = 0  # how many times an image was actually prepared (tests, bench)

    # --- state ---------------------------------------------------------------------------------

    def get(self, slot: PairSlot) -> PairImage | None:
        return self._images[slot]

    def image(self, slot: PairSlot) -> LoadedImage | None:
        current = self._images[slot]
        return current.image if current is not None else None

    def slot_generation(self, slot: PairSlot) -> int:
        return self._generations[slot]

    def set(self, slot: PairSlot, image: LoadedImage | None) -> None:
        """Replace (or clear, with None) one image; every listener hears of it."""
        current = self._images[slot]
        if image is not None and current is not None and current.image is image:
            return  # the same object again (a slot echoing the model): no change
        self._images[slot] = (
            PairImage(image, fingerprint_of(image.data)) if image is not None else None
        )
        self._generations[slot] += 1
        self.generation += 1
        for listener in list(self._listeners):
            listener(slot)

    def clear(self, slot: PairSlot) -> None:
        self.set(slot, None)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(slot)` after every change; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # --- results bound to inputs ---------------------------------------------------------------

    def stamp(self, slots: tuple[PairSlot, ...], connection: str) -> InputStamp:
        """What a result about to be made depends on (slots not loaded are left out)."""
        inputs = tuple((slot, image) for slot in slots if (image := self._images[slot]) is not None)
        return InputStamp(inputs, connection)

    def is_current(self, stamp: InputStamp) -> bool:
        """True while every image the stamp names is still the one loaded in its slot."""
        for slot, image in stamp.inputs:
            current = self._images[slot]
            if current is None or current.fingerprint != image.fingerprint:
                return False
        return True

    def stale_reason(self, stamp: InputStamp) -> str:
        """Why a result no longer describes the images on screen ("" while it still does)."""
        for slot, image in stamp.inputs:
            current = self._images[slot]
            if current is None:
                return f"the {slot.label} it was made from ({image.short}) was cleared"
            if current.fingerprint != image.fingerprint:
                return (
                    f"the {slot.label} changed ({image.short} → {current.short}) since this "
                    "result was made"
                )
        return ""

    # --- prepared versions ---------------------------------------------------------------------

    async def prepared(
        self, image: LoadedImage, rules: UploadRules, prepare: Preparer
    ) -> EncodedImage:
        """The image prepared for `rules`, made once per (fingerprint, rules) and then reused.

        The preparation runs as its own task, so concurrent callers (the badge and an action)
        share it and a caller cancelled meanwhile does not cancel it for the others. A failed
        preparation is not kept: the next call tries again and raises the same typed error.
        """
        key = (fingerprint_of(image.data), rules)
        task = self._prepared.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.ensure_future(prepare(image, rules))
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            self._prepared[key] = task
            self.prepare_count += 1
            self._trim()
        return await asyncio.shield(task)

    def _forget_failed(
        self, key: tuple[str, UploadRules], done: asyncio.Future[EncodedImage]
    ) -> None:
        failed = done.cancelled() or done.exception() is not None
        if failed and self._prepared.get(key) is done:
            del self._prepared[key]

    def _trim(self) -> None:
        while len(self._prepared) > CACHE_LIMIT:
            oldest = next(iter(self._prepared))
            del self._prepared[oldest]
