"""What the privacy view shows instead of ids and names (Qt-free; the window applies it).

For demos on shared screens: an id keeps its last four characters (`••••1a2b`), enough to tell
two rows apart and not enough to look anyone up; a name keeps nothing, not even initials.
"""

from __future__ import annotations

import re

MASK = "••••"


def mask_identifier(value: str, visible: int = 4) -> str:
    """`3f2c…-1a2b` → `••••1a2b`: enough to tell two ids apart on a shared screen, not to use."""
    text = value.strip()
    if not text:
        return text
    if len(text) <= visible * 2:
        return MASK
    return MASK + text[-visible:]


def mask_name(value: str) -> str:
    """A person's name or a label → one mask a word (`Ada Lovelace` → `•••• ••••`).

    No letter is kept: initials and a length are already enough to recognise someone known.
    """
    words = [w for w in re.split(r"\s+", value.strip()) if w]
    return " ".join(MASK for _ in words[:3])


# Ids inside longer text: UUIDs, long hex, and long letter-digit tokens (session and request ids).
_ID_IN_TEXT = re.compile(
    r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"
    r"|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{10,}\b"
)


def mask_ids_in(text: str) -> str:
    """Every id-looking word of `text` masked; the words around it (statuses, dates) stay."""
    return _ID_IN_TEXT.sub(lambda match: mask_identifier(match.group(0)), text)
