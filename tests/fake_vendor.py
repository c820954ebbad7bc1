"""A hand-written fake vendor module (INFO + create) for shell and service tests."""

from __future__ import annotations

from app.capabilities import Capability, ConnectionField, CredentialField, ProviderInfo
from app.domain import CheckResult, EncodedImage, Score, UploadRules, Verdict
from app.errors import AuthenticationFailed
from app.http import ProviderContext, send

INFO = ProviderInfo(
    id="fake",
    display_name="Fake Vendor",
    description="A vendor that exists only in tests.",
    capabilities=frozenset({Capability.FACE_MATCH}),
    credential_fields=(CredentialField("api_key", "API key"),),
    connection_fields=(ConnectionField("base_url", "Base URL", is_url=True),),
    upload_rules=UploadRules(max_bytes=5_000_000),
    sandbox_connection={"base_url": "{root}/fake"},
    sandbox_credentials={"api_key": "fake-sandbox-key"},
)


class FakeProvider:
    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    async def test_connection(self) -> str:
        key = await self.ctx.credential("api_key")
        response = await send(
            self.ctx.http,
            "GET",
            self.ctx.url("base_url", "/ping"),
            provider="Fake Vendor",
            operation="ping",
            path_template="/ping",
            headers={"x-api-key": key},
        )
        if response.status_code == 401:
            raise AuthenticationFailed("Fake Vendor rejected the API key.", provider="Fake Vendor")
        return "Fake Vendor answered."

    async def match_faces(self, reference: EncodedImage, probe: EncodedImage) -> CheckResult:
        key = await self.ctx.credential("api_key")
        response = await send(
            self.ctx.http,
            "POST",
            self.ctx.url("base_url", "/match"),
            provider="Fake Vendor",
            operation="match",
            path_template="/match",
            headers={"x-api-key": key},
            content=reference.data + probe.data,
        )
        if response.status_code == 401:
            raise AuthenticationFailed("Fake Vendor rejected the API key.", provider="Fake Vendor")
        return CheckResult(Verdict.POSITIVE, "Same person", Score(0.9, "0–1", "high"))


def create(ctx: ProviderContext) -> FakeProvider:
    return FakeProvider(ctx)
