"""Test-wide setup: no display, no real keychain, no real config folders."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
os.environ.setdefault("LANG", "C.UTF-8")

from pathlib import Path

import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore


@pytest.fixture
def app_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    paths = AppPaths(
        config_dir=tmp_path / "config", data_dir=tmp_path / "data", log_dir=tmp_path / "logs"
    )
    monkeypatch.setenv("FACEDESK_CONFIG_DIR", str(paths.config_dir))
    monkeypatch.setenv("FACEDESK_DATA_DIR", str(paths.data_dir))
    monkeypatch.setenv("FACEDESK_LOG_DIR", str(paths.log_dir))
    return paths.ensure()


@pytest.fixture
def memory_secrets() -> MemorySecretStore:
    return MemorySecretStore()
