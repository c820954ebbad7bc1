"""Veriff deletion bookkeeping: slots reserved before sending, lost replies, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.errors import OperationRefused, ProviderUnavailable, RequestRejected
from app.vendors.veriff import client as veriff
from app.vendors.veriff.client import VeriffProvider
from app.vendors.veriff.types import VeriffSessionRequest
from tests.contract.conftest import SandboxEndpoint


async def _provider(sandbox: SandboxEndpoint) -> VeriffProvider:
    provider: VeriffProvider = sandbox.connect(veriff)
    return provider


def lose_delete_replies(provider: VeriffProvider, times: int) -> list[str]:
    """The next `times` DELETEs reach the vendor, but their replies are lost on the way back."""
    sent: list[str] = []
    original = provider.ctx.http.send
    remaining = [times]

    async def lossy_send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await original(request, **kwargs)
        if request.method == "DELETE":
            sent.append(request.url.path)
            if remaining[0] > 0:
                remaining[0] -= 1
                await response.aclose()
                raise httpx.ReadError("connection reset", request=request)
        return response

    provider.ctx.http.send = lossy_send  # type: ignore[method-assign]
    return sent


async def test_a_repeated_delete_that_gets_404_is_recorded_as_deleted(
    sandbox: SandboxEndpoint,
) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    sent = lose_delete_replies(provider, times=1)
    result = await provider.delete_session(sid)
    assert len(sent) == 2
    assert result.vendor_already_gone
    assert result.audit_outcome == "deleted (the vendor no longer has it)"
    assert result.quota.remaining == 4  # one deletion, counted once


async def test_lost_replies_still_count_against_the_limit(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sessions = [(await provider.create_session(VeriffSessionRequest())).id for _ in range(3)]
    lose_delete_replies(provider, times=6)  # both attempts of each delete lose their reply
    for sid in sessions:
        with pytest.raises(ProviderUnavailable):
            await provider.delete_session(sid)
    assert (await provider.deletion_quota()).remaining == 2


async def test_concurrent_deletes_with_one_slot_left_send_only_one(
    sandbox: SandboxEndpoint,
) -> None:
    provider = await _provider(sandbox)
    sessions = [(await provider.create_session(VeriffSessionRequest())).id for _ in range(6)]
    for sid in sessions[:4]:
        await provider.delete_session(sid)
    sent = lose_delete_replies(provider, times=0)
    outcomes = await asyncio.gather(
        provider.delete_session(sessions[4]),
        provider.delete_session(sessions[5]),
        return_exceptions=True,
    )
    assert len(sent) == 1
    assert sum(isinstance(o, OperationRefused) for o in outcomes) == 1, outcomes
    assert (await provider.deletion_quota()).remaining == 0


async def test_a_refused_delete_gives_its_slot_back(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    await sandbox.admin("POST", f"/veriff/sessions/{sid}/status", {"status": "submitted"})
    with pytest.raises(RequestRejected, match=r"1306|submitted"):
        await provider.delete_session(sid, guard=False)
    assert (await provider.deletion_quota()).remaining == 5
