"""A vendor is one package: its INFO is data, and reading it never imports the vendor's client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import vendors
from app.capabilities import Capability

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import app.vendors
infos = app.vendors.INFOS
print(",".join(sorted(m for m in sys.modules if m.startswith("app.vendors.") and (
    m.endswith((".client", ".auth", ".errors"))))))
"""


def test_reading_the_vendor_infos_imports_no_client_auth_or_error_module() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_vendor_tuple_is_explicit_and_keyed_by_one_id_each() -> None:
    ids = [info.id for info in vendors.INFOS]
    assert ids == ["azure_face", "veriff", "uqudo", "glair"]
    assert [vendor.INFO for vendor in vendors.VENDORS] == list(vendors.INFOS)
    assert set(vendors.registry()) == set(ids)


def test_capabilities_are_declared_in_info_not_registered_by_imports() -> None:
    uqudo = vendors.registry()["uqudo"].INFO
    assert Capability.SESSION_RESULTS in uqudo.vendor_protocols
    assert {info.id for info in vendors.with_capability(Capability.FACE_MATCH)} == {
        "azure_face",
        "uqudo",
        "glair",
    }
    for info in vendors.INFOS:
        assert set(info.vendor_protocols) <= info.capabilities, info.id
