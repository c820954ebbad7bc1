"""uqudo's registry rules: face sessions and 1:N entries, which uqudo itself cannot list."""

from __future__ import annotations

import hashlib

from app.domain import EncodedImage, SessionRecord
from app.workflows.pair import InputStamp
from app.workflows.sessions import SessionTracker

FACE_SESSION_KIND = "face_session"
ONE_TO_N_KIND = "one_to_n"
SELFIE_DELETED = "selfie deleted (features kept)"
FOUND = "found"
INSERTED = "inserted"


def image_fingerprint(photo: EncodedImage) -> str:
    """Identifies the uploaded image in the audit trail without its file name (often a name)."""
    return "image sha256:" + hashlib.sha256(photo.data).hexdigest()[:16]


def face_session_label(inputs: InputStamp) -> str:
    """The registry label of a face session: the ID photo by fingerprint, never its file name."""
    shown = " ".join(image.short for _slot, image in inputs.inputs)
    return f"ID photo {shown}".strip()


async def record_one_to_n(
    tracker: SessionTracker, verification_id: str, status: str
) -> SessionRecord:
    """Record a 1:N entry; a later search hit never hides that its selfie was deleted (§6)."""
    return await tracker.record(
        verification_id,
        kind=ONE_TO_N_KIND,
        status=status,
        sticky_statuses=frozenset({SELFIE_DELETED}) if status == FOUND else frozenset(),
    )
