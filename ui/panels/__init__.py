"""Capability → panel classes, per provider. Each vendor's panel module exports PANELS."""

from __future__ import annotations

from types import ModuleType

from app.capabilities import Capability
from ui.panels import azure_face, glair, uqudo, veriff
from ui.panels.base import Panel

# provider id -> module exporting PANELS: dict[Capability, type[Panel]]
VENDOR_PANEL_MODULES: dict[str, ModuleType] = {
    "veriff": veriff,
    "uqudo": uqudo,
    "azure_face": azure_face,
    "glair": glair,
}


def panels_for(provider_id: str, capabilities: frozenset[Capability]) -> list[type[Panel]]:
    """Panel classes for the capabilities a provider declares, in a stable order."""
    module = VENDOR_PANEL_MODULES.get(provider_id)
    if module is None:
        return []
    table: dict[Capability, type[Panel]] = module.PANELS
    seen: list[type[Panel]] = []
    for capability in Capability:
        panel = table.get(capability)
        if capability in capabilities and panel is not None and panel not in seen:
            seen.append(panel)
    return seen
