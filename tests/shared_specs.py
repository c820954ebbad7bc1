"""Where the vendor contracts' official spec files are: `shared/` beside the checkout.

CI clones the project with `shared/` beside it. Elsewhere, point FACEDESK_SHARED_DIR at a copy;
without one, the tests that validate against the official Azure spec are skipped, saying why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def azure_face_specs() -> Path:
    candidates = [os.environ.get("FACEDESK_SHARED_DIR"), str(REPO_ROOT.parent / "shared")]
    for candidate in candidates:
        if candidate:
            folder = Path(candidate) / "providers" / "specs" / "azure-face"
            if (folder / "Face.v1.2.json").is_file():
                return folder
    pytest.skip(
        "the official Azure AI Face spec (shared/providers/specs/azure-face) is not beside this "
        "checkout; set FACEDESK_SHARED_DIR to run these tests",
        allow_module_level=True,
    )
