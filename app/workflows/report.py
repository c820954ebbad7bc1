"""The evidence report of a case: `REF.json` (machine-readable) and `REF.pdf` (to file).

Both hold the same facts: the case's reference, state and tags, its photos, every vendor run
(verdict, the vendor's score on its own scale, threshold, request id), the reviewer's decision
and reason, the notes, the case's audit entries, and the audit head hash at export time. Neither
holds a secret, a token or a hosted-session URL: URLs in audit targets are replaced before
writing, and nothing is read from the keyring except the case's photo key to decrypt photos.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.store import AuditChainRow
from app.workflows.cases import CaseBook, CaseError, CaseFile, CasePhoto, Note

URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
URL_PLACEHOLDER = "[link removed]"


@dataclass(frozen=True, slots=True)
class ExportedFile:
    path: Path
    sha256: str


def scrub(text: str | None) -> str | None:
    """Remove URLs (hosted-session links may carry a session token)."""
    return None if text is None else URL_RE.sub(URL_PLACEHOLDER, text)


def report_document(
    case_file: CaseFile,
    photos: Sequence[CasePhoto],
    *,
    audit_head: str,
    audit_count: int,
    exported_at: datetime | None = None,
    exported_by: str = "",
) -> dict[str, Any]:
    """The report as JSON-ready data (the PDF is laid out from the same dictionary)."""
    case = case_file.case
    decision = case_file.decision
    return {
        "report": "FaceDesk case evidence report",
        "exported_at": (exported_at or datetime.now(UTC)).isoformat(),
        "exported_by": exported_by,
        "case": {
            "reference": case.reference,
            "state": case.state.value,
            "tags": list(case.tags),
            "created_at": case.created_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
            "photos_note": case.photos_note,
            "assignee": case.assignee,
        },
        "image_pairs": [
            {
                "time": p.time_utc.isoformat(),
                "operator": p.operator,
                "fingerprints": list(p.fingerprints),
                "photos_kept": p.photos_kept,
            }
            for p in case_file.pairs
        ],
        "photos": [
            {
                "fingerprint": photo.fingerprint,
                "role": photo.role,
                "media_type": photo.media_type,
                "sha256": hashlib.sha256(photo.data).hexdigest(),
                "data_base64": base64.b64encode(photo.data).decode(),
            }
            for photo in photos
        ],
        "vendor_runs": [
            {
                "time": r.time_utc.isoformat(),
                "operator": r.operator,
                "vendor": r.vendor,
                "profile": r.profile,
                "operation": r.operation,
                "outcome": scrub(r.outcome),
                "verdict": r.verdict,
                "score": r.score,
                "scale": r.scale,
                "threshold": r.threshold,
                "headline": scrub(r.headline),
                "request_id": r.request_id,
                "audit_entry": r.audit_id,
                "audit_hash": r.audit_hash,
            }
            for r in case_file.runs
        ],
        "forensics": [
            {
                "time": f.time_utc.isoformat(),
                "operator": f.operator,
                "fingerprint": f.fingerprint,
                "sha256": f.sha256,
                "phash": f.phash,
                "findings": [scrub_finding(finding) for finding in f.findings],
            }
            for f in case_file.forensics
        ],
        "decision": _decision(decision) if decision else None,
        "earlier_decisions": [_decision(d) for d in case_file.decisions[:-1]],
        "notes": [_note(n) for n in case_file.notes],
        "audit_entries": [_audit_row(r) for r in case_file.audit],
        "audit_head": {"hash": audit_head, "entries": audit_count},
    }


def export_case(document: dict[str, Any], out_dir: Path) -> list[ExportedFile]:
    """Write DIR/REF.json and DIR/REF.pdf; return each with its SHA-256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = document["case"]["reference"]
    json_bytes = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    pdf_bytes = render_pdf(document)
    written = []
    for suffix, data in ((".pdf", pdf_bytes), (".json", json_bytes)):
        path = out_dir / f"{reference}{suffix}"
        path.write_bytes(data)
        written.append(ExportedFile(path, hashlib.sha256(data).hexdigest()))
    return written


