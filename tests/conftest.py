"""Test-wide setup: no display, no real keychain, no real config folders."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
os.environ.setdefault("LANG", "C.UTF-8")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.paths import AppPaths  # noqa: E402
from app.secrets import MemorySecretStore  # noqa: E402


@pytest.fixture
def app_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppPaths]:
    paths = AppPaths(
        config_dir=tmp_path / "config", data_dir=tmp_path / "data", log_dir=tmp_path / "logs"
    )
    monkeypatch.setenv("FACEDESK_CONFIG_DIR", str(paths.config_dir))
    monkeypatch.setenv("FACEDESK_DATA_DIR", str(paths.data_dir))
    monkeypatch.setenv("FACEDESK_LOG_DIR", str(paths.log_dir))
    yield paths.ensure()


@pytest.fixture
def memory_secrets() -> MemorySecretStore:
    return MemorySecretStore()
