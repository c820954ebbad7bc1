"""Every client operation that sends a body or a credential, against a misbehaving vendor.

For all four vendors, over a real loopback socket: a redirect to another origin is never
followed (the second listener receives nothing), and deep, huge, endless or trickled replies
end in a typed `AppError` (never RecursionError, MemoryError or a raw httpx exception).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from PIL import Image

from app.domain import EncodedImage, ImageFormat
from app.errors import AppError, ProviderUnavailable, UnexpectedResponse
from app.http import NO_RETRY, ProviderContext, make_client
from app.store import Store
from app.vendors.azure_face import client as azure_face
from app.vendors.azure_face.types import SessionKind as AzureKind
from app.vendors.azure_face.types import SessionOptions
from app.vendors.glair import client as glair
from app.vendors.glair.types import SessionKind as GlairKind
from app.vendors.uqudo import client as uqudo
from app.vendors.veriff import client as veriff
from app.vendors.veriff.types import VeriffSessionRequest
from tests.hostile_vendor import HostileVendor

Operation = Callable[[Any], Awaitable[object]]
SID = str(uuid.UUID(int=7))


def _jpeg() -> EncodedImage:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 240), (120, 90, 60)).save(buffer, "JPEG")
    return EncodedImage(buffer.getvalue(), ImageFormat.JPEG, 240, 240)


IMG = _jpeg()

OPERATIONS: dict[str, tuple[ModuleType, dict[str, Operation]]] = {
    "azure_face": (
        azure_face,
        {
            "test connection": lambda p: p.test_connection(),
            "detect": lambda p: p.detect(IMG),
            "match": lambda p: p.match_faces(IMG, IMG),
            "verify": lambda p: p.verify_faces("f1", "f2"),
            "create liveness": lambda p: p.create_session(AzureKind.LIVENESS, SessionOptions()),
            "create liveness+verify": lambda p: p.create_session(
                AzureKind.LIVENESS_WITH_VERIFY, SessionOptions(verify_image=IMG)
            ),
            "create group": lambda p: p.create_group("g1", "Group", "data"),
            "create person": lambda p: p.create_person("g1", "Jane Doe", "data"),
            "add face": lambda p: p.add_person_face("g1", "p1", IMG),
            "train": lambda p: p.train("g1"),
            "delete person": lambda p: p.delete_person("g1", "p1"),
            "session image": lambda p: p.session_image("img1"),
        },
    ),
    "veriff": (
        veriff,
        {
            "test connection": lambda p: p.test_connection(),
            "create session": lambda p: p.create_session(
                VeriffSessionRequest(first_name="Jane", last_name="Doe", vendor_data="case-1")
            ),
            "submit": lambda p: p.submit_session(SID),
            "upload media": lambda p: p.upload_media(SID, IMG, "face"),
            "read person": lambda p: p.get_person(SID),
            "read decision": lambda p: p.get_decision(SID),
            "download media": lambda p: p.download_media(SID),
        },
    ),
    "uqudo": (
        uqudo,
        {
            "test connection": lambda p: p.test_connection(),
            "face session": lambda p: p.create_face_session(IMG),
            "match": lambda p: p.match_faces(IMG, IMG),
            "search": lambda p: p.search_face(IMG, insert_if_missing=True),
            "enroll": lambda p: p.enroll_face(IMG),
            "delete face": lambda p: p.delete_face("face-1"),
            "download image": lambda p: p.download_image("img-1"),
            "purge": lambda p: p.purge_session(SID),
        },
    ),
    "glair": (
        glair,
        {
            "test connection": lambda p: p.test_connection(),
            "match": lambda p: p.match_faces(IMG, IMG),
            "passive liveness": lambda p: p.check_liveness(IMG),
            "active liveness": lambda p: p.check_active_liveness(IMG, "HAND_01000"),
            "create session": lambda p: p.create_session(
                GlairKind.PASSIVE, success_url="https://example.com/done"
            ),
            "get session": lambda p: p.get_session(GlairKind.PASSIVE, "abc"),
        },
    ),
}
CASES = [
    pytest.param(vendor, name, id=f"{vendor}-{name}")
    for vendor, (_module, ops) in OPERATIONS.items()
    for name in ops
]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileVendor]:
    server = HostileVendor().start()
    yield server
    server.stop()


def connect(
    module: ModuleType, origin: str, tmp_path: Path, **timeout: float
) -> tuple[Any, httpx.AsyncClient]:
    info = module.INFO
    values = {f.name: f.default for f in info.connection_fields}
    values.update({k: v.replace("{root}", origin) for k, v in info.sandbox_connection.items()})
    creds = dict(info.sandbox_credentials)

    async def credential(name: str) -> str:
        return creds[name]

    limits = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0, **timeout}
    client = make_client(retry=NO_RETRY, timeout=httpx.Timeout(**limits))
    ctx = ProviderContext(
        info=info,
        connection="Hostile",
        profile_key=f"{info.id}.Hostile",
        fields=values,
        http=client,
        credential=credential,
        store=Store(tmp_path / "hostile.sqlite3"),
        is_sandbox=False,
    )
    return module.create(ctx), client


async def run(vendor: str, name: str, origin: str, tmp_path: Path, **timeout: float) -> object:
    module, ops = OPERATIONS[vendor]
    provider, client = connect(module, origin, tmp_path, **timeout)
    try:
        return await ops[name](provider)
    finally:
        await client.aclose()


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(("vendor", "name"), CASES)
async def test_a_redirect_to_another_origin_receives_nothing(
    hostile: HostileVendor, tmp_path: Path, vendor: str, name: str, code: int
) -> None:
    hostile.reset("redirect", status=code)
    with pytest.raises(UnexpectedResponse) as info:
        await run(vendor, name, hostile.origin, tmp_path)
    assert hostile.hits, "the operation never reached the vendor"
    assert hostile.recorder.requests == []
    assert str(hostile.other_origin.rsplit(":", 1)[1]) in info.value.user_message
    assert info.value.provider
    assert info.value.operation


@pytest.mark.parametrize("code", [307, 308])
async def test_uqudo_client_secret_form_is_not_redirected(
    hostile: HostileVendor, tmp_path: Path, code: int
) -> None:
    hostile.reset("redirect", status=code, mode_for_token=True)
    with pytest.raises(UnexpectedResponse):
        await run("uqudo", "test connection", hostile.origin, tmp_path)
    assert hostile.recorder.requests == []


@pytest.mark.parametrize("status", [200, 400, 404, 500])
@pytest.mark.parametrize(("vendor", "name"), CASES)
async def test_a_deeply_nested_reply_is_an_unexpected_response(
    hostile: HostileVendor, tmp_path: Path, vendor: str, name: str, status: int
) -> None:
    hostile.reset("deep", status=status)
    outcome: object
    try:
        outcome = await run(vendor, name, hostile.origin, tmp_path)
    except AppError as exc:
        outcome = exc
    # Returning is fine too (a DELETE's 200 has no body to read); RecursionError is not.
    if isinstance(outcome, AppError):
        assert outcome.provider


@pytest.mark.parametrize("mode", ["huge", "endless"])
@pytest.mark.parametrize(("vendor", "name"), CASES)
async def test_an_oversized_reply_is_refused_by_the_cap(
    hostile: HostileVendor, tmp_path: Path, vendor: str, name: str, mode: str
) -> None:
    # 80 MB passes both caps (8 MB JSON, 64 MB media); "endless" never ends at all.
    hostile.reset(mode, size=80 * 1024 * 1024)
    with pytest.raises(UnexpectedResponse) as info:
        await run(vendor, name, hostile.origin, tmp_path)
    assert "larger than" in info.value.user_message
    assert info.value.provider
    assert info.value.operation


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("azure_face", "detect"),
        ("veriff", "create session"),
        ("uqudo", "match"),
        ("glair", "match"),
    ],
)
async def test_a_trickled_reply_is_bounded_by_the_overall_deadline(
    hostile: HostileVendor, tmp_path: Path, vendor: str, name: str
) -> None:
    hostile.reset("trickle", interval=0.1)
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        await run(vendor, name, hostile.origin, tmp_path, connect=0.5, pool=0.5, write=0.5)
