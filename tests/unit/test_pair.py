"""The window's one image pair: change tracking, stale results, prepared once per rules."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from app import imaging
from app.domain import EncodedImage, LoadedImage, UploadRules
from app.errors import ImageError
from app.workflows.pair import ImagePairModel, PairSlot, fingerprint_of

RULES_A = UploadRules(max_bytes=6_000_000)
RULES_B = UploadRules(max_bytes=2_000_000, max_dimension=1024)


def photo(colour: tuple[int, int, int], size: tuple[int, int] = (300, 400)) -> LoadedImage:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return imaging.load(out.getvalue(), "photo.jpg")


def test_every_listener_hears_each_change_and_generations_count() -> None:
    pair = ImagePairModel()
    heard: list[PairSlot] = []
    unsubscribe = pair.subscribe(heard.append)
    first = photo((200, 10, 10))
    pair.set(PairSlot.SELFIE, first)
    pair.set(PairSlot.SELFIE, first)  # the same object echoed back: not a change
    pair.clear(PairSlot.SELFIE)
    assert heard == [PairSlot.SELFIE, PairSlot.SELFIE]
    assert pair.generation == 2
    assert pair.slot_generation(PairSlot.SELFIE) == 2
    assert pair.slot_generation(PairSlot.ID_PHOTO) == 0
    unsubscribe()
    pair.set(PairSlot.ID_PHOTO, first)
    assert heard == [PairSlot.SELFIE, PairSlot.SELFIE]
    current = pair.get(PairSlot.ID_PHOTO)
    assert current is not None
    assert current.fingerprint == fingerprint_of(first.data)
    assert len(current.short) == 8


def test_a_stamp_goes_stale_when_its_image_changes_or_is_cleared() -> None:
    pair = ImagePairModel()
    pair.set(PairSlot.ID_PHOTO, photo((10, 10, 200)))
    pair.set(PairSlot.SELFIE, photo((10, 200, 10)))
    stamp = pair.stamp((PairSlot.ID_PHOTO, PairSlot.SELFIE), "Sandbox")
    assert pair.is_current(stamp)
    assert pair.stale_reason(stamp) == ""
    assert stamp.slots == (PairSlot.ID_PHOTO, PairSlot.SELFIE)
    assert stamp.connection == "Sandbox"
    assert stamp.at.tzinfo is not None
    pair.set(PairSlot.SELFIE, photo((250, 250, 0)))
    assert not pair.is_current(stamp)
    assert "selfie changed" in pair.stale_reason(stamp)
    pair.clear(PairSlot.SELFIE)
    assert "cleared" in pair.stale_reason(stamp)
    # Only the images a result used matter: the ID-photo-only stamp stays current.
    id_only = pair.stamp((PairSlot.ID_PHOTO,), "Sandbox")
    pair.set(PairSlot.SELFIE, photo((1, 2, 3)))
    assert pair.is_current(id_only)


def test_the_same_image_is_prepared_once_per_upload_rules() -> None:
    pair = ImagePairModel()
    image = photo((120, 130, 140), (2000, 1500))
    calls: list[UploadRules] = []

    async def prepare(loaded: LoadedImage, rules: UploadRules) -> EncodedImage:
        calls.append(rules)
        await asyncio.sleep(0.01)
        return await asyncio.to_thread(imaging.prepare, loaded, rules)

    async def scenario() -> None:
        # The badge and an action at the same time share one preparation.
        first, second = await asyncio.gather(
            pair.prepared(image, RULES_A, prepare), pair.prepared(image, RULES_A, prepare)
        )
        assert first is second
        again = await pair.prepared(image, RULES_A, prepare)
        assert again is first
        other = await pair.prepared(image, RULES_B, prepare)
        assert max(other.width, other.height) <= 1024
        # A copy with equal bytes is the same image (the key is the fingerprint).
        copy = LoadedImage("other name.jpg", bytes(image.data), image.info, image.thumbnail_png)
        assert await pair.prepared(copy, RULES_A, prepare) is first

    asyncio.run(scenario())
    assert calls == [RULES_A, RULES_B]
    assert pair.prepare_count == 2


def test_a_failed_preparation_is_not_kept_and_a_cancelled_caller_does_not_cancel_it() -> None:
    pair = ImagePairModel()
    image = photo((5, 5, 5))
    attempts = 0

    async def failing(_loaded: LoadedImage, _rules: UploadRules) -> EncodedImage:
        nonlocal attempts
        attempts += 1
        raise ImageError("too small")

    async def slow(loaded: LoadedImage, rules: UploadRules) -> EncodedImage:
        await asyncio.sleep(0.05)
        return imaging.prepare(loaded, rules)

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(ImageError):
                await pair.prepared(image, RULES_A, failing)
        assert attempts == 2
        waiting = asyncio.ensure_future(pair.prepared(image, RULES_B, slow))
        await asyncio.sleep(0)
        follower = asyncio.ensure_future(pair.prepared(image, RULES_B, slow))
        await asyncio.sleep(0)
        waiting.cancel()
        encoded = await follower
        assert encoded.data

    asyncio.run(scenario())
