"""Session tracking, audit rules and paging shared by the window and the command line.

Vendors that cannot list their sessions (GLAIR, uqudo, Azure's `-sessions` API versions)
only stay findable through the local registry, so what is recorded, when a row is refreshed,
marked expired or forgotten, and which actions enter the audit trail with which targets are
rules of the workflow, not of a panel. Everything here is Qt-free and talks to the
`VerificationService` through the small `SessionBackend` protocol, so unit tests run it
against a real service over a temporary store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from app.domain import SessionRecord

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ItemT_co = TypeVar("ItemT_co", covariant=True)


class SessionBackend(Protocol):
    """The part of the service the session workflows use (the registry and the audit trail)."""

    async def record_session(
        self,
        provider_id: str,
        session_id: str,
        *,
        kind: str,
        status: str,
        label: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> SessionRecord: ...

    async def sessions(self, provider_id: str, kind: str | None = None) -> list[SessionRecord]: ...

    async def forget_session(self, provider_id: str, session_id: str) -> None: ...

    async def audited(
        self,
        provider_id: str,
        operation: str,
        targets: Sequence[str],
        call: Callable[[], Awaitable[T]],
    ) -> T: ...


# --- which actions are audited, and with what targets -----------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRule:
    """One consequential action: its name in the audit trail and what its targets are.

    `targets` names the kinds of ids the entry carries, in order; a create carries none
    (the service names the created object once the vendor gave its id, never the form).
    """

    operation: str
    targets: tuple[str, ...] = ()

    def target_list(self, *ids: str) -> list[str]:
        if len(ids) != len(self.targets):
            raise ValueError(
                f"“{self.operation}” is audited with {len(self.targets)} target(s) "
                f"({', '.join(self.targets) or 'none'}), got {len(ids)}"
            )
        return list(ids)


class Audited:
    """Every audited action of the four vendors (the names the audit dialog groups by)."""

    AZURE_CREATE_SESSION = AuditRule("create liveness session")
    AZURE_DELETE_SESSION = AuditRule("delete liveness session", ("session id",))
    AZURE_CREATE_GROUP = AuditRule("create person group", ("group id",))
    AZURE_DELETE_GROUP = AuditRule("delete person group", ("group id",))
    AZURE_CREATE_PERSON = AuditRule("create person", ("group id",))
    AZURE_ADD_FACE = AuditRule("add person face", ("group id", "person id"))
    AZURE_DELETE_PERSON = AuditRule("delete person", ("group id", "person id"))
    GLAIR_CREATE_SESSION = AuditRule("create liveness session")
    GLAIR_FORGET_SESSION = AuditRule("forget_session", ("session id",))
    UQUDO_CREATE_SESSION = AuditRule("create face session")
    UQUDO_SEARCH_INSERT = AuditRule("1:N search with insert", ("image fingerprint",))
    UQUDO_INSERT = AuditRule("1:N insert", ("image fingerprint",))
    UQUDO_DELETE = AuditRule("1:N delete", ("oneToNVerificationId",))
    UQUDO_PURGE = AuditRule("purge session data", ("session id",))
    VERIFF_CREATE_SESSION = AuditRule("create session")
    VERIFF_SUBMIT_SESSION = AuditRule("submit session", ("session id",))
    VERIFF_DELETE_SESSION = AuditRule("delete session", ("session id",))


async def run_audited(
    backend: SessionBackend,
    provider_id: str,
    rule: AuditRule,
    call: Callable[[], Awaitable[T]],
    *ids: str,
) -> T:
    """Run `call` with its attempt and outcome in the audit trail, as `rule` says."""
    return await backend.audited(provider_id, rule.operation, rule.target_list(*ids), call)


# --- normalized statuses and times --------------------------------------------------------------


class StatusWord(StrEnum):
    """The one word a session status is shown as, whatever the vendor calls it."""

    PENDING = "Pending"
    SUBMITTED = "Submitted"
    DONE = "Done"
    APPROVED = "Approved"
    DECLINED = "Declined"
    REVIEW = "Review"
    EXPIRED = "Expired"
    DELETED = "Deleted"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


# Vendor values (lower case) → the normalized word; the vendor's own value is shown beside it.
_STATUS_WORDS: Mapping[str, StatusWord] = {
    "created": StatusWord.PENDING,
    "pending": StatusWord.PENDING,
    "started": StatusWord.PENDING,
    "notstarted": StatusWord.PENDING,
    "active": StatusWord.PENDING,
    "inserted": StatusWord.DONE,
    "found": StatusWord.DONE,
    "submitted": StatusWord.SUBMITTED,
    "completed (sandbox)": StatusWord.SUBMITTED,
    "resubmission_requested": StatusWord.REVIEW,
    "review": StatusWord.REVIEW,
    "finished": StatusWord.DONE,
    "succeeded": StatusWord.DONE,
    "resultavailable": StatusWord.DONE,
    "result fetched": StatusWord.DONE,
    "purged": StatusWord.DELETED,
    "approved": StatusWord.APPROVED,
    "declined": StatusWord.DECLINED,
    "expired": StatusWord.EXPIRED,
    "abandoned": StatusWord.EXPIRED,
    "deleted": StatusWord.DELETED,
    "selfie deleted (features kept)": StatusWord.DELETED,
    "failed": StatusWord.FAILED,
    "canceled": StatusWord.FAILED,
    "cancelled": StatusWord.FAILED,
}


def status_word(raw: str) -> StatusWord:
    """The normalized word for a vendor's status value."""
    return _STATUS_WORDS.get(raw.strip().lower(), StatusWord.UNKNOWN)


