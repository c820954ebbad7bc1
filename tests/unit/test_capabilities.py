"""Declarations stay honest: every declared capability is implemented by its provider."""

from __future__ import annotations

import httpx
import pytest

from app import vendors as providers
from app.capabilities import SupportsConnectionTest, protocols_for
from app.http import ProviderContext
from app.store import Store


async def _credential(name: str) -> str:
    return "x"


@pytest.mark.parametrize("module", providers.VENDORS, ids=lambda m: m.INFO.id)
async def test_every_declared_capability_is_implemented(module, tmp_path) -> None:
    info = module.INFO
    async with httpx.AsyncClient() as client:
        ctx = ProviderContext(
            info=info,
            connection="Sandbox",
            profile_key=f"{info.id}.Sandbox",
            fields={},
            http=client,
            credential=_credential,
            store=Store(tmp_path / "db.sqlite3"),
            is_sandbox=True,
        )
        provider = module.create(ctx)
        assert isinstance(provider, SupportsConnectionTest)
        for capability in info.capabilities:
            protocols = protocols_for(info, capability)
            assert protocols, f"{info.id} declares {capability} but no Protocol describes it"
            for protocol in protocols:
                assert isinstance(provider, protocol), f"{info.id} lacks {protocol.__name__}"


@pytest.mark.parametrize("module", providers.VENDORS, ids=lambda m: m.INFO.id)
def test_provider_info_is_complete(module) -> None:
    info = module.INFO
    assert info.display_name
    assert info.description
    assert info.credential_fields, "every vendor needs credentials"
    assert any(f.is_url for f in info.connection_fields)
    assert set(info.sandbox_credentials) >= {f.name for f in info.credential_fields if not f.group}
    assert info.upload_rules.max_bytes > 0
