"""The sandbox frame: admin API, clock, fault injection, and the not-biometric similarity."""

from __future__ import annotations

import io
import json
import random

import httpx
import pytest
from PIL import Image, ImageDraw

from app.errors import ProviderUnavailable
from app.http import NO_RETRY, make_client, send
from app.sandbox import similarity
from app.sandbox.app import IN_PROCESS_ORIGIN, SandboxTransport, create_sandbox_app
from app.sandbox.state import SandboxState


def photo(seed: int, size: tuple[int, int] = (480, 600), grayscale: bool = False) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(20, 200), y0 + rng.randrange(20, 200)
        draw.ellipse((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image.convert("L").convert("RGB") if grayscale else image


def encode(image: Image.Image, fmt: str = "JPEG", **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def test_same_photo_reencoded_and_resized_scores_high() -> None:
    original = photo(1)
    a = similarity.analyse(encode(original, quality=95))
    b = similarity.analyse(encode(original.resize((240, 300)), quality=60))
    c = similarity.analyse(encode(original, "PNG"))
    assert similarity.similarity(a, b) is not None
    assert similarity.similarity(a, b) >= 0.8  # type: ignore[operator]
    assert similarity.similarity(a, c) >= 0.9  # type: ignore[operator]


def test_slightly_cropped_photo_still_scores_high() -> None:
    original = photo(2)
    cropped = original.crop((8, 10, 472, 590))
    score = similarity.similarity(
        similarity.analyse(encode(original)), similarity.analyse(encode(cropped))
    )
    assert score is not None
    assert score >= 0.7


def test_different_photos_score_low() -> None:
    scores = [
        similarity.similarity(
            similarity.analyse(encode(photo(i))), similarity.analyse(encode(photo(i + 100)))
        )
        for i in range(5)
    ]
    assert all(s is not None and s < 0.5 for s in scores), scores


def test_blank_image_has_no_face_and_wide_strip_has_several() -> None:
    blank = similarity.analyse(encode(Image.new("RGB", (400, 400), (200, 180, 170))))
    strip = similarity.analyse(encode(photo(3, size=(1200, 500))))
    assert blank.faces == ()
    assert len(strip.faces) == 3
    assert similarity.similarity(blank, strip) is None


def test_grayscale_reads_as_spoof_and_colour_as_live() -> None:
    live = similarity.spoof_probability(similarity.analyse(encode(photo(4))))
    spoof = similarity.spoof_probability(similarity.analyse(encode(photo(4, grayscale=True))))
    assert live < 0.3 < 0.8 < spoof


def test_non_images_are_rejected() -> None:
    with pytest.raises(similarity.NotAnImage):
        similarity.analyse(b"%PDF-1.7 not an image")
    assert similarity.sniff_format(b"\x89PNG\r\n\x1a\nrest") == "PNG"
    assert similarity.sniff_format(b"hello") is None


@pytest.fixture
async def sandbox_client() -> httpx.AsyncClient:
    app, _state = create_sandbox_app(SandboxState())
    return make_client(transport=SandboxTransport(app), allow_plain_http=True, retry=NO_RETRY)


async def test_admin_index_lists_vendors_and_clock(sandbox_client: httpx.AsyncClient) -> None:
    async with sandbox_client as client:
        index = (await client.get(f"{IN_PROCESS_ORIGIN}/_sandbox/")).json()
        assert "not biometric" in index["sandbox"]
        before = index["clock"]
        advanced = await client.post(f"{IN_PROCESS_ORIGIN}/_sandbox/clock", json={"seconds": 3600})
        assert advanced.json()["offset"] == 3600
        assert advanced.json()["now"] >= before + 3600
        bad = await client.post(f"{IN_PROCESS_ORIGIN}/_sandbox/clock", json={"seconds": -1})
        assert bad.status_code == 400
        await client.post(f"{IN_PROCESS_ORIGIN}/_sandbox/reset")
        assert (await client.get(f"{IN_PROCESS_ORIGIN}/_sandbox/clock")).json()["offset"] == 0


async def test_fault_status_applies_to_the_next_n_calls(sandbox_client: httpx.AsyncClient) -> None:
    async with sandbox_client as client:
        await client.post(
            f"{IN_PROCESS_ORIGIN}/_sandbox/faults",
            json={
                "kind": "status",
                "path": "^/nowhere",
                "count": 2,
                "status": 503,
                "body": {"error": "busy"},
                "headers": {"Retry-After": "3"},
            },
        )
        first = await client.get(f"{IN_PROCESS_ORIGIN}/nowhere")
        second = await client.get(f"{IN_PROCESS_ORIGIN}/nowhere")
        third = await client.get(f"{IN_PROCESS_ORIGIN}/nowhere")
    assert (first.status_code, first.json(), first.headers["retry-after"]) == (
        503,
        {"error": "busy"},
        "3",
    )
    assert second.status_code == 503
    assert third.status_code == 404


async def test_fault_malformed_and_non_json(sandbox_client: httpx.AsyncClient) -> None:
    async with sandbox_client as client:
        await client.post(
            f"{IN_PROCESS_ORIGIN}/_sandbox/faults", json={"kind": "malformed", "path": "^/a"}
        )
        await client.post(
            f"{IN_PROCESS_ORIGIN}/_sandbox/faults", json={"kind": "non_json", "path": "^/b"}
        )
        malformed = await client.get(f"{IN_PROCESS_ORIGIN}/a")
        html = await client.get(f"{IN_PROCESS_ORIGIN}/b")
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    assert html.status_code == 502
    assert html.headers["content-type"].startswith("text/html")


async def test_fault_drop_looks_like_a_dropped_connection(
    sandbox_client: httpx.AsyncClient,
) -> None:
    async with sandbox_client as client:
        await client.post(
            f"{IN_PROCESS_ORIGIN}/_sandbox/faults", json={"kind": "drop", "path": "^/c"}
        )
        with pytest.raises(ProviderUnavailable, match="dropped"):
            await send(
                client,
                "POST",
                f"{IN_PROCESS_ORIGIN}/c",
                provider="Sandbox",
                operation="x",
                path_template="/c",
            )


async def test_unknown_fault_kind_is_rejected(sandbox_client: httpx.AsyncClient) -> None:
    async with sandbox_client as client:
        response = await client.post(
            f"{IN_PROCESS_ORIGIN}/_sandbox/faults", json={"kind": "explode", "path": "x"}
        )
    assert response.status_code == 400