def status_text(raw: str) -> str:
    """“Pending (created)”: the normalized word with the vendor's own value beside it."""
    word = status_word(raw)
    value = raw.strip()
    if not value:
        return word.value
    if value.lower() == word.value.lower():
        return word.value
    return f"{word.value} ({value})"


@dataclass(frozen=True, slots=True)
class ShownTime:
    """A time as shown: local time in the cell, UTC in the tooltip."""

    text: str
    tooltip: str


def shown_time(at: datetime) -> ShownTime:
    """Local time for the operator, with the UTC time vendors and logs use in the tooltip."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    local = aware.astimezone()
    return ShownTime(
        text=local.strftime("%Y-%m-%d %H:%M"),
        tooltip=aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


# --- paging ---------------------------------------------------------------------------------------


class Page(Protocol[ItemT_co]):
    @property
    def items(self) -> Sequence[ItemT_co]: ...

    @property
    def next_start(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PagesRead(Generic[ItemT]):
    items: tuple[ItemT, ...]
    next_start: str | None  # where More… continues; None when the vendor has no more


async def read_pages(
    fetch: Callable[[str], Awaitable[Page[ItemT]]], *, start: str = "", max_pages: int
) -> PagesRead[ItemT]:
    """Read up to `max_pages` pages from `start`; the caller sorts (vendors page by id)."""
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    items: list[ItemT] = []
    cursor = start
    next_start: str | None = None
    for _ in range(max_pages):
        page = await fetch(cursor)
        items.extend(page.items)
        next_start = page.next_start
        if next_start is None:
            break
        cursor = next_start
    return PagesRead(tuple(items), next_start)


# --- session tracking -----------------------------------------------------------------------------

EXPIRED = "expired"
DELETED = "deleted"


@dataclass
class SessionTracker:
    """The registry rows of one provider's sessions: record, refresh, expire, forget, watch."""

    backend: SessionBackend
    provider_id: str

    async def tracked(
        self, kinds: str | Sequence[str] | None = None, **extra: str | None
    ) -> list[SessionRecord]:
        """Registry rows of these kinds (newest first); `extra` keeps rows whose value matches.

        A row without the key is kept too (recorded before the key existed).
        """
        wanted = (kinds,) if isinstance(kinds, str) else kinds
        records = await self.backend.sessions(self.provider_id)
        return [
            r
            for r in records
            if (wanted is None or r.kind in wanted)
            and all(r.extra.get(key) in (None, value) for key, value in extra.items())
        ]

    async def find(self, session_id: str, kind: str | None = None) -> SessionRecord | None:
        for record in await self.backend.sessions(self.provider_id, kind):
            if record.session_id == session_id:
                return record
        return None

    async def record(
        self,
        session_id: str,
        *,
        kind: str,
        status: str,
        label: str | None = None,
        extra: Mapping[str, str] | None = None,
        keep_known: bool = False,
        label_from: str | None = None,
        sticky_statuses: frozenset[str] = frozenset(),
    ) -> SessionRecord:
        """Record what the vendor said about a session.

        With `keep_known`, `extra` is merged over what is already known and the operator's
        label is kept (a reload returns less than the create did: Veriff's URL, for example);
        `label_from` names the `extra` value used as the label when there is none.
        `sticky_statuses` are statuses a later report must not overwrite (a uqudo search hit
        on a deleted entry must not hide that its selfie is gone).
        """
        previous = await self.find(session_id, kind) if keep_known or sticky_statuses else None
        merged: dict[str, str] = {}
        if previous is not None and keep_known:
            merged.update(previous.extra)
        merged.update(extra or {})
        if previous is not None and previous.status in sticky_statuses:
            status = previous.status
        if previous is not None and keep_known and previous.label:
            label = previous.label
        if not label and label_from is not None:
            label = merged.get(label_from, "")
        return await self.backend.record_session(
            self.provider_id,
            session_id,
            kind=kind,
            status=status,
            label=label,
            extra=merged or None,
        )

    async def mark_expired(self, session_id: str, kind: str) -> SessionRecord | None:
        """The vendor forgot the session (expiry): keep the row, marked; None if not tracked."""
        if await self.find(session_id, kind) is None:
            return None
        return await self.backend.record_session(
            self.provider_id, session_id, kind=kind, status=EXPIRED
        )

    async def refresh(
        self,
        kinds: Sequence[str],
        *,
        is_open: Callable[[SessionRecord], bool],
        fetch: Callable[[SessionRecord], Awaitable[T]],
        record: Callable[[T], Awaitable[object]],
        gone: tuple[type[BaseException], ...],
    ) -> RefreshOutcome[T]:
        """Ask the vendor again about every open tracked session.

        A session the vendor no longer knows (`gone`, e.g. NotFound after expiry) is kept and
        marked expired, never dropped.
        """
        updated: list[T] = []
        expired: list[str] = []
        for tracked in await self.tracked(kinds):
            if not is_open(tracked):
                continue
            try:
                fresh = await fetch(tracked)
            except gone:
                await self.backend.record_session(
                    self.provider_id, tracked.session_id, kind=tracked.kind, status=EXPIRED
                )
                expired.append(tracked.session_id)
                continue
            await record(fresh)
            updated.append(fresh)
        return RefreshOutcome(tuple(updated), tuple(expired))

    async def forget(self, session_id: str, *, audit: AuditRule | None = None) -> None:
        """Remove a row from the local registry (nothing is sent to the vendor)."""
        if audit is None:
            await self.backend.forget_session(self.provider_id, session_id)
            return
        await run_audited(
            self.backend,
            self.provider_id,
            audit,
            lambda: self.backend.forget_session(self.provider_id, session_id),
            session_id,
        )

    async def watch(
        self,
        updates: AsyncIterator[T],
        *,
        record: Callable[[T], Awaitable[object]],
        on_update: Callable[[T], None] = lambda _update: None,
    ) -> T | None:
        """Record every update a vendor's poll yields, tell `on_update`; return the last one."""
        last: T | None = None
        async for update in updates:
            await record(update)
            on_update(update)
            last = update
        return last


@dataclass(frozen=True, slots=True)
class RefreshOutcome(Generic[T]):
    updated: tuple[T, ...]
    expired: tuple[str, ...]  # session ids the vendor no longer knows, now marked expired


@dataclass
class WatchSet:
    """Which sessions are being watched; a restarted watch overlaps the one it cancels."""

    _running: dict[str, int] = field(default_factory=dict)

    def started(self, session_id: str) -> None:
        self._running[session_id] = self._running.get(session_id, 0) + 1

    def ended(self, session_id: str) -> None:
        left = self._running.get(session_id, 1) - 1
        if left > 0:
            self._running[session_id] = left
        else:
            self._running.pop(session_id, None)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._running

    def __len__(self) -> int:
        return len(self._running)


def seconds_left(expires_at: datetime | None, now: datetime | None = None) -> int | None:
    """Whole seconds until a session expires (never negative); None when the vendor said none."""
    if expires_at is None:
        return None
    moment = now if now is not None else datetime.now(UTC)
    return max(0, int((expires_at - moment).total_seconds()))
