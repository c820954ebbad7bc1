"""The registered vendors: an explicit tuple, no plugin discovery. The UI never imports this.

Each vendor module exports `INFO: ProviderInfo` and `create(ctx: ProviderContext) -> provider`.
"""

from __future__ import annotations

from types import ModuleType

from app.capabilities import Capability, ProviderInfo
from app.providers import azure_face, glair, uqudo, veriff

# The order of the tabs in the window.
PROVIDER_MODULES: tuple[ModuleType, ...] = (azure_face, veriff, uqudo, glair)


def registry() -> dict[str, ModuleType]:
    return {module.INFO.id: module for module in PROVIDER_MODULES}


def infos() -> tuple[ProviderInfo, ...]:
    return tuple(module.INFO for module in PROVIDER_MODULES)


def with_capability(capability: Capability) -> tuple[ProviderInfo, ...]:
    return tuple(info for info in infos() if capability in info.capabilities)
