"""uqudo: `INFO` declares the Face API's capabilities and credentials; `create()` loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.capabilities import Capability, ConnectionField, CredentialField, ProviderInfo
from app.domain import ImageFormat, UploadRules
from app.vendors.uqudo.types import PROTOCOLS

if TYPE_CHECKING:
    from app.http.context import ProviderContext
    from app.vendors.uqudo.client import UqudoProvider

NAME = "uqudo"
MAX_IMAGE_BYTES = 5_000_000  # §0: "max 5 MB per image"; the decimal reading is the safe one

INFO = ProviderInfo(
    id="uqudo",
    display_name=NAME,
    description=(
        "uqudo Face API: face sessions for the mobile/web SDK, server-side face match with "
        "match levels 1–5, the tenant's 1:N face index, and signed session results (Info API)."
    ),
    capabilities=frozenset(
        {
            Capability.FACE_MATCH,
            Capability.LIVENESS_SESSIONS,
            Capability.ONE_TO_N_SEARCH,
            Capability.ONE_TO_N_ENROLL,
            Capability.ONE_TO_N_DELETE,
            Capability.SESSION_RESULTS,
        }
    ),
    credential_fields=(
        CredentialField(
            "client_id",
            "Client id",
            "Customer Portal › Development › Credentials.",
            secret=False,
        ),
        CredentialField(
            "client_secret", "Client secret", "Customer Portal › Development › Credentials."
        ),
    ),
    connection_fields=(
        ConnectionField(
            "auth_url",
            "Auth URL",
            default="https://auth.uqudo.io",
            help="Host of the token endpoint (/api/oauth/token).",
            is_url=True,
        ),
        ConnectionField(
            "api_url",
            "API URL",
            default="https://id.uqudo.io",
            help="Your tenant's API base URL, as shown in the Customer Portal under "
            "Development › Credentials.",
            is_url=True,
        ),
    ),
    upload_rules=UploadRules(
        max_bytes=MAX_IMAGE_BYTES,
        formats=(ImageFormat.JPEG, ImageFormat.PNG),
        base64_in_json=True,
        note="JPEG or PNG, at most 5 MB per image (§0).",
    ),
    sandbox_connection={"auth_url": "{root}/uqudo", "api_url": "{root}/uqudo"},
    sandbox_credentials={"client_id": "sandbox-client", "client_secret": "sandbox-secret"},
    docs_url="https://docs.uqudo.com/docs/kyc/uqudo-api/face",
    vendor_protocols=PROTOCOLS,
)


def create(ctx: ProviderContext) -> UqudoProvider:
    from app.vendors.uqudo import client

    return client.create(ctx)
