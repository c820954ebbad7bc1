"""Compare results as files: CSV and JSON, the pair named by fingerprint, stale rows marked."""

from __future__ import annotations

import csv
import io
import json

from app.workflows.compare import Comparison, ImagePair

EXPORT_COLUMNS = (
    "vendor",
    "connection",
    "verdict",
    "score",
    "scale",
    "threshold",
    "threshold_meaning",
    "headline",
    "request_id",
    "latency_ms",
    "answered_at",
    "error",
)


def export_json(comparison: Comparison, pair: ImagePair) -> str:
    """The comparison as one JSON document: the pair's fingerprints, the rows, disagreement."""
    document = {
        "id_photo": pair.fingerprints[0],
        "selfie": pair.fingerprints[1],
        "disagreement": comparison.disagreement,
        "rows": [{**row.record(), "stale": row.pair_key != pair.key} for row in comparison.rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_csv(comparison: Comparison, pair: ImagePair) -> str:
    """The comparison as CSV, one row per vendor (plus a stale column)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=[*EXPORT_COLUMNS, "stale"], extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in comparison.rows:
        writer.writerow({**row.record(), "stale": str(row.pair_key != pair.key).lower()})
    return buffer.getvalue()
