"""Cases: references, timeline from audit entries and case rows, decisions, photos, erasure."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from app.secrets import KeyringSecretStore, MemorySecretStore
from app.store import Store
from app.workflows import audit
from app.workflows.cases import (
    NO_KEYRING_NOTE,
    CaseBook,
    CaseError,
    CaseState,
    Decision,
    validate_reference,
)
from tests.file_keyring import FileKeyring


def jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "facedesk.sqlite3")
    yield s
    s.close()


@pytest.fixture
def keyring_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeyringSecretStore:
    monkeypatch.setenv("FACEDESK_TEST_KEYRING", str(tmp_path / "keyring.json"))
    return KeyringSecretStore(FileKeyring())


def test_references_are_validated_and_normalised() -> None:
    assert validate_reference(" case-2026-0042 ") == "CASE-2026-0042"
    for bad in ("", "ab", "jane.doe@example.com", "../etc", "-CASE", "A" * 65):
        with pytest.raises(CaseError):
            validate_reference(bad)


def test_timeline_attaches_vendor_runs_by_audit_target_and_records_results(
    store: Store,
) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-2026-0042", tags=["Fraud", "priority"])
    for outcome in ("attempt", "succeeded"):
        store.audit(
            provider="uqudo",
            profile="Sandbox",
            operation="compare",
            targets=["case:CASE-2026-0042", "image sha256:aa"],
            outcome=outcome,
            request_id="req-1" if outcome == "succeeded" else None,
        )
    store.audit(
        provider="uqudo",
        profile="Sandbox",
        operation="compare",
        targets=["case:CASE-2026-0099"],
        outcome="succeeded",
        request_id="other",
    )
    book.record_run(
        "CASE-2026-0042",
        vendor="uqudo",
        operation="compare",
        request_id="req-1",
        verdict="positive",
        score=0.93,
        scale="0–1 fraction",
        threshold="0.7",
    )
    case_file = book.case_file("CASE-2026-0042")
    assert [r.request_id for r in case_file.runs] == ["req-1"]
    run = case_file.runs[0]
    assert (run.verdict, run.score, run.threshold) == ("positive", 0.93, "0.7")
    assert run.audit_hash is not None
    assert case_file.case.tags == ("fraud", "priority")


def test_decision_needs_a_reason_and_stays_beside_vendor_verdicts(store: Store) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-1")
    book.record_run(
        "CASE-1", vendor="glair", operation="compare", request_id="r", verdict="negative"
    )
    with pytest.raises(CaseError, match="reason"):
        book.decide("CASE-1", "approve", "   ")
    with pytest.raises(CaseError, match="not a decision"):
        book.decide("CASE-1", "maybe", "because")
    decision = book.decide("CASE-1", Decision.ESCALATE, "scores disagree between vendors")
    case_file = book.case_file("CASE-1")
    assert case_file.decision == decision
    assert case_file.case.state is CaseState.DECIDED
    assert case_file.runs[0].verdict == "negative"  # the vendor's verdict is untouched
    operations = [r.entry.operation for r in case_file.audit]
    assert operations == ["case.open", "case.decide"]
    assert audit.verify(store).ok


def test_notes_thread_replies(store: Store) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-2")
    first = book.add_note("CASE-2", "ID photo looks edited near the chin")
    book.add_note("CASE-2", "Agreed, escalate", reply_to=first.item_id)
    with pytest.raises(CaseError, match="no note"):
        book.add_note("CASE-2", "orphan", reply_to=999)
    notes = book.case_file("CASE-2").notes
    assert len(notes) == 1
    assert [r.text for r in notes[0].replies] == ["Agreed, escalate"]


def test_list_filters_by_state_tag_reference_and_date(store: Store) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-A", tags=["fraud"])
    book.new_case("CASE-B")
    book.decide("CASE-B", "reject", "mismatch")
    book.new_case("OTHER-C")
    assert [c.reference for c in book.find(state=CaseState.DECIDED)] == ["CASE-B"]
    assert [c.reference for c in book.find(tag="FRAUD")] == ["CASE-A"]
    assert {c.reference for c in book.find(reference="case")} == {"CASE-A", "CASE-B"}
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert book.find(since=tomorrow) == []
    assert len(book.find(until=tomorrow)) == 3
    with pytest.raises(CaseError, match="already exists"):
        book.new_case("case-a")


def test_without_a_keyring_photos_are_not_kept_and_the_case_says_so(store: Store) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-3")
    pair = book.attach_pair("CASE-3", [("id", jpeg((200, 0, 0)), "image/jpeg")])
    assert not pair.photos_kept
    assert pair.fingerprints[0].startswith("sha256:")
    assert book.photos("CASE-3") == []
    assert store.case_photo_rows("CASE-3") == []
    assert book.get("CASE-3").photos_note == NO_KEYRING_NOTE


def test_photos_are_encrypted_at_rest_and_erase_leaves_nothing(
    store: Store, keyring_secrets: KeyringSecretStore, tmp_path: Path
) -> None:
    book = CaseBook(store, keyring_secrets)
    book.new_case("CASE-4")
    id_photo, selfie = jpeg((10, 200, 10)), jpeg((10, 10, 200))
    pair = book.attach_pair(
        "CASE-4", [("id", id_photo, "image/jpeg"), ("selfie", selfie, "image/jpeg")]
    )
    assert pair.photos_kept
    assert [p.data for p in book.photos("CASE-4")] == [id_photo, selfie]
    rows = store.case_photo_rows("CASE-4")
    assert all(id_photo not in ct and selfie not in ct for *_, ct in rows)
    assert keyring_secrets.get("case:CASE-4", "photo_key") is not None
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = b"".join(p.read_bytes() for p in tmp_path.glob("facedesk.sqlite3*"))
    assert all(ciphertext[:32] in before for *_, ciphertext in rows)

    assert book.erase_photos("CASE-4") == 2
    assert store.case_photo_rows("CASE-4") == []
    assert keyring_secrets.get("case:CASE-4", "photo_key") is None
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("facedesk.sqlite3*"))
    for _, _, _, _, ciphertext in rows:
        assert ciphertext[:32] not in on_disk
    erasure = [r for r in store.audit_chain_rows() if r.entry.operation == "case.erase_photos"]
    assert erasure[0].entry.outcome == "erased 2 photos and the case key"
    assert "Photos were erased" in book.get("CASE-4").photos_note


def test_retention_erases_photos_of_cases_closed_long_enough(
    store: Store, keyring_secrets: KeyringSecretStore
) -> None:
    book = CaseBook(store, keyring_secrets)
    book.set_retention_days(30)
    for ref in ("CASE-OLD", "CASE-NEW"):
        book.new_case(ref)
        book.attach_pair(ref, [("id", jpeg((1, 2, 3)), "image/jpeg")])
        book.close(ref)
    assert book.apply_retention(datetime.now(UTC) + timedelta(days=10)) == []
    store.update_case("CASE-OLD", closed_at=(datetime.now(UTC) - timedelta(days=31)).isoformat())
    assert book.apply_retention() == ["CASE-OLD"]
    assert book.photos("CASE-OLD") == []
    assert len(book.photos("CASE-NEW")) == 1
    assert book.apply_retention() == []  # already erased: nothing to do, nothing re-audited


def test_closed_cases_refuse_additions(store: Store) -> None:
    book = CaseBook(store, MemorySecretStore())
    book.new_case("CASE-5")
    book.close("CASE-5")
    with pytest.raises(CaseError, match="closed"):
        book.add_note("CASE-5", "late")
    book.reopen("CASE-5")
    book.add_note("CASE-5", "late but fine")
