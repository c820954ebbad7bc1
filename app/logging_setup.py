"""Logs in the platform log folder with rotation, filtered so no credential can reach them."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

# Belt and braces: the code logs an allow-list of fields, and this filter masks anything that
# still looks like a credential (bearer tokens, API keys in key=value form, JWTs).
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:api[_-]?key|secret|password|token|signature)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"
    ),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern in _PATTERNS:
            redacted = pattern.sub(
                lambda m: (m.group(1) if m.groups() else "") + "[redacted]", redacted
            )
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(log_file: Path, *, level: int = logging.INFO) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.setLevel(level)
    for existing in list(root.handlers):
        if isinstance(existing, logging.handlers.RotatingFileHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    # httpx/httpcore log full URLs (with query strings) at INFO/DEBUG: keep them quiet.
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
