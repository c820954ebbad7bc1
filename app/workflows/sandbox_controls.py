"""Typed controls of the offline sandbox: play the end user, flip vendor-side settings.

The window's demo buttons and the self-test call these instead of raw admin paths, so the
paths and setting names live once. The sandbox module is not imported here: it pulls in the
web framework, which the window must not load before its first paint; a unit test checks the
setting names against the sandbox's own constants.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from app.domain import EncodedImage
from app.errors import OperationRefused

# Setting names the sandbox reads from PUT /_sandbox/settings (app/sandbox/<vendor>.py).
AZURE_LIMITED_ACCESS = "azure_face.limited_access"
UQUDO_ONE_TO_N_PERMISSION = "uqudo.one_to_n_permission"


class SandboxAdmin(Protocol):
    def sandbox_admin(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> Awaitable[Any]: ...


class AzureDeviceOutcome(StrEnum):
    """What the simulated Azure device reports (app/sandbox/azure_face.py `simulate`)."""

    REAL_FACE = "realface"
    SPOOF_FACE = "spoofface"
    UNCERTAIN = "uncertain"
    ERROR = "error"
    START = "start"


class GlairEndUserOutcome(StrEnum):
    LIVE = "live"
    SPOOF = "spoof"


class VeriffDecision(StrEnum):
    """Statuses the Veriff sandbox can be told to move a session to."""

    STARTED = "started"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    DECLINED = "declined"
    RESUBMISSION_REQUESTED = "resubmission_requested"
    REVIEW = "review"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


def _b64(image: EncodedImage | None) -> str | None:
    return base64.b64encode(image.data).decode("ascii") if image is not None else None


class SandboxControls:
    """The sandbox's admin API as typed calls; refuses politely off the Sandbox connection."""

    def __init__(self, admin: SandboxAdmin, *, on_sandbox: bool = True) -> None:
        self._admin = admin
        self._on_sandbox = on_sandbox

    def _require_sandbox(self, what: str) -> None:
        if not self._on_sandbox:
            raise OperationRefused(f"{what} is possible on the Sandbox connection only.")

    async def _call(self, method: str, path: str, payload: Mapping[str, Any]) -> Any:
        return await self._admin.sandbox_admin(method, path, payload)

    async def set_azure_limited_access(self, approved: bool) -> None:
        """Whether the sandbox's Azure resource has Limited Access approval (face ids)."""
        self._require_sandbox("Changing Limited Access")
        await self._call("PUT", "/settings", {AZURE_LIMITED_ACCESS: approved})

    async def set_uqudo_one_to_n_permission(self, granted: bool) -> None:
        self._require_sandbox("Changing the 1:N permission")
        await self._call("PUT", "/settings", {UQUDO_ONE_TO_N_PERMISSION: granted})

    async def azure_simulate_device(
        self, session_id: str, outcome: AzureDeviceOutcome, selfie: EncodedImage | None = None
    ) -> None:
        """The device runs the liveness check, optionally showing this selfie."""
        self._require_sandbox("Simulating the device")
        payload: dict[str, Any] = {"outcome": outcome.value}
        if (image := _b64(selfie)) is not None:
            payload["image_base64"] = image
        await self._call("POST", f"/azure/sessions/{session_id}/simulate", payload)

    async def glair_complete(self, session_id: str, outcome: GlairEndUserOutcome) -> None:
        """The end user finishes the hosted page."""
        self._require_sandbox("Simulating the end user")
        await self._call(
            "POST", f"/glair/sessions/{session_id}/complete", {"outcome": outcome.value}
        )

    async def uqudo_complete(
        self,
        session_id: str,
        outcome: str,
        *,
        one_to_n: bool,
        selfie: EncodedImage | None = None,
    ) -> None:
        """The mobile SDK finishes the face session (outcome as the sandbox names it)."""
        self._require_sandbox("Completing the face session")
        payload: dict[str, Any] = {"outcome": outcome, "oneToN": one_to_n}
        if (image := _b64(selfie)) is not None:
            payload["selfie"] = image
        await self._call("POST", f"/uqudo/sessions/{session_id}/complete", payload)

    async def veriff_decide(
        self, session_id: str, decision: VeriffDecision, reason_code: int | None = None
    ) -> None:
        """Veriff's back office decides the session."""
        self._require_sandbox("Simulating decisions")
        payload: dict[str, Any] = {"status": decision.value}
        if reason_code:
            payload["reasonCode"] = reason_code
        await self._call("POST", f"/veriff/sessions/{session_id}/status", payload)
