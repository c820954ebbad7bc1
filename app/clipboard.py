"""Which copied values are bearer material, and what the privacy view shows instead of an id.

Bearer material is anything that lets whoever holds it act: Azure liveness `authToken`s, hosted
session URLs (the link alone starts or finishes someone's verification), signed links (SAS,
S3 presigned, `?token=`/`?sig=`), and JWTs wherever they appear. Such copies are marked
concealed for clipboard managers and wiped after `CONCEAL_SECONDS`; plain ids (session ids,
request ids, UUIDs) are copied as they are, because operators paste them into tickets.

The caller says what the field holds (`ClipRole`); the value itself can still make a copy
bearer (a JWT in "plain" text, a signed URL in a raw JSON reply), never the other way round.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

CONCEAL_SECONDS = 30.0


class ClipRole(StrEnum):
    AUTH_TOKEN = "auth_token"  # an access token handed to a client SDK
    SESSION_URL = "session_url"  # a hosted verification page for one applicant
    SIGNED_LINK = "signed_link"  # a time-limited link that carries its own authorisation
    ID = "id"  # a session, request, person or media id
    TEXT = "text"  # details, JSON, report text


BEARER_ROLES = frozenset({ClipRole.AUTH_TOKEN, ClipRole.SESSION_URL, ClipRole.SIGNED_LINK})

# Query parameters that authorise the request they are on (SAS, S3/GCS presigned, OAuth, ours).
SIGNING_PARAMETERS = frozenset(
    {
        "sig",
        "signature",
        "token",
        "access_token",
        "auth",
        "authtoken",
        "code",
        "key",
        "x-amz-signature",
        "x-amz-credential",
        "x-goog-signature",
        "x-goog-credential",
        "jwt",
    }
)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TOKENISH = re.compile(r"^[A-Za-z0-9_-]{32,}$")


def is_bearer(value: str, role: ClipRole = ClipRole.TEXT) -> bool:
    """True when a copy of `value` must be concealed and wiped."""
    if not value.strip():
        return False
    if role in BEARER_ROLES:
        return True
    if _JWT.search(value):
        return True
    return any(_is_signed_url(url) for url in _URL.findall(value))


def _is_signed_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return False
    if any(name.lower() in SIGNING_PARAMETERS for name, _ in query):
        return True
    # A path segment that is a long random token (not a UUID) is the link's key, as in
    # hosted pages of the form /v/<token>.
    return any(
        _TOKENISH.match(segment) and not _UUID.match(segment)
        for segment in parts.path.split("/")
        if segment
    )


# --- the privacy view's masks ----------------------------------------------------------------

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
