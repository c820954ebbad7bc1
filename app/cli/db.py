"""`facedesk db upgrade|status|password`: the team store's schema and this workstation's login.

- `upgrade` is run by the database owner (FACEDESK_DATABASE_URL set to the owner's login): it
  creates or migrates the schema with Alembic and re-applies the `facedesk_reviewer` grants.
  Idempotent: run it again after every FaceDesk update.
- `status` says which store this workstation uses, who it is there, and whether the schema is
  current (exit 1 when it is not, naming the command that fixes it).
- `password` keeps this workstation's database password in the keyring (read from standard
  input, never echoed, never printed), for URLs that carry none and when no pgpass file is set.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from app.cli.common import Parser, parse_action_command

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> Parser:
    parser = Parser(
        prog="facedesk db",
        description="The team store (PostgreSQL): schema upgrades, status, this login's password.",
        epilog="The store is named by FACEDESK_DATABASE_URL (postgresql://USER@HOST:PORT/DB) or "
        "Settings › Team store; without either, FaceDesk uses this workstation's SQLite file.",
    )
    sub = parser.add_subparsers(dest="action", required=True, parser_class=Parser)
    sub.add_parser("upgrade", help="create or migrate the schema and the reviewer role (owner)")
    status = sub.add_parser("status", help="which store, which login, is the schema current")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    sub.add_parser("password", help="keep this login's password in the keyring (from stdin)")
    return parser


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk db`; `argv` may start with "db" or with the action."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parsed = parse_action_command("db", _parser(), argv, out, err)
    if isinstance(parsed, int):
        return parsed
    args = parsed

    from app.errors import AppError
    from app.paths import default_paths
    from app.store import StoreError, database_target, redact_url

    paths = default_paths().ensure()
    try:
        target = database_target(paths)
    except StoreError as exc:
        print(f"facedesk db: {exc.user_message}", file=err)
        return EXIT_USAGE
    if not isinstance(target, str):
        if args.action == "status":
            return _local_status(str(target), as_json=args.json, out=out)
        print(
            "facedesk db: no team store is configured: set FACEDESK_DATABASE_URL="
            "postgresql://USER@HOST:PORT/DATABASE (or Settings › Team store). This workstation "
            f"uses its own SQLite file ({target}), which upgrades itself.",
            file=err,
        )
        return EXIT_USAGE
    try:
        if args.action == "password":
            return _password(target, out=out, err=err)
        if args.action == "upgrade":
            return _upgrade(target, paths, out=out)
        return _status(target, paths, as_json=args.json, out=out)
    except AppError as exc:
        print(f"facedesk db: {exc.user_message}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"facedesk db: interrupted ({redact_url(target)})", file=err)
        return EXIT_FAILED


def _open(target: str, paths: object, *, check_schema: bool) -> object:
    from app.paths import AppPaths
    from app.secrets import open_secret_store
    from app.store.postgres import PostgresStore

    assert isinstance(paths, AppPaths)
    return PostgresStore(
        target,
        checkpoint_dir=paths.data_dir,
        secrets=open_secret_store(),
        check_schema=check_schema,
    )


def _upgrade(target: str, paths: object, *, out: TextIO) -> int:
    from app.store.postgres import PostgresStore

    store = _open(target, paths, check_schema=False)
    assert isinstance(store, PostgresStore)
    try:
        for line in store.upgrade():
            out.write(f"{store.where}: {line}\n")
    finally:
        store.close(checkpoint=False)
    return EXIT_OK


def _status(target: str, paths: object, *, as_json: bool, out: TextIO) -> int:
    from app.store import StoreSchemaMismatch
    from app.store.migrations.postgres import HEAD_REVISION
    from app.store.postgres import PostgresStore

    store = _open(target, paths, check_schema=False)
    assert isinstance(store, PostgresStore)
    try:
        store.ping()
        revision = store.schema_revision()
        problem = None
        try:
            store.check_schema()
        except StoreSchemaMismatch as exc:
            problem = exc.user_message
        document = {
            "backend": "postgresql",
            "where": store.where,
            "login": store.operator,
            "schema": revision,
            "needs": HEAD_REVISION,
            "current": problem is None,
            "problem": problem,
        }
    finally:
        store.close(checkpoint=False)
    if as_json:
        out.write(json.dumps(document) + "\n")
    else:
        out.write(
            f"team store {document['where']} as {document['login']}: schema "
            f"{revision or 'none'} (this FaceDesk needs {HEAD_REVISION})\n"
        )
        if problem:
            out.write(f"{problem}\n")
    return EXIT_OK if problem is None else EXIT_FAILED


def _local_status(database_file: str, *, as_json: bool, out: TextIO) -> int:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    document = {
        "backend": "sqlite",
        "where": database_file,
        "login": login,
        "current": True,
    }
    if as_json:
        out.write(json.dumps(document) + "\n")
    else:
        out.write(f"this workstation's own store: {database_file} (SQLite, upgrades itself)\n")
    return EXIT_OK


def _password(target: str, *, out: TextIO, err: TextIO) -> int:
    from app.errors import AppError
    from app.secrets import open_secret_store
    from app.store import TEAM_STORE_SECRET_SCOPE, redact_url
    from app.store.postgres import secret_field

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {redact_url(target)}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("facedesk db: no password given; nothing was stored.", file=err)
        return EXIT_USAGE
    secrets = open_secret_store()
    if not secrets.persistent:
        print(
            "facedesk db: there is no keyring on this workstation to keep the password in; use "
            "a pgpass file instead (PGPASSFILE, or ~/.pgpass with mode 0600).",
            file=err,
        )
        return EXIT_FAILED
    try:
        secrets.set(TEAM_STORE_SECRET_SCOPE, secret_field(target), password)
    except AppError as exc:
        print(f"facedesk db: {exc.user_message}", file=err)
        return EXIT_FAILED
    out.write(f"password for {redact_url(target)} kept in the keyring\n")
    return EXIT_OK
