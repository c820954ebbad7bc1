"""Verify the hash-chained audit trail against itself and its checkpoints.

`verify(store)` walks every entry oldest first and recomputes its SHA-256 over the canonical
encoding (`app.store.canonical_audit_encoding`). The first entry whose stored hash, link to the
previous hash, id sequence or time order is wrong is named. Then each checkpoint written beside
the database is compared with the chain: a checkpoint that counted more entries than the store
holds means the newest ones were removed; one whose head differs from the entry at its count
means history was rewritten. Signed checkpoints are checked with the keyring's signing key.
A store whose append-only triggers were found dropped is reported as tampered too.
"""

from __future__ import annotations

import base64
import secrets as token_source
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.store import (
    GENESIS_HASH,
    TRIGGERS_MISSING_OPERATION,
    AuditChainRow,
    CheckpointSigner,
    HmacCheckpointSigner,
    Store,
    audit_entry_hash,
    checkpoint_message,
    read_checkpoints,
)

if TYPE_CHECKING:  # keyring loads after the first paint, not with the window
    from app.secrets import SecretStore

_Reporter = Callable[[int | None, str], None]

SIGNING_KEY_SCOPE = "audit"
SIGNING_KEY_FIELD = "checkpoint_signing_key"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    count: int
    head: str
    problems: tuple[str, ...] = ()
    first_bad_entry: int | None = None
    checkpoints_checked: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.count} entries, head {self.head}"
        return self.problems[0]


def signer_from_secrets(secrets: SecretStore, *, create: bool = False) -> CheckpointSigner | None:
    """The checkpoint signer whose key the keyring holds, or None.

    A new key is made only with `create` and a persistent keyring: a key kept in memory would
    make this run's signatures unverifiable next time.
    """
    stored = secrets.get(SIGNING_KEY_SCOPE, SIGNING_KEY_FIELD)
    if stored is None:
        if not (create and secrets.persistent):
            return None
        stored = base64.b64encode(token_source.token_bytes(32)).decode()
        secrets.set(SIGNING_KEY_SCOPE, SIGNING_KEY_FIELD, stored)
    return HmacCheckpointSigner(base64.b64decode(stored))


def verify(store: Store, signer: CheckpointSigner | None = None) -> VerifyResult:
    """Recompute the chain and compare it with the checkpoints; see the module docstring."""
    rows = store.audit_chain_rows()
    problems: list[str] = []
    first_bad: int | None = None

    def bad(entry_id: int | None, message: str) -> None:
        nonlocal first_bad
        if first_bad is None and entry_id is not None:
            first_bad = entry_id
        problems.append(message)

    chain_hashes = _walk_chain(rows, bad)
    count = len(rows)
    head = rows[-1].hash or GENESIS_HASH if rows else GENESIS_HASH
    checked = _check_checkpoints(store, chain_hashes, rows, signer, bad)
    notes: list[str] = []
    missing_since = store.audit_triggers_missing()
    dropped = [r for r in rows if r.entry.operation == TRIGGERS_MISSING_OPERATION]
    if missing_since is not None or dropped:
        when = missing_since or dropped[0].entry.time_utc.isoformat()
        at = dropped[0].entry_id if dropped else None
        bad(
            at,
            f"the audit trail's append-only triggers were found dropped ({when}) and re-created: "
            "rows may have been edited while they were missing",
        )
    if signer is None:
        notes.append("no checkpoint signing key in the keyring: signatures not checked")
    return VerifyResult(
        ok=not problems,
        count=count,
        head=head,
        problems=tuple(problems),
        first_bad_entry=first_bad,
        checkpoints_checked=checked,
        notes=tuple(notes),
    )


def _walk_chain(rows: list[AuditChainRow], bad: _Reporter) -> list[str]:
    """Recomputed hashes in order; reports the first break only (later rows follow from it)."""
    recomputed: list[str] = []
    previous_hash = GENESIS_HASH
    previous_row: AuditChainRow | None = None
    broken = False
    for position, row in enumerate(rows, start=1):
        digest = audit_entry_hash(row.entry_id, row.entry, row.prev_hash or "")
        recomputed.append(digest)
        if broken:
            continue
        where = f"audit entry #{row.entry_id} ({row.entry.operation}, {row.entry.time_utc})"
        if row.entry_id != position:
            gap = "removed before it" if row.entry_id > position else "inserted or reordered"
            bad(row.entry_id, f"{where}: expected entry #{position}; an entry was {gap}")
            broken = True
        elif row.hash is None or row.prev_hash is None:
            bad(row.entry_id, f"{where}: has no hash; it was inserted outside FaceDesk")
            broken = True
        elif row.prev_hash != previous_hash:
            bad(
                row.entry_id,
                f"{where}: does not follow the entry before it; an entry was removed, inserted "
                "or reordered here",
            )
            broken = True
        elif digest != row.hash:
            bad(row.entry_id, f"{where}: its content was changed after it was written")
            broken = True
        elif previous_row is not None and row.entry.time_utc < previous_row.entry.time_utc:
            bad(
                row.entry_id,
                f"{where}: is dated before the entry it follows; it was backdated or reordered",
            )
            broken = True
        previous_hash = row.hash or ""
        previous_row = row
    return recomputed


def _check_checkpoints(
    store: Store,
    recomputed: list[str],
    rows: list[AuditChainRow],
    signer: CheckpointSigner | None,
    bad: _Reporter,
) -> int:
    path = store.checkpoint_file
    if path is None:
        return 0
    checked = 0
    for number, checkpoint in enumerate(read_checkpoints(path), start=1):
        count, head = checkpoint.get("count"), checkpoint.get("head")
        if not isinstance(count, int) or not isinstance(head, str) or "time" not in checkpoint:
            bad(None, f"checkpoint {number} in {path.name} is unreadable")
            continue
        checked += 1
        when = checkpoint["time"]
        signature = checkpoint.get("signature")
        if (
            signer is not None
            and isinstance(signature, str)
            and not signer.verify(checkpoint_message(checkpoint), signature)
        ):
            bad(None, f"checkpoint {number} ({when}) has a signature that does not match")
        if count > len(rows):
            missing = rows[-1].entry_id + 1 if rows else 1
            bad(
                missing,
                f"audit entry #{missing}: missing; checkpoint {number} ({when}) recorded "
                f"{count} entries but the store holds {len(rows)} (the newest were removed)",
            )
        elif count > 0 and recomputed[count - 1] != head:
            bad(
                _first_divergence(rows, count),
                f"checkpoint {number} ({when}) recorded head {head} after {count} entries; the "
                "trail no longer matches it (history was rewritten)",
            )
    return checked


def _first_divergence(rows: list[AuditChainRow], count: int) -> int:
    return rows[count - 1].entry_id if count <= len(rows) else count