def _decision(decision: Any) -> dict[str, Any]:
    return {
        "decision": decision.decision.value,
        "reason": scrub(decision.reason),
        "operator": decision.operator,
        "time": decision.time_utc.isoformat(),
    }


def _note(note: Note) -> dict[str, Any]:
    return {
        "id": note.item_id,
        "time": note.time_utc.isoformat(),
        "operator": note.operator,
        "text": scrub(note.text),
        "replies": [_note(r) for r in note.replies],
    }


def scrub_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """A recorded finding for the report: its words, with any URL (a map link) removed."""
    return {key: scrub(str(value)) for key, value in finding.items() if key != "data"}


def _audit_row(row: AuditChainRow) -> dict[str, Any]:
    entry = row.entry
    return {
        "id": row.entry_id,
        "operator": entry.os_user,
        "time": entry.time_utc.isoformat(),
        "vendor": entry.provider,
        "operation": entry.operation,
        "targets": [scrub(t) for t in entry.targets],
        "outcome": scrub(entry.outcome),
        "request_id": entry.request_id,
        "hash": row.hash,
    }


# --- PDF ---------------------------------------------------------------------------------------


def render_pdf(document: dict[str, Any]) -> bytes:
    """Lay the report out on A4 pages with reportlab (pure Python, works headless)."""
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.enums import TA_CENTER, TA_LEFT  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import (  # type: ignore[import-untyped]
        CondPageBreak,
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=12)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, alignment=TA_LEFT)
    centered = ParagraphStyle("centered", parent=small, alignment=TA_CENTER)
    mono = ParagraphStyle("mono", parent=small, fontName="Courier", fontSize=7, leading=9)
    heading = ParagraphStyle(
        "heading", parent=styles["Heading2"], fontSize=12, spaceBefore=10, spaceAfter=4
    )
    title = ParagraphStyle("title", parent=styles["Title"], fontSize=17, spaceAfter=2)
    case = document["case"]
    head = document["audit_head"]
    page_width = A4[0] - 36 * mm

    def section(title: str) -> list[Any]:
        # A heading never sits alone at the foot of a page: start a new one when little is left.
        return [CondPageBreak(30 * mm), p(title, heading)]

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(_escape("" if text is None else str(text)), style)

    def grid(
        rows: list[list[Any]],
        widths: list[float],
        header: bool = True,
        spanned: Sequence[int] = (),
    ) -> Table:
        # `spanned`: rows whose first cell spans the whole width (ids and hashes, which must
        # never be broken across lines: a reader copies them to look them up).
        table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
        style: list[tuple[Any, ...]] = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa0a6")),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        for index in spanned:
            style.append(("SPAN", (0, index), (-1, index)))
            style.append(("NOSPLIT", (0, index - 1), (-1, index)))  # a row stays with its ids
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#fafafa")))
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eaed")))
        else:
            style.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f1f3f4")))
        table.setStyle(TableStyle(style))
        return table

    story: list[Any] = [
        p(f"Case evidence report: {case['reference']}", title),
        p(
            f"FaceDesk · exported {_short(document['exported_at'])} by {document['exported_by']}",
            small,
        ),
        Spacer(1, 4 * mm),
    ]
    decision = document["decision"]
    summary = [
        [p("Reference", body), p(case["reference"])],
        [p("State"), p(case["state"])],
        [p("Tags"), p(", ".join(case["tags"]) or "none")],
        [p("Opened"), p(_short(case["created_at"]))],
        [p("Closed"), p(_short(case["closed_at"]) if case["closed_at"] else "not closed")],
        [
            p("Reviewer decision"),
            p(f"{decision['decision'].upper()}: {decision['reason']}" if decision else "none"),
        ],
        [p("Audit head at export"), p(f"{head['hash']} ({head['entries']} entries)", mono)],
    ]
    story.append(grid(summary, [40 * mm, page_width - 40 * mm], header=False))

    story += section("Photos")
    if document["photos"]:
        cells, captions = [], []
        for photo in document["photos"]:
            data = base64.b64decode(photo["data_base64"])
            image = Image(io.BytesIO(data))
            scale = min(70 * mm / image.imageWidth, 70 * mm / image.imageHeight)
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            cells.append(image)
            captions.append(p(f"{photo['role']} · {photo['fingerprint']}", centered))
        width = page_width / max(len(cells), 1)
        photos = Table([cells, captions], colWidths=[width] * len(cells))
        photos.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
        story.append(photos)
    else:
        story.append(p(case["photos_note"] or "No photos are kept for this case."))
    if document["image_pairs"]:
        pairs = [[p("Attached", small), p("By", small), p("Fingerprints", small)]]
        pairs += [
            [
                p(_short(pair["time"]), small),
                p(pair["operator"], small),
                p(", ".join(pair["fingerprints"]), mono),
            ]
            for pair in document["image_pairs"]
        ]
        story += [Spacer(1, 2 * mm), grid(pairs, [32 * mm, 28 * mm, page_width - 60 * mm])]

    story += section("Vendor runs")
    if document["vendor_runs"]:
        header = [
            "Time",
            "Vendor",
            "Operation",
            "Outcome",
            "Verdict",
            "Score",
            "Threshold",
        ]
        runs = [[p(h, small) for h in header]]
        run_id_rows: list[int] = []
        for run in document["vendor_runs"]:
            score = "" if run["score"] is None else f"{run['score']:g}"
            if run["scale"]:
                score += f" ({run['scale']})"
            runs.append(
                [
                    p(_short(run["time"]), small),
                    p(run["vendor"], small),
                    p(run["operation"], small),
                    p(run["outcome"], small),
                    p(run["verdict"] or "not recorded", small),
                    p(score or "-", small),
                    p(run["threshold"] or "-", small),
                ]
            )
            run_id_rows.append(len(runs))
            runs.append([p(f"request id {run['request_id'] or 'none given'}", mono)] + [""] * 6)
        widths = [24, 22, 30, 26, 22, 28, 22]
        story.append(grid(runs, [w * mm for w in widths], spanned=run_id_rows))
        story.append(
            p(
                "The reviewer's decision is recorded beside these verdicts; it never replaces "
                "them.",
                small,
            )
        )
    else:
        story.append(p("No vendor run is attached to this case."))

    if document["forensics"]:
        story += section("Image forensics")
        story.append(
            p(
                "Signs about each photo's history, recorded with its fingerprint. No finding alone "
                "proves a forgery, and the absence of alerts does not prove an unedited photo.",
                small,
            )
        )
        for record in document["forensics"]:
            rows = [[p(h, small) for h in ("Level", "Finding", "Value")]]
            for finding in record["findings"]:
                rows.append(
                    [
                        p(finding.get("level", ""), small),
                        p(finding.get("title", ""), small),
                        p(finding.get("value", ""), small),
                    ]
                )
            story.append(
                p(
                    f"{record['fingerprint']} · pHash {record['phash']} · {_short(record['time'])}",
                    mono,
                )
            )
            story.append(grid(rows, [18 * mm, 40 * mm, page_width - 58 * mm]))
            story.append(Spacer(1, 2 * mm))

    story += section("Reviewer decision")
    if decision:
        story.append(
            grid(
                [
                    [p("Decision"), p(decision["decision"].upper())],
                    [p("Reason"), p(decision["reason"])],
                    [p("Decided by"), p(f"{decision['operator']}, {_short(decision['time'])}")],
                ],
                [40 * mm, page_width - 40 * mm],
                header=False,
            )
        )
        for earlier in document["earlier_decisions"]:
            story.append(
                p(
                    f"Earlier: {earlier['decision']} by {earlier['operator']}, "
                    f"{_short(earlier['time'])}: {earlier['reason']}",
                    small,
                )
            )
    else:
        story.append(p("The reviewer has not decided this case."))

    story += section("Notes")
    if document["notes"]:
        for note in document["notes"]:
            story += _note_paragraphs(note, 0, body, small)
    else:
        story.append(p("No notes."))

    story += section("Audit entries of this case")
    rows = [
        [
            p(h, small)
            for h in (
                "#",
                "Time",
                "Operator",
                "Vendor",
                "Operation",
                "Outcome",
            )
        ]
    ]
    hash_rows: list[int] = []
    for entry in document["audit_entries"]:
        rows.append(
            [
                p(entry["id"], small),
                p(_short(entry["time"]), small),
                p(entry["operator"], small),
                p(entry["vendor"], small),
                p(entry["operation"], small),
                p(entry["outcome"], small),
            ]
        )
        hash_rows.append(len(rows))
        proof = f"hash {_escape(entry['hash'] or '-')}"
        if entry["request_id"]:
            proof += f"<br/>request id {_escape(entry['request_id'])}"
        rows.append([Paragraph(proof, mono)] + [""] * 5)
    audit_widths = (10, 26, 26, 24, 46, 42)
    story.append(grid(rows, [w * mm for w in audit_widths], spanned=hash_rows))
    story.append(Spacer(1, 4 * mm))
    story.append(
        KeepTogether(
            [
                p("Integrity", heading),
                p(
                    "Each audit entry carries the SHA-256 of its content and of the entry before "
                    "it. At export the trail held "
                    f"{head['entries']} entries with head hash:",
                    body,
                ),
                p(head["hash"], mono),
                p(
                    "Run `facedesk audit verify` on the same data folder: it prints the head hash "
                    "of an intact trail.",
                    small,
                ),
            ]
        )
    )

    footer = f"Case {case['reference']} · audit head {head['hash'][:16]}…"

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#5f6368"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Case {case['reference']} evidence report",
        author="FaceDesk",
        invariant=1,
    ).build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


