"""Azure AI Face as declared data: `INFO` (capabilities, credentials, API versions) and `create()`.

`create()` imports `client` on first use, so listing vendors never loads Azure's wire code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.capabilities import Capability, ConnectionField, CredentialField, ProviderInfo
from app.domain import ImageFormat, UploadRules
from app.vendors.azure_face.types import API_VERSIONS, PROTOCOLS

if TYPE_CHECKING:
    from app.http.context import ProviderContext
    from app.vendors.azure_face.client import AzureFaceProvider

NAME = "Azure AI Face"
DEFAULT_VERSION = "v1.2"

INFO = ProviderInfo(
    id="azure_face",
    display_name=NAME,
    description="Microsoft Azure AI Face: liveness sessions (with and without verify), "
    "1:1 verify and 1:N identify with LargePersonGroups.",
    capabilities=frozenset(
        {Capability.LIVENESS_SESSIONS, Capability.FACE_MATCH, Capability.PERSON_GROUPS}
    ),
    credential_fields=(
        CredentialField(
            "subscription_key",
            "Subscription key",
            help="Keys and Endpoint page of the Face resource (Ocp-Apim-Subscription-Key).",
            group="Subscription key or Entra token",
        ),
        CredentialField(
            "entra_token",
            "Microsoft Entra bearer token",
            help="A token for scope https://cognitiveservices.azure.com/.default "
            "(needs a custom-subdomain endpoint). Used when no key is set.",
            group="Subscription key or Entra token",
        ),
    ),
    connection_fields=(
        ConnectionField(
            "endpoint",
            "Endpoint",
            help="https://<resource>.cognitiveservices.azure.com",
            is_url=True,
        ),
        ConnectionField(
            "api_version",
            "API version",
            default=DEFAULT_VERSION,
            choices=API_VERSIONS,
            help="v1.1-preview.1 / v1.2-preview.1: singleModal sessions (list, audit); "
            "v1.2 / v1.3-preview.1: -sessions (no list).",
        ),
    ),
    # §7: 1 KB to 6 MB; JPEG, PNG, GIF, BMP; faces from 36×36 px in images up to 1920×1080.
    upload_rules=UploadRules(
        max_bytes=6 * 1024 * 1024,
        min_bytes=1024,
        formats=(ImageFormat.JPEG, ImageFormat.PNG),
        min_dimension=36,
        max_dimension=4096,
        recommended_max_dimension=1920,
        min_face_px=36,
        note="Faces of at least 200×200 px give the best results.",
    ),
    sandbox_connection={"endpoint": "{root}/azure"},
    sandbox_credentials={"subscription_key": "sandbox-azure-key"},
    api_versions=API_VERSIONS,
    docs_url="https://learn.microsoft.com/azure/ai-services/computer-vision/overview-identity",
    vendor_protocols=PROTOCOLS,
)


def create(ctx: ProviderContext) -> AzureFaceProvider:
    from app.vendors.azure_face import client

    return client.create(ctx)
