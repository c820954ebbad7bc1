"""What each provider can do: the Capability enum, ProviderInfo, and one Protocol per capability.

The UI reads only `ProviderInfo` and these Protocols; it never imports a vendor's client. A
vendor declares its own Protocols in its INFO (`vendor_protocols`): declared data, not a registry
filled as a side effect of an import. A unit test checks that every capability a provider
declares is implemented by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from app.domain import CheckResult, EncodedImage, UploadRules


class Capability(StrEnum):
    """Operations a provider may declare. Each maps to a panel in the provider's tab."""

    FACE_MATCH = "face_match"  # 1:1, two images in, a verdict out
    IMAGE_LIVENESS = "image_liveness"  # liveness on a single still image
    LIVENESS_SESSIONS = "liveness_sessions"  # hosted / device liveness sessions
    VERIFICATION_SESSIONS = "verification_sessions"  # document + face verification sessions
    ONE_TO_N_SEARCH = "one_to_n_search"
    ONE_TO_N_ENROLL = "one_to_n_enroll"
    ONE_TO_N_DELETE = "one_to_n_delete"
    PERSON_GROUPS = "person_groups"  # managed 1:N galleries (Azure LargePersonGroups)
    SESSION_RESULTS = "session_results"  # signed session results fetched by id (uqudo Info API)


@dataclass(frozen=True, slots=True)
class CredentialField:
    """A secret the operator types once; stored only in the OS keyring."""

    name: str
    label: str
    help: str = ""
    secret: bool = True
    # Credentials that are alternatives to each other share a group (e.g. Azure key vs token).
    group: str = ""


@dataclass(frozen=True, slots=True)
class ConnectionField:
    """A non-secret connection setting kept in the profile (URL, API version, option)."""

    name: str
    label: str
    default: str = ""
    choices: tuple[str, ...] = ()
    help: str = ""
    is_url: bool = False


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """Static facts about a provider: readable before any credential or network exists."""

    id: str
    display_name: str
    description: str
    capabilities: frozenset[Capability]
    credential_fields: tuple[CredentialField, ...]
    connection_fields: tuple[ConnectionField, ...]
    upload_rules: UploadRules
    # Values of connection_fields on the in-process Sandbox; "{root}" is the sandbox origin.
    sandbox_connection: Mapping[str, str] = field(default_factory=dict)
    sandbox_credentials: Mapping[str, str] = field(default_factory=dict)
    api_versions: tuple[str, ...] = ()
    docs_url: str = ""
    # The vendor's own Protocol for each capability whose shape differs per vendor (sessions,
    # person groups, session results); the others use the generic table below.
    vendor_protocols: Mapping[Capability, type] = field(default_factory=dict)

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities


# --- Generic capability protocols --------------------------------------------------------------


@runtime_checkable
class SupportsConnectionTest(Protocol):
    async def test_connection(self) -> str:
        """Make the cheapest authenticated call; return a one-line description of success."""
        ...


@runtime_checkable
class SupportsFaceMatch(Protocol):
    async def match_faces(self, reference: EncodedImage, probe: EncodedImage) -> CheckResult: ...


@runtime_checkable
class SupportsImageLiveness(Protocol):
    async def check_liveness(self, image: EncodedImage) -> CheckResult: ...


@runtime_checkable
class SupportsOneToNSearch(Protocol):
    async def search_face(self, image: EncodedImage, *, insert_if_missing: bool) -> CheckResult: ...


@runtime_checkable
class SupportsOneToNEnroll(Protocol):
    async def enroll_face(self, image: EncodedImage) -> CheckResult: ...


@runtime_checkable
class SupportsOneToNDelete(Protocol):
    async def delete_face(self, face_id: str) -> None: ...


GENERIC_PROTOCOLS: dict[Capability, type] = {
    Capability.FACE_MATCH: SupportsFaceMatch,
    Capability.IMAGE_LIVENESS: SupportsImageLiveness,
    Capability.ONE_TO_N_SEARCH: SupportsOneToNSearch,
    Capability.ONE_TO_N_ENROLL: SupportsOneToNEnroll,
    Capability.ONE_TO_N_DELETE: SupportsOneToNDelete,
}
"""Capabilities whose shape is the same for every vendor."""


def protocols_for(info: ProviderInfo, capability: Capability) -> tuple[type, ...]:
    """The Protocols a provider declaring `capability` must satisfy (checked by a unit test)."""
    found: list[type] = []
    if capability in GENERIC_PROTOCOLS:
        found.append(GENERIC_PROTOCOLS[capability])
    if capability in info.vendor_protocols:
        found.append(info.vendor_protocols[capability])
    return tuple(found)