def _note_paragraphs(note: dict[str, Any], depth: int, body: Any, small: Any) -> list[Any]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    indented = ParagraphStyle(f"note{depth}", parent=body, leftIndent=depth * 8 * mm)
    meta = ParagraphStyle(
        f"meta{depth}", parent=small, leftIndent=depth * 8 * mm, textColor="#5f6368"
    )
    lead = "Reply · " if depth else ""
    items: list[Any] = [
        Paragraph(_escape(f"{lead}{note['operator']}, {_short(note['time'])}"), meta),
        Paragraph(_escape(note["text"] or ""), indented),
    ]
    for reply in note["replies"]:
        items += _note_paragraphs(reply, depth + 1, body, small)
    return items


def _short(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def case_report(book: CaseBook, reference: str) -> dict[str, Any]:
    """The report document of a case as it stands now (photos decrypted where kept)."""
    case_file = book.case_file(reference)
    count, head = book.store.audit_head()
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return report_document(
        case_file, book.photos(reference), audit_head=head, audit_count=count, exported_by=who
    )


def export_case_report(book: CaseBook, reference: str, out_dir: Path) -> list[ExportedFile]:
    """Audit the export, then write DIR/REF.pdf and DIR/REF.json.

    The export is audited first so the head hash inside the report is the one `facedesk audit
    verify` prints right after.
    """
    case = book.get(reference)
    book.store.audit(
        provider="facedesk",
        profile="",
        operation="case.export",
        targets=[f"case:{case.reference}"],
        outcome="report generated",
    )
    document = case_report(book, case.reference)
    try:
        return export_case(document, out_dir)
    except OSError as exc:
        raise CaseError(f"FaceDesk could not write the report into {out_dir}: {exc}") from exc
