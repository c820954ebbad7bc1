"""Veriff, declared: what `INFO` says it offers and needs; `create()` loads the signed client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.capabilities import Capability, ConnectionField, CredentialField, ProviderInfo
from app.domain import ImageFormat, UploadRules
from app.vendors.veriff.types import PROTOCOLS, PROVIDER_ID

if TYPE_CHECKING:
    from app.http.context import ProviderContext
    from app.vendors.veriff.client import VeriffProvider

NAME = "Veriff"

INFO = ProviderInfo(
    id=PROVIDER_ID,
    display_name=NAME,
    description="Veriff verification sessions: create, read decisions and media, delete.",
    capabilities=frozenset({Capability.VERIFICATION_SESSIONS}),
    credential_fields=(
        CredentialField(
            "api_key",
            "API key",
            help="The integration's API key (a UUID), from the Customer Portal's API keys page.",
        ),
        CredentialField(
            "shared_secret",
            "Shared secret key",
            help="Signs every request (HMAC-SHA256). Shown once by Veriff when it is created.",
        ),
    ),
    connection_fields=(
        ConnectionField(
            "base_url",
            "API URL",
            default="https://stationapi.veriff.com",
            help="Per integration; shown next to the API keys in Veriff's Customer Portal.",
            is_url=True,
        ),
        ConnectionField(
            "integration_id",
            "Integration ID (flexible API keys only)",
            help="Sent as vrf-integration-id when creating sessions; leave empty otherwise.",
        ),
    ),
    # §3.3: ≤24 MB of base64, longer side ≤1920 px; jpg/png are what FaceDesk prepares.
    upload_rules=UploadRules(
        max_bytes=24 * 1024 * 1024,
        formats=(ImageFormat.JPEG, ImageFormat.PNG),
        max_dimension=1920,
        base64_in_json=True,
        limit_applies_to_base64=True,
        note="Veriff: one image per upload, longer side at most 1920 px.",
    ),
    sandbox_connection={"base_url": "{root}/veriff"},
    sandbox_credentials={
        "api_key": "5a9c1d6e-0b7f-4c2e-9d3a-1e8f2b4c6d70",
        "shared_secret": "sandbox-veriff-secret",
    },
    docs_url="https://devdocs.veriff.com/apidocs",
    vendor_protocols=PROTOCOLS,
)


def create(ctx: ProviderContext) -> VeriffProvider:
    from app.vendors.veriff import client

    return client.create(ctx)
