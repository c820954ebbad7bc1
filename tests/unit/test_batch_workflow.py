"""The batch workflow's rules without Qt, on the in-process sandbox: retries, slow-down, stop on
credentials, resume, order, the gate, and the job key."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import VerificationService, open_service
from app.workflows import batch
from app.workflows.batch import BatchJob, BatchKind, BatchSpec, RateGate, RowWriter
from app.workflows.batch_jobs import SqliteBatchJobStore
from app.workflows.connections import resolve
from tests.batch_images import original, variants, write_people

SEARCH = "/uqudo/api/v1/face/one-to-n/search$"


@pytest.fixture
async def service(app_paths: AppPaths) -> AsyncIterator[VerificationService]:
    async with open_service(app_paths, secrets=MemorySecretStore()) as opened:
        yield opened


@pytest.fixture
def store(app_paths: AppPaths) -> SqliteBatchJobStore:
    opened = SqliteBatchJobStore(app_paths.database_file)
    yield opened  # type: ignore[misc]
    opened.close()


def spec(
    service: VerificationService, folder: Path, *, kind: BatchKind = BatchKind.SEARCH, **kw: object
) -> BatchSpec:
    vendor = str(kw.pop("vendor", "uqudo"))
    return BatchSpec(
        kind=kind,
        vendor=vendor,
        connection=resolve(service, vendor),
        items=batch.list_images(folder),
        **kw,  # type: ignore[arg-type]
    )


async def attempts(service: VerificationService) -> int:
    entries = await service.audit_entries()
    return sum(1 for e in entries if e.operation.startswith("batch") and e.outcome == "attempt")


async def test_a_429_slows_the_whole_job_and_is_never_an_error_row(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    write_people(tmp_path / "in", range(6))
    await service.sandbox_admin(
        "POST",
        "/faults",
        {"path": SEARCH, "status": 429, "count": 3, "headers": {"Retry-After": "0.2"}},
    )
    job = BatchJob(service, spec(service, tmp_path / "in", concurrency=4), store)
    summary = await job.run()
    assert summary.complete
    assert not summary.failed
    assert summary.slowdowns == 3
    assert job.gate.concurrency < 4  # halved on the 429s, growing back only after successes
    assert all(row.record["outcome"] == "not_found" for row in job.rows)


async def test_5xx_are_retried_until_attempts_run_out_then_one_error_row(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    write_people(tmp_path / "in", range(1))
    await service.sandbox_admin("POST", "/faults", {"path": SEARCH, "status": 503, "count": 2})
    ok = await BatchJob(service, spec(service, tmp_path / "in", max_attempts=3), store).run()
    assert ok.complete
    assert not ok.failed
    write_people(tmp_path / "other", range(1, 2))
    await service.sandbox_admin("POST", "/faults", {"path": SEARCH, "status": 503, "count": 9})
    job = BatchJob(service, spec(service, tmp_path / "other", max_attempts=3), store)
    failed = await job.run()
    assert failed.failed == 1
    error = job.rows[0].record["error"]
    assert "gave up after 3 attempts" in error
    assert job.rows[0].record["outcome"] == "error"


async def test_rejected_credentials_stop_the_job_instead_of_burning_the_folder(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    write_people(tmp_path / "in", range(20))
    await service.sandbox_admin(
        "POST", "/faults", {"path": "^/uqudo/", "status": 401, "count": 1000}
    )
    job = BatchJob(service, spec(service, tmp_path / "in", concurrency=2), store)
    summary = await job.run()
    assert summary.stopped
    assert "batch stopped" in summary.stop_reason
    assert summary.done == 0
    # At most one request per worker went out before the job stopped.
    assert await attempts(service) <= 2


async def test_a_restarted_job_skips_finished_inputs_and_keeps_their_rows(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    write_people(tmp_path / "in", range(8))
    first = BatchJob(service, spec(service, tmp_path / "in", insert_if_not_found=True), store)
    stopped_after: list[int] = []

    def stop_after_three(row: batch.BatchRow) -> None:
        if row.state is batch.ItemState.DONE and first.progress().done >= 3:
            stopped_after.append(row.position)
            first.stop()

    first._on_row = stop_after_three
    summary = await first.run()
    assert summary.stopped
    assert 3 <= summary.done < 8
    sent_before = await attempts(service)
    out = tmp_path / "out.csv"
    second = BatchJob(
        service,
        spec(service, tmp_path / "in", insert_if_not_found=True),
        store,
        writer=RowWriter(out),
    )
    assert second.key == first.key
    resumed = await second.run()
    assert resumed.complete
    assert resumed.resumed == summary.done
    assert await attempts(service) - sent_before == 8 - summary.done
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["file"] for r in rows] == [f"person-{s:03d}.jpg" for s in range(8)]
    assert {r["outcome"] for r in rows} == {"inserted"}  # nothing searched twice


async def test_match_job_against_one_reference(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-same.png").write_bytes(variants(5)[1][1])
    (folder / "b-other.jpg").write_bytes(original(6))
    reference = tmp_path / "reference.jpg"
    reference.write_bytes(original(5))
    for vendor in ("glair", "uqudo", "azure_face"):
        job = BatchJob(
            service,
            spec(service, folder, kind=BatchKind.MATCH, vendor=vendor, reference=reference),
            store,
        )
        summary = await job.run()
        assert summary.complete, job.rows
        assert not summary.failed, job.rows
        assert [r.record["outcome"] for r in job.rows] == ["match", "no_match"], vendor


async def test_session_lookups_turn_unknown_ids_into_error_rows(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# one a line\n\nnot-a-uuid\n0f8fad5b-d9cb-469f-a165-70867728950e\n")
    items = batch.read_session_ids(ids)
    assert [i.name for i in items] == ["not-a-uuid", "0f8fad5b-d9cb-469f-a165-70867728950e"]
    job = BatchJob(
        service,
        BatchSpec(BatchKind.SESSIONS, "uqudo", resolve(service, "uqudo"), items),
        store,
    )
    summary = await job.run()
    assert summary.complete
    assert summary.failed == 2
    assert "8-4-4-4-12" in job.rows[0].record["error"]  # refused before sending
    assert job.rows[1].record["error"]


def test_writer_keeps_input_order_and_rewrites_from_the_finished_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    writer = RowWriter(path, json_lines=True)
    writer.start({0: {"file": "a"}})
    writer.add(2, {"file": "c"})
    assert [json.loads(line)["file"] for line in path.read_text().splitlines()] == ["a"]
    writer.add(1, {"file": "b"})
    writer.close()
    assert [json.loads(line)["file"] for line in path.read_text().splitlines()] == ["a", "b", "c"]
    restarted = RowWriter(path, json_lines=True)
    restarted.start({0: {"file": "a"}, 1: {"file": "b"}})
    restarted.close()
    assert len(path.read_text().splitlines()) == 2


async def test_gate_holds_everyone_after_a_429_and_honours_pause() -> None:
    gate = RateGate(4)
    await gate.acquire()
    await gate.slow_down(0.2)
    assert gate.concurrency == 2
    waiting = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held by the Retry-After
    await waiting
    await gate.release(succeeded=True)
    await gate.release(succeeded=True)
    await gate.set_paused(True)
    paused = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0.05)
    assert not paused.done()
    await gate.set_paused(False)
    await paused
    for _ in range(batch.SUCCESSES_TO_GROW):
        await gate.release(succeeded=True)
        await gate.acquire()
    assert gate.concurrency == 3  # grows back by one after a run of successes


async def test_gate_never_lets_more_than_the_concurrency_through() -> None:
    gate = RateGate(3)
    peak = 0

    async def request() -> None:
        nonlocal peak
        await gate.acquire()
        peak = max(peak, gate.in_flight)
        await asyncio.sleep(0.01)
        await gate.release(succeeded=False)

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 3


def test_job_key_follows_the_arguments(tmp_path: Path, app_paths: AppPaths) -> None:
    from app.workflows.connections import Connection

    write_people(tmp_path / "in", range(3))
    items = batch.list_images(tmp_path / "in")
    base = BatchSpec(BatchKind.SEARCH, "uqudo", Connection("uqudo", "Sandbox"), items)
    same = BatchSpec(BatchKind.SEARCH, "uqudo", Connection("uqudo", "Sandbox"), items)
    inserting = BatchSpec(
        BatchKind.SEARCH, "uqudo", Connection("uqudo", "Sandbox"), items, insert_if_not_found=True
    )
    fewer = BatchSpec(BatchKind.SEARCH, "uqudo", Connection("uqudo", "Sandbox"), items[:2])
    assert batch.job_key(base) == batch.job_key(same)
    assert len({batch.job_key(s) for s in (base, inserting, fewer)}) == 3


def test_inputs_are_images_by_name_and_bad_options_are_refused(tmp_path: Path) -> None:
    from app.workflows.connections import Connection

    folder = tmp_path / "in"
    write_people(folder, [2, 1])
    (folder / "notes.txt").write_text("not an image")
    (folder / "photo.HEIC").write_bytes(b"")
    names = [item.name for item in batch.list_images(folder)]
    assert names == ["person-001.jpg", "person-002.jpg", "photo.HEIC"]
    with pytest.raises(batch.BatchUsageError, match="holds no images"):
        batch.list_images(tmp_path / "in" / ".." / "in" / "..")
    items = batch.list_images(folder)
    azure = Connection("azure_face", "Sandbox")
    with pytest.raises(batch.BatchUsageError, match="--group"):
        BatchSpec(BatchKind.SEARCH, "azure_face", azure, items)
    with pytest.raises(batch.BatchUsageError, match="supports"):
        BatchSpec(BatchKind.SEARCH, "glair", Connection("glair", "Sandbox"), items)
    with pytest.raises(batch.BatchUsageError, match="concurrency"):
        BatchSpec(BatchKind.SEARCH, "uqudo", Connection("uqudo", "Sandbox"), items, concurrency=0)


def test_loading_without_a_thumbnail_still_validates_the_image() -> None:
    from app import imaging
    from app.errors import ImageError

    data = original(3)
    full = imaging.load(data, "a.jpg")
    bare = imaging.load(data, "a.jpg", thumbnail=False)
    assert full.thumbnail_png
    assert bare.thumbnail_png == b""
    assert bare.info == full.info
    with pytest.raises(ImageError):
        imaging.load(data[: len(data) // 2], "cut.jpg", thumbnail=False)


async def test_azure_search_inserts_new_persons_trains_the_group_then_finds_them(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    from app.vendors.azure_face.types import AzurePersonGroups

    async with resolve(service, "azure_face").open(service) as provider:
        assert isinstance(provider, AzurePersonGroups)
        await provider.create_group("ring-1", "ring 1")
    write_people(tmp_path / "in", range(20, 23))
    enrol = BatchJob(
        service,
        spec(
            service, tmp_path / "in", vendor="azure_face", group="ring-1", insert_if_not_found=True
        ),
        store,
    )
    assert (await enrol.run()).complete
    inserted = [row.record for row in enrol.rows]
    assert [r["outcome"] for r in inserted] == ["inserted"] * 3, [r["error"] for r in inserted]
    assert len({r["match_id"] for r in inserted}) == 3
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "a.png").write_bytes(variants(21)[1][1])
    (folder / "b.jpg").write_bytes(original(99))
    search = BatchJob(service, spec(service, folder, vendor="azure_face", group="ring-1"), store)
    assert (await search.run()).complete
    assert [r.record["outcome"] for r in search.rows] == ["found", "not_found"]
    assert search.rows[0].record["match_id"] == inserted[1]["match_id"]
    assert search.rows[0].record["score"] > 0.5


async def test_glair_and_azure_session_lookups_try_each_session_kind(
    service: VerificationService, store: SqliteBatchJobStore, tmp_path: Path
) -> None:
    from app.vendors.azure_face.types import AzureLivenessSessions, SessionOptions
    from app.vendors.azure_face.types import SessionKind as AzureKind
    from app.vendors.glair.types import GlairLivenessSessions
    from app.vendors.glair.types import SessionKind as GlairKind

    glair = service.provider("glair", GlairLivenessSessions)
    # An active-liveness session: the lookup finds it after passive says "not found".
    active = await glair.create_session(GlairKind.ACTIVE, success_url="https://example.com/done")
    azure = service.provider("azure_face", AzureLivenessSessions)
    liveness = await azure.create_session(
        AzureKind.LIVENESS, SessionOptions(device_correlation_id="batch-lookup-test")
    )
    for vendor, known in (("glair", active.sid), ("azure_face", liveness.session_id)):
        ids = tmp_path / f"{vendor}.txt"
        ids.write_text(f"{known}\n0f8fad5b-d9cb-469f-a165-70867728950e\n")
        job = BatchJob(
            service,
            BatchSpec(
                BatchKind.SESSIONS, vendor, resolve(service, vendor), batch.read_session_ids(ids)
            ),
            store,
        )
        summary = await job.run()
        assert summary.complete
        first, unknown = job.rows[0].record, job.rows[1].record
        assert first["error"] == "", first
        assert first["outcome"] in {"pending", "notstarted", "inconclusive"}, first
        assert first["request_id"]
        assert unknown["error"], unknown  # unknown under every kind: one error row
