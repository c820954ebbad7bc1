"""The vendors FaceDesk speaks to: an explicit tuple, no plugin discovery, no import side effects.

A vendor is one package, `app/vendors/<id>/`: `INFO` and `create()` in its `__init__`, then
`client.py` (the wire calls), `auth.py` (its `httpx.Auth`), `errors.py` (its `ErrorTable`),
`types.py` (what callers and the window see) and any vendor-specific workflow. Importing this
module reads the four `INFO`s and never a client; `create()` imports the client on first use.
The UI never imports a vendor's client, auth or errors module (an import-linter contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from app.capabilities import Capability, ProviderInfo
from app.http.context import ProviderContext
from app.vendors import azure_face, glair, uqudo, veriff


class Vendor(Protocol):
    """What a vendor package (or a test's fake vendor module) offers: facts and a factory."""

    @property
    def INFO(self) -> ProviderInfo: ...

    def create(self, ctx: ProviderContext) -> object: ...


# The order of the tabs in the window.
VENDORS: tuple[Vendor, ...] = (azure_face, veriff, uqudo, glair)
INFOS: tuple[ProviderInfo, ...] = (azure_face.INFO, veriff.INFO, uqudo.INFO, glair.INFO)


def registry() -> Mapping[str, Vendor]:
    """Vendor id → its package."""
    return {vendor.INFO.id: vendor for vendor in VENDORS}


def infos() -> tuple[ProviderInfo, ...]:
    return INFOS


def with_capability(capability: Capability) -> tuple[ProviderInfo, ...]:
    return tuple(info for info in INFOS if capability in info.capabilities)
