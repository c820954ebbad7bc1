"""The Compare workflow without Qt: sample pairs, one failing vendor, cancellation, audit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import VerificationService, open_service
from app.workflows import compare as workflow
from app.workflows import compare_export
from app.workflows.compare import CompareOptions, CompareRow, ImagePair, RowState, RowVerdict
from app.workflows.connections import resolve_all

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"

# (selfie sample, {vendor: expected verdict}): the ID photo is always ada-id-photo.jpg.
EXPECTED = {
    "ada-selfie.jpg": dict.fromkeys(workflow.COMPARE_VENDORS, RowVerdict.MATCH),
    "ben-selfie.jpg": dict.fromkeys(workflow.COMPARE_VENDORS, RowVerdict.NO_MATCH),
    # Face match is not liveness: a printout of the same face still matches everywhere.
    "ada-printout-spoof.jpg": dict.fromkeys(workflow.COMPARE_VENDORS, RowVerdict.MATCH),
    "blank-no-face.jpg": dict.fromkeys(workflow.COMPARE_VENDORS, RowVerdict.INCONCLUSIVE),
    # uqudo cannot say "several faces" (its contract has no such answer): it compares one face
    # and finds Ada, so the comparison shows a disagreement instead of hiding it.
    "group-three-faces.jpg": {
        "azure_face": RowVerdict.INCONCLUSIVE,
        "uqudo": RowVerdict.MATCH,
        "glair": RowVerdict.INCONCLUSIVE,
    },
}


@pytest.fixture
async def service(app_paths: AppPaths) -> AsyncIterator[VerificationService]:
    async with open_service(app_paths, secrets=MemorySecretStore()) as opened:
        yield opened


async def _pair(service: VerificationService, selfie: str) -> ImagePair:
    return ImagePair(
        await service.load_image_file(SAMPLES / "ada-id-photo.jpg"),
        await service.load_image_file(SAMPLES / selfie),
    )


@pytest.mark.parametrize("selfie", sorted(EXPECTED))
async def test_sample_pair_gives_the_expected_row_per_vendor(
    service: VerificationService, selfie: str
) -> None:
    comparison = await workflow.compare(
        service, await _pair(service, selfie), resolve_all(service, workflow.COMPARE_VENDORS, {})
    )
    verdicts = {row.vendor: row.verdict for row in comparison.rows}
    assert verdicts == EXPECTED[selfie]
    assert comparison.all_answered
    assert comparison.disagreement == (len(set(EXPECTED[selfie].values())) > 1)
    for row in comparison.rows:
        assert row.state is RowState.DONE
        assert row.connection == "Sandbox"
        assert row.latency_ms is not None
        assert row.latency_ms >= 0
        assert row.threshold_meaning
        if row.verdict in (RowVerdict.MATCH, RowVerdict.NO_MATCH):
            assert row.score is not None
            assert row.scale


async def test_scores_sit_on_each_vendors_own_scale_with_its_threshold(
    service: VerificationService,
) -> None:
    comparison = await workflow.compare(
        service,
        await _pair(service, "ada-selfie.jpg"),
        resolve_all(service, workflow.COMPARE_VENDORS, {}),
        CompareOptions(uqudo_level=5),
    )
    rows = {row.vendor: row for row in comparison.rows}
    azure, uqudo, glair = rows["azure_face"], rows["uqudo"], rows["glair"]
    assert azure.scale == "confidence 0–1"
    assert azure.threshold == 0.5
    assert azure.score is not None
    assert 0.5 <= azure.score <= 1
    assert azure.request_id
    assert uqudo.scale == "level 1–5"
    assert uqudo.threshold == 5.0
    # Level 4 does not reach the chosen minimum 5: the verdict follows the chosen level.
    assert uqudo.score == 4.0
    assert uqudo.verdict is RowVerdict.NO_MATCH
    assert glair.scale == "0–1 fraction"
    assert glair.threshold is None
    assert "no threshold" in glair.threshold_meaning
    assert comparison.disagreement


async def test_azure_rows_carry_face_rectangles_on_both_photos(
    service: VerificationService,
) -> None:
    comparison = await workflow.compare(
        service,
        await _pair(service, "group-three-faces.jpg"),
        resolve_all(service, ("azure_face",), {}),
    )
    (row,) = comparison.rows
    assert len(row.id_photo_faces) == 1
    assert len(row.selfie_faces) == 3
    for box in (*row.id_photo_faces, *row.selfie_faces):
        assert 0 <= box.left < 1
        assert 0 <= box.top < 1
        assert 0 < box.width <= 1
        assert 0 < box.height <= 1
    # The three faces of the group strip sit side by side.
    lefts = sorted(box.left for box in row.selfie_faces)
    assert lefts[0] < 0.34 < lefts[1] < 0.67 < lefts[2]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 503}, "ProviderUnavailable"),
        ({"status": 401, "body": {"error": "Unauthorized"}}, "AuthenticationFailed"),
    ],
)
async def test_one_failing_vendor_leaves_the_other_rows_intact(
    service: VerificationService, fault: dict[str, object], kind: str
) -> None:
    await service.sandbox_admin("POST", "/faults", {"path": "^/glair/", "count": 5, **fault})
    comparison = await workflow.compare(
        service,
        await _pair(service, "ada-selfie.jpg"),
        resolve_all(service, workflow.COMPARE_VENDORS, {}),
    )
    rows = {row.vendor: row for row in comparison.rows}
    assert rows["glair"].verdict is RowVerdict.ERROR
    assert rows["glair"].error_kind == kind
    assert rows["glair"].error
    assert rows["azure_face"].verdict is RowVerdict.MATCH
    assert rows["uqudo"].verdict is RowVerdict.MATCH
    assert not comparison.all_answered
    assert not comparison.disagreement  # errors are not verdicts


async def test_a_slow_vendor_times_out_alone(service: VerificationService) -> None:
    await service.sandbox_admin(
        "POST", "/faults", {"path": "^/uqudo/api/v1/face/match", "kind": "delay", "delay": 3}
    )
    comparison = await workflow.compare(
        service,
        await _pair(service, "ada-selfie.jpg"),
        resolve_all(service, workflow.COMPARE_VENDORS, {}),
        CompareOptions(timeout=0.5),
    )
    rows = {row.vendor: row for row in comparison.rows}
    assert rows["uqudo"].verdict is RowVerdict.ERROR
    assert rows["uqudo"].error_kind == "Timeout"
    assert "0.5 s" in (rows["uqudo"].error or "")
    assert rows["azure_face"].verdict is RowVerdict.MATCH
    assert rows["glair"].verdict is RowVerdict.MATCH


async def test_cancelling_one_row_keeps_the_others_and_audits_it(
    service: VerificationService,
) -> None:
    await service.sandbox_admin(
        "POST", "/faults", {"path": "^/uqudo/api/v1/face/match", "kind": "delay", "delay": 5}
    )
    seen: list[CompareRow] = []
    run = workflow.CompareRun(
        service,
        await _pair(service, "ada-selfie.jpg"),
        resolve_all(service, workflow.COMPARE_VENDORS, {}),
        on_row=seen.append,
    )
    run.start()
    assert {row.state for row in run.rows} == {RowState.RUNNING}
    await asyncio.sleep(0.3)
    run.cancel("uqudo")
    comparison = await asyncio.wait_for(run.wait(), 4)
    rows = {row.vendor: row for row in comparison.rows}
    assert rows["uqudo"].cancelled
    assert rows["uqudo"].verdict is RowVerdict.ERROR
    assert rows["azure_face"].verdict is RowVerdict.MATCH
    assert rows["glair"].verdict is RowVerdict.MATCH
    assert [r.vendor for r in seen if r.state is RowState.DONE].count("uqudo") == 1
    outcomes = [e.outcome for e in await service.audit_entries("uqudo")]
    assert outcomes[0] == "cancelled"
    # Re-running the row alone gives it an answer again.
    run.rerun("uqudo")
    again = await asyncio.wait_for(run.wait(), 4)
    assert {r.vendor: r.verdict for r in again.rows}["uqudo"] is RowVerdict.MATCH


async def test_every_vendor_call_is_audited_by_fingerprint_and_case(
    service: VerificationService,
) -> None:
    pair = await _pair(service, "ben-selfie.jpg")
    await workflow.compare(
        service,
        pair,
        resolve_all(service, workflow.COMPARE_VENDORS, {}),
        CompareOptions(case_ref="CASE-7"),
    )
    entries = [e for e in await service.audit_entries() if e.operation == workflow.OPERATION]
    assert sorted({e.provider for e in entries}) == sorted(workflow.COMPARE_VENDORS)
    assert sorted(e.outcome for e in entries) == ["attempt"] * 3 + ["succeeded: no_match"] * 3
    for entry in entries:
        assert entry.profile == "Sandbox"
        assert "case:CASE-7" in entry.targets
        assert pair.fingerprints[0] in entry.targets
        assert pair.fingerprints[1] in entry.targets
        assert not any("ada" in t or "ben" in t or ".jpg" in t for t in entry.targets)


def _row(vendor: str, verdict: RowVerdict) -> CompareRow:
    return CompareRow(
        vendor=vendor, vendor_name=vendor, connection="Sandbox", pair_key="k", verdict=verdict
    )


def test_disagreement_counts_only_vendors_that_answered() -> None:
    match, no_match = _row("a", RowVerdict.MATCH), _row("b", RowVerdict.NO_MATCH)
    failed = _row("c", RowVerdict.ERROR)
    assert workflow.disagreement([match, no_match])
    assert not workflow.disagreement([match, _row("b", RowVerdict.MATCH)])
    assert not workflow.disagreement([match, failed])
    assert workflow.disagreement([_row("a", RowVerdict.INCONCLUSIVE), match])
    assert not workflow.disagreement([])


def test_veriff_is_left_out_with_a_reason() -> None:
    assert "veriff" not in workflow.COMPARE_VENDORS
    assert "synchronous" in workflow.LEFT_OUT["veriff"]


async def test_rerun_on_a_new_pair_binds_the_row_to_it_and_exports_mark_stale_rows(
    service: VerificationService,
) -> None:
    import csv
    import io
    import json

    first = await _pair(service, "ada-selfie.jpg")
    run = workflow.CompareRun(service, first, resolve_all(service, workflow.COMPARE_VENDORS, {}))
    run.start()
    await run.wait()
    second = await _pair(service, "ben-selfie.jpg")
    run.rerun("glair", pair=second)
    comparison = await run.wait()
    rows = {row.vendor: row for row in comparison.rows}
    assert rows["glair"].pair_key == second.key
    assert rows["glair"].verdict is RowVerdict.NO_MATCH
    assert rows["azure_face"].pair_key == first.key
    document = json.loads(compare_export.export_json(comparison, second))
    assert document["selfie"] == second.fingerprints[1]
    assert {r["vendor"]: r["stale"] for r in document["rows"]} == {
        "azure_face": True,
        "uqudo": True,
        "glair": False,
    }
    table = list(csv.DictReader(io.StringIO(compare_export.export_csv(comparison, second))))
    assert [r["vendor"] for r in table] == list(workflow.COMPARE_VENDORS)
    assert {r["vendor"]: r["verdict"] for r in table}["glair"] == "no_match"
    assert {r["vendor"]: r["stale"] for r in table}["uqudo"] == "true"
