"""GLAIR Vision's declared facts (`INFO`) and its factory; `create()` imports the client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.capabilities import Capability, ConnectionField, CredentialField, ProviderInfo
from app.domain import UploadRules
from app.vendors.glair.types import PROTOCOLS, PROVIDER_ID

if TYPE_CHECKING:
    from app.http.context import ProviderContext
    from app.vendors.glair.client import GlairProvider

NAME = "GLAIR Vision"

INFO = ProviderInfo(
    id=PROVIDER_ID,
    display_name=NAME,
    description=(
        "GLAIR Vision (Indonesia): 1:1 face match, passive and active liveness on a photo, and "
        "hosted passive/active liveness sessions for the end user's phone."
    ),
    capabilities=frozenset(
        {Capability.FACE_MATCH, Capability.IMAGE_LIVENESS, Capability.LIVENESS_SESSIONS}
    ),
    credential_fields=(
        CredentialField("username", "Username", "Your GLAIR Vision username.", secret=False),
        CredentialField("password", "Password", "The password that goes with the username."),
        CredentialField("api_key", "API key", "Sent as the x-api-key header on every call."),
    ),
    connection_fields=(
        ConnectionField(
            "base_url",
            "Base URL",
            default="https://api.vision.glair.ai",
            help="GLAIR Vision API root; paths /face/v1/... are added to it.",
            is_url=True,
        ),
        ConnectionField("api_version", "API version", default="v1", choices=("v1",)),
    ),
    # shared/providers/glair.md §0: .png/.jpg/.jpeg, no published size limit. [INFERRED] 4 MB
    # keeps uploads quick without costing a face its detail.
    upload_rules=UploadRules(
        max_bytes=4 * 1024 * 1024,
        note="GLAIR publishes no size limit; FaceDesk sends JPEGs of at most 4 MB.",
    ),
    sandbox_connection={"base_url": "{root}/glair"},
    sandbox_credentials={
        "username": "sandbox",
        "password": "sandbox",
        "api_key": "sandbox-glair-key",
    },
    api_versions=("v1",),
    docs_url="https://docs.glair.ai/vision",
    vendor_protocols=PROTOCOLS,
)


def create(ctx: ProviderContext) -> GlairProvider:
    from app.vendors.glair import client

    return client.create(ctx)
