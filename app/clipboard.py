"""Which copied values are bearer material, and how a copy is marked for clipboard managers.

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


def concealed_formats(platform: str) -> dict[str, bytes]:
    """Extra clipboard formats that ask clipboard managers and histories to skip a copy.

    KDE Klipper and most Linux managers read `x-kde-passwordManagerHint`; macOS managers the
    nspasteboard.org concealed type (both spellings in use); Windows' own clipboard history and
    cloud sync read the three registered formats, which Qt reaches by the
    `application/x-qt-windows-mime;value="NAME"` form. Untested on Windows and macOS here.
    """
    if platform == "win32":
        dword_zero = (0).to_bytes(4, "little")
        return {
            _windows_format("ExcludeClipboardContentFromMonitorProcessing"): b"1",
            _windows_format("CanIncludeInClipboardHistory"): dword_zero,
            _windows_format("CanUploadToCloudClipboard"): dword_zero,
        }
    formats = {"x-kde-passwordManagerHint": b"secret"}
    if platform == "darwin":
        formats["application/x-nspasteboard-concealed-type"] = b"secret"
        formats["org.nspasteboard.ConcealedType"] = b"secret"
    return formats


def _windows_format(name: str) -> str:
    return f'application/x-qt-windows-mime;value="{name}"'
