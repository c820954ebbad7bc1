"""A throwaway PostgreSQL 15 cluster for the team-store tests (Debian's `postgresql` package).

`initdb` refuses to run as root, so as root the cluster is made and run by the `postgres` user
(`runuser`); every folder on the way is made traversable for it. Password authentication
(SCRAM) is on for TCP, as on a real team server, so the tests exercise how FaceDesk finds a
password (URL, pgpass file, keyring). The cluster listens on a free loopback port and its
socket folder is private to the run; `stop()` ends it with `pg_ctl -m immediate`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PG_BIN_CANDIDATES = (
    Path("/usr/lib/postgresql/15/bin"),
    Path("/usr/lib/postgresql/16/bin"),
    Path("/usr/lib/postgresql/17/bin"),
)
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "cluster-owner-secret"  # a test cluster's, never a real one's


def pg_bin() -> Path | None:
    """Where initdb and pg_ctl are, or None (the tests that need them skip, saying why)."""
    override = os.environ.get("FACEDESK_PG_BIN")
    for folder in ((Path(override),) if override else ()) + PG_BIN_CANDIDATES:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgCluster:
    root: Path
    port: int
    bin: Path

    def url(
        self,
        user: str = SUPERUSER,
        password: str | None = SUPERUSER_PASSWORD,
        *,
        database: str = "postgres",
    ) -> str:
        auth = quote(user) + (":" + quote(password) if password is not None else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def psql(self, statement: str, *, database: str = "postgres") -> str:
        """Run SQL as the cluster's superuser; its output (tuples only)."""
        import psycopg

        with psycopg.connect(self.url(database=database), autocommit=True) as conn:
            cursor = conn.execute(statement.encode())
            if cursor.description is None:
                return ""
            return "\n".join("|".join(str(v) for v in row) for row in cursor.fetchall())

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def create_login(self, name: str, password: str) -> None:
        """A login role with this password. Roles are cluster-wide and the cluster is shared by
        the whole run, so an existing role gets its password reset to the one asked for."""
        self.psql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
            f'CREATE ROLE "{name}" LOGIN; END IF; END $$'
        )
        self.psql(f"ALTER ROLE \"{name}\" LOGIN PASSWORD '{password}'")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _as_postgres(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)


def start_cluster() -> PgCluster:
    """initdb + pg_ctl start in a fresh temporary folder; raises RuntimeError saying why not."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="facedesk-pg-"))
    root.chmod(0o755)  # the postgres user must reach it
    if os.geteuid() == 0:
        shutil.chown(root, SUPERUSER, SUPERUSER)
    password_file = root / "pwfile"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(password_file, SUPERUSER, SUPERUSER)
    port = _free_port()
    try:
        _as_postgres(
            [
                str(binaries / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        _as_postgres(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(root / "data"),
                "-l",
                str(root / "log"),
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-w",
                "start",
            ]
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"the test cluster did not start: {exc.stderr}{log}") from exc
    return PgCluster(root=root, port=port, bin=binaries)


REVIEWER_PASSWORDS = {"alice": "alice-store-secret-1", "bob": "bob-store-secret-2"}


def make_team(cluster: PgCluster, database: str) -> dict[str, str]:
    """The schema made by its owner in `database`, and alice and bob as reviewers: their URLs."""
    from app.store.postgres import PostgresStore

    owner = PostgresStore(cluster.url(database=database), check_schema=False)
    owner.upgrade()
    owner.close(checkpoint=False)
    urls = {}
    for name, password in REVIEWER_PASSWORDS.items():
        cluster.create_login(name, password)
        cluster.psql(f"GRANT facedesk_reviewer TO {name}")
        urls[name] = cluster.url(name, password, database=database)
    return urls
