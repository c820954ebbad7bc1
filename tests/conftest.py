"""Test-wide setup: no display, no real keychain, no real config folders."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's own settings (window geometry, recent files) and any other per-user folder go to a
# scratch home for this test run, never the developer's.
_scratch_home = tempfile.mkdtemp(prefix="facedesk-tests-")
for _variable, _folder in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_CACHE_HOME", "cache"),
):
    os.environ[_variable] = os.path.join(_scratch_home, _folder)
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
os.environ.setdefault("LANG", "C.UTF-8")

import itertools  # noqa: E402 (after the environment above)
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.paths import AppPaths  # noqa: E402
from app.secrets import MemorySecretStore  # noqa: E402
from tests.pg_cluster import PgCluster  # noqa: E402


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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the run; each test makes its own database in it.

    Skips (saying why) only where the PostgreSQL binaries are absent; under CI, whose bootstrap
    installs them, their absence is a failure instead.
    """
    from tests.pg_cluster import pg_bin, start_cluster

    if pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL (scripts/bootstrap.sh installs `postgresql`)")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


_database_counter = itertools.count(1)


@pytest.fixture
def team_database(pg_cluster: PgCluster) -> str:
    """A fresh database of the shared cluster, owned by the superuser, schema not yet made."""
    return pg_cluster.create_database(f"team_{os.getpid()}_{next(_database_counter)}")
