"""Hardening rules of app/http.py as seen by the vendor clients: ids, caps and nesting."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from app.domain import EncodedImage, ImageFormat
from app.errors import (
    AppError,
    PermissionDenied,
    RequestRejected,
    UnexpectedResponse,
    ValidationError,
)
from app.http import (
    JSON_REPLY_CAP,
    MAX_JSON_DEPTH,
    ProviderContext,
    error_body,
    json_body,
    make_client,
    parse_json,
    path_segment,
    send,
    vendor_path,
)
from app.store import Store
from app.vendors.azure_face import client as azure_face
from app.vendors.azure_face.types import SessionKind as AzureKind
from app.vendors.azure_face.types import SessionOptions
from app.vendors.glair import client as glair
from app.vendors.glair.types import SessionKind as GlairKind
from app.vendors.uqudo import client as uqudo
from app.vendors.veriff import client as veriff

BAD_IDS = [
    ("", "is empty"),
    ("   ", "is empty"),
    (".", "cannot be"),
    ("..", "cannot be"),
    ("a/b", "contains"),
    ("../../largepersongroups", "contains"),
    ("abc?top=1000", "contains"),
    ("abc#frag", "contains"),
    ("a\\b", "contains"),
    ("a\nb", "contains"),
    ("a\x00b", "contains"),
    ("x" * 257, "longer than 256"),
    ("x" * 100_000, "longer than 256"),
]


@pytest.mark.parametrize(("value", "problem"), BAD_IDS)
def test_path_segment_refuses_ids_that_change_the_path(value: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as info:
        path_segment(value, field="person_id")
    assert info.value.field == "person_id"
    assert "person id" in info.value.user_message


def test_path_segment_encodes_what_it_accepts() -> None:
    assert path_segment(" a b:c ", field="x") == "a%20b%3Ac"
    assert path_segment("x" * 256, field="x") == "x" * 256
    assert vendor_path("g/{group_id}/p/{person_id}", group_id="g 1", person_id="p") == "g/g%201/p/p"


def test_vendor_path_needs_every_placeholder() -> None:
    with pytest.raises(TypeError):
        vendor_path("g/{group_id}/p/{person_id}", group_id="g")


def provider(
    module: ModuleType, tmp_path: Path, reply: httpx.Response | None = None
) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/api/oauth/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        if reply is not None:
            return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)
        return httpx.Response(200, json={})

    info = module.INFO
    values = {f.name: f.default for f in info.connection_fields}
    values.update(
        {
            k: v.replace("{root}", "https://vendor.example")
            for k, v in info.sandbox_connection.items()
        }
    )

    async def credential(name: str) -> str:
        return str(info.sandbox_credentials[name])

    ctx = ProviderContext(
        info=info,
        connection="Test",
        profile_key=f"{info.id}.Test",
        fields=values,
        http=make_client(transport=httpx.MockTransport(handler)),
        credential=credential,
        store=Store(tmp_path / "s.sqlite3"),
        is_sandbox=False,
    )
    return module.create(ctx), seen


@pytest.mark.parametrize("person_id", [".", "..", "", "a/b", "x?y"])
async def test_azure_delete_person_with_a_dot_id_is_refused_before_sending(
    tmp_path: Path, person_id: str
) -> None:
    client, seen = provider(azure_face, tmp_path)
    with pytest.raises(ValidationError) as info:
        await client.delete_person("victim-group", person_id)
    assert info.value.field == "person_id"
    assert seen == []


async def test_azure_delete_group_with_a_dot_dot_id_is_refused(tmp_path: Path) -> None:
    client, seen = provider(azure_face, tmp_path)
    with pytest.raises(ValidationError, match="group id"):
        await client.delete_group("..")
    assert seen == []


@pytest.mark.parametrize("sid", ["../../largepersongroups", "abc?top=1000", "..", ""])
async def test_glair_session_ids_are_validated(tmp_path: Path, sid: str) -> None:
    client, seen = provider(glair, tmp_path)
    with pytest.raises(ValidationError, match="session id"):
        await client.get_session(GlairKind.PASSIVE, sid)
    assert seen == []


async def test_glair_session_id_is_encoded_as_one_segment(tmp_path: Path) -> None:
    client, seen = provider(glair, tmp_path)
    with pytest.raises(UnexpectedResponse):  # {} is not a session
        await client.get_session(GlairKind.PASSIVE, "abc def")
    assert seen[0].url.raw_path.endswith(b"/passive-liveness-sessions/abc%20def")


@pytest.mark.parametrize(
    "call",
    [lambda p: p.delete_face(".."), lambda p: p.download_image("a/../b")],
)
async def test_uqudo_ids_are_validated(tmp_path: Path, call: Any) -> None:
    client, seen = provider(uqudo, tmp_path)
    with pytest.raises(ValidationError):
        await call(client)
    assert not [r for r in seen if "/oauth/" not in r.url.path]


def test_deep_json_is_a_value_error_not_a_recursion_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="deeper"):
        parse_json(deep)
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    # Brackets inside strings are text, not nesting.
    assert parse_json('{"a": "' + "[" * 1000 + '\\" ["}') == {"a": "[" * 1000 + '" ['}


def test_json_body_and_error_body_survive_deep_nesting() -> None:
    deep = httpx.Response(400, content=b"[" * 100_000 + b"]" * 100_000)
    assert error_body(deep) == {}
    with pytest.raises(UnexpectedResponse) as info:
        json_body(deep, provider="Vendor", operation="read")
    assert (info.value.provider, info.value.operation) == ("Vendor", "read")


async def test_reply_cap_is_configurable_per_call() -> None:
    body = b"x" * 1000
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    async with make_client(transport=transport) as client:
        response = await send(
            client,
            "GET",
            "https://vendor.example/m",
            provider="Vendor",
            operation="media",
            path_template="/m",
            max_reply_bytes=1000,
        )
        assert response.content == body
        with pytest.raises(UnexpectedResponse, match="larger than") as info:
            await send(
                client,
                "GET",
                "https://vendor.example/m",
                provider="Vendor",
                operation="media",
                path_template="/m",
                max_reply_bytes=999,
            )
    assert info.value.operation == "media"
    assert JSON_REPLY_CAP == 8 * 1024 * 1024


async def test_gzip_bomb_counts_at_its_unpacked_size() -> None:
    import gzip

    packed = gzip.compress(b" " * (2 * 1024 * 1024))
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=packed, headers={"content-encoding": "gzip"})
    )
    async with make_client(transport=transport) as client:
        with pytest.raises(UnexpectedResponse, match="larger than"):
            await send(
                client,
                "GET",
                "https://vendor.example/j",
                provider="Vendor",
                operation="read",
                path_template="/j",
                max_reply_bytes=1024 * 1024,
            )


async def test_an_over_long_url_is_a_typed_error_not_invalid_url() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with make_client(transport=transport) as client:
        with pytest.raises(AppError) as info:
            await send(
                client,
                "GET",
                "https://vendor.example/" + "a" * 100_000,
                provider="Vendor",
                operation="read",
                path_template="/x",
            )
    assert info.value.provider == "Vendor"


async def test_veriff_409_on_read_decision_does_not_speak_of_media(tmp_path: Path) -> None:
    client, _seen = provider(veriff, tmp_path, httpx.Response(409, json={"status": "fail"}))
    with pytest.raises(RequestRejected) as info:
        await client.get_decision("0f8fad5b-d9cb-469f-a165-70867728950e")
    assert "media" not in info.value.user_message
    assert "read decision" in info.value.user_message


async def test_veriff_409_on_upload_still_explains_media(tmp_path: Path) -> None:
    client, _seen = provider(veriff, tmp_path, httpx.Response(409, json={"status": "fail"}))
    image = EncodedImage(b"\xff\xd8\xff" + b"0" * 100, ImageFormat.JPEG, 10, 10)
    with pytest.raises(RequestRejected, match="media"):
        await client.upload_media("0f8fad5b-d9cb-469f-a165-70867728950e", image, "face")


async def test_azure_403_on_liveness_does_not_speak_of_limited_access(tmp_path: Path) -> None:
    forbidden = httpx.Response(
        403, json={"error": {"code": "UnsupportedFeature", "message": "Feature is not supported"}}
    )
    client, _seen = provider(azure_face, tmp_path, forbidden)
    with pytest.raises(PermissionDenied) as info:
        await client.create_session(AzureKind.LIVENESS, SessionOptions())
    assert "Limited Access" not in info.value.user_message
    assert "liveness" in info.value.user_message
    with pytest.raises(PermissionDenied, match="Limited Access"):
        await client.verify_faces("f1", "f2")
