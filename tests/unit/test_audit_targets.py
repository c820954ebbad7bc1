"""The audit trail holds ids and fingerprints only: never what the operator typed for a create."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.errors import NotFound
from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import audit_targets, open_service


@dataclass
class Created:
    id: str
    request_id: str | None = "req-1"


def test_ids_are_kept_and_free_text_is_fingerprinted() -> None:
    kept = audit_targets(["0f8fad5b-d9cb-469f-a165-70867728950e", "group_1:p.2", "Jane Doe"])
    assert kept[:2] == ["0f8fad5b-d9cb-469f-a165-70867728950e", "group_1:p.2"]
    assert kept[2].startswith("sha256:")
    assert "Jane" not in kept[2]
    assert audit_targets(["jane@example.com"])[0].startswith("sha256:")
    assert audit_targets(["image sha256:0123456789ab"]) == ["image sha256:0123456789ab"]


async def test_veriff_vendor_data_is_never_an_audit_target(
    app_paths: AppPaths, memory_secrets: MemorySecretStore
) -> None:
    vendor_data = "JaneDoe-1980-01-01"  # id-shaped, and personal all the same
    async with open_service(app_paths, secrets=memory_secrets) as service:

        async def create() -> Created:
            return Created("0f8fad5b-d9cb-469f-a165-70867728950e")

        await service.audited("veriff", "create session", [vendor_data], create)

        async def fails() -> Created:
            raise NotFound("gone", provider="Veriff")

        with pytest.raises(NotFound):
            await service.audited("veriff", "create session", [vendor_data], fails)
        entries = await service.audit_entries("veriff")
    stored = [t for entry in entries for t in entry.targets]
    assert vendor_data not in stored
    assert "0f8fad5b-d9cb-469f-a165-70867728950e" in stored
    folder = app_paths.database_file.parent
    for stored_file in folder.glob(app_paths.database_file.name + "*"):  # the WAL included
        assert vendor_data.encode() not in stored_file.read_bytes()


async def test_an_outcome_named_by_the_result_is_recorded(
    app_paths: AppPaths, memory_secrets: MemorySecretStore
) -> None:
    @dataclass
    class Gone:
        request_id: str | None = None
        audit_outcome: str = "deleted (the vendor no longer has it)"

    async with open_service(app_paths, secrets=memory_secrets) as service:

        async def delete() -> Gone:
            return Gone()

        await service.audited("veriff", "delete session", ["sid-1"], delete)
        entries = await service.audit_entries("veriff")
    assert "deleted (the vendor no longer has it)" in [e.outcome for e in entries]
