"""Batch throughput: FaceDesk's batch search vs raw httpx on the sandbox over a loopback socket.

Both send the same prepared requests (uqudo 1:N search, images prepared by FaceDesk's upload
rules beforehand) at the same concurrency. FaceDesk's side is the whole job: rate gate, audit
entries (attempt and outcome), job state per row and the CSV. Then the same job with 10 % of the
searches answered 429 (spread through the run, Retry-After 0.1 s): every row must succeed.

    PYTHONPATH=. .venv/bin/python bench/batch.py [--count 500] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from app import imaging  # noqa: E402
from app.paths import AppPaths  # noqa: E402
from app.secrets import MemorySecretStore  # noqa: E402
from app.services import open_service  # noqa: E402
from app.vendors.uqudo import client as uqudo  # noqa: E402
from app.workflows import batch  # noqa: E402
from app.workflows.batch_jobs import SqliteBatchJobStore  # noqa: E402
from app.workflows.connections import env_variable, from_environment  # noqa: E402
from tests.batch_images import write_people  # noqa: E402
from tests.sandbox_server import SocketSandbox  # noqa: E402

SEARCH = "/uqudo/api/v1/face/one-to-n/search"


def environment(origin: str) -> dict[str, str]:
    info = uqudo.INFO
    values = {
        env_variable("uqudo", k): v.replace("{root}", origin)
        for k, v in info.sandbox_connection.items()
    }
    values.update({env_variable("uqudo", k): v for k, v in info.sandbox_credentials.items()})
    return values


async def raw_httpx(origin: str, bodies: list[bytes], concurrency: int) -> float:
    """The same prepared search bodies, posted with plain httpx and a semaphore."""
    creds = uqudo.INFO.sandbox_credentials
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        token_response = await client.post(
            f"{origin}/uqudo/api/oauth/token",
            data={"grant_type": "client_credentials", **creds},
        )
        token = token_response.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        gate = asyncio.Semaphore(concurrency)

        async def one(body: bytes) -> None:
            async with gate:
                response = await client.post(f"{origin}{SEARCH}", content=body, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started


async def facedesk(
    origin: str, folder: Path, concurrency: int, scratch: Path, *, inject_429: bool = False
) -> tuple[float, list[dict[str, str]], int]:
    paths = AppPaths(scratch / "config", scratch / "data", scratch / "logs").ensure()
    async with open_service(paths, secrets=MemorySecretStore()) as service:
        connection = from_environment(uqudo.INFO, environment(origin))
        spec = batch.BatchSpec(
            batch.BatchKind.SEARCH,
            "uqudo",
            connection,
            batch.list_images(folder),
            concurrency=concurrency,
        )
        store = SqliteBatchJobStore(paths.database_file)
        out = scratch / "rows.csv"
        injected = 0
        admin = httpx.AsyncClient()
        pending: list[asyncio.Task[Any]] = []

        def on_row(row: batch.BatchRow) -> None:
            nonlocal injected
            # One 429 for every ten rows finished: 10 % of the searches, spread over the run.
            done = job.progress().done
            if inject_429 and row.state is batch.ItemState.DONE and done % 10 == 0:
                injected += 1
                spec_429 = {
                    "path": SEARCH + "$",
                    "status": 429,
                    "count": 1,
                    "headers": {"Retry-After": "0.1"},
                }
                pending.append(
                    asyncio.ensure_future(admin.post(f"{origin}/_sandbox/faults", json=spec_429))
                )

        job = batch.BatchJob(service, spec, store, writer=batch.RowWriter(out), on_row=on_row)
        started = time.perf_counter()
        summary = await job.run()
        elapsed = time.perf_counter() - started
        await asyncio.gather(*pending)
        await admin.delete(f"{origin}/_sandbox/faults")
        await admin.aclose()
        store.close()
        assert summary.complete, summary
        with out.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        return elapsed, rows, summary.slowdowns


def prepared_bodies(folder: Path) -> list[bytes]:
    import json

    bodies = []
    for item in batch.list_images(folder):
        data = Path(item.source).read_bytes()
        prepared = imaging.prepare(imaging.load(data, item.name), uqudo.INFO.upload_rules)
        payload = {"idPhoto": base64.b64encode(prepared.data).decode("ascii"), "insert": False}
        bodies.append(json.dumps(payload).encode())
    return bodies


async def main_async(count: int, concurrency: int, runs: int) -> None:
    server = SocketSandbox().start()
    try:
        with tempfile.TemporaryDirectory() as scratch_dir:
            scratch = Path(scratch_dir)
            folder = scratch / "images"
            write_people(folder, range(count))
            bodies = prepared_bodies(folder)
            raw_times, desk_times = [], []
            for run in range(runs):
                raw_times.append(await raw_httpx(server.origin, bodies, concurrency))
                elapsed, rows, _ = await facedesk(
                    server.origin, folder, concurrency, scratch / f"run{run}"
                )
                assert len(rows) == count
                assert not [r for r in rows if r["error"]]
                desk_times.append(elapsed)
            raw, desk = statistics.median(raw_times), statistics.median(desk_times)
            print(f"{count} searches at concurrency {concurrency}, median of {runs} runs")
            print(f"raw httpx: {raw:.2f} s ({count / raw:.0f}/s)")
            print(f"facedesk batch: {desk:.2f} s ({count / desk:.0f}/s)")
            print(f"throughput facedesk / raw = {raw / desk:.2f}x (target >= 0.8x)")
            elapsed, rows, slowdowns = await facedesk(
                server.origin, folder, concurrency, scratch / "limited", inject_429=True
            )
            ok = sum(1 for r in rows if not r["error"] and r["outcome"] != "error")
            print(
                f"with 10% injected 429s: {ok}/{count} rows succeeded, {slowdowns} slow-downs, "
                f"{elapsed:.2f} s ({count / elapsed:.0f}/s)"
            )
            assert ok == count
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="40 searches, one run (tests)")
    args = parser.parse_args()
    if args.small:
        args.count, args.runs = 40, 1
    asyncio.run(main_async(args.count, args.concurrency, args.runs))


if __name__ == "__main__":
    main()
