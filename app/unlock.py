"""What unlocks the locked window: the OS password where checkable, else a FaceDesk passphrase.

The passphrase is kept as a salted scrypt hash in the keyring, never as itself.

Every checker is blocking (PAM and scrypt take a moment): call `check` through asyncio.to_thread.

- Linux (and other PAM systems): python-pam against `/etc/pam.d/facedesk` when an administrator
  put one there, else the `login` service. Not used when FaceDesk runs as root (root's account in
  containers usually has no password, and `login` refuses root off a console) or under CI.
- Windows: `LogonUserW` with an interactive logon for the signed-in user. Untested on this
  project's machines; a Microsoft account's PIN is not a password and does not work here.
- macOS: PAM as well (libpam ships with macOS); untested on this project's machines.
"""

from __future__ import annotations

import base64
import ctypes
import getpass
import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # app.secrets imports keyring, which the window loads only after first paint
    from app.secrets import SecretStore

log = logging.getLogger("facedesk.unlock")

PASSPHRASE_KEY = "facedesk.lock"  # SecretStore profile key of the lock passphrase's hash
PASSPHRASE_FIELD = "passphrase_hash"
MIN_PASSPHRASE = 8

# scrypt at n=2**15, r=8: about 32 MiB and a tenth of a second per try on a laptop.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 64 * 1024 * 1024


class Unlocker(Protocol):
    @property
    def prompt(self) -> str:
        """What the lock screen asks for, e.g. "Password of the Linux account alice"."""
        ...

    def check(self, secret: str) -> bool: ...


# --- the FaceDesk passphrase ----------------------------------------------------------------


def hash_passphrase(passphrase: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (base64): the only form the passphrase is ever stored in."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def passphrase_matches(passphrase: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        log.warning("the stored lock passphrase hash has an unknown form; it matches nothing")
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        actual = _scrypt(passphrase, salt, n, r, p, length=len(expected))
    except ValueError:
        log.warning("the stored lock passphrase hash is damaged; it matches nothing")
        return False
    return hmac.compare_digest(actual, expected)


def passphrase_problem(new: str, repeated: str) -> str | None:
    """Why `new` cannot become the lock passphrase, or None."""
    if len(new) < MIN_PASSPHRASE:
        return f"Choose a passphrase of at least {MIN_PASSPHRASE} characters."
    if new != repeated:
        return "The two passphrases differ: type the same passphrase twice."
    return None


class PassphraseUnlocker:
    """The FaceDesk lock passphrase, as a salted hash in the keyring (never the passphrase)."""

    prompt = "FaceDesk lock passphrase"

    def __init__(self, store: SecretStore) -> None:
        self._store = store

    @property
    def persistent(self) -> bool:
        return self._store.persistent

    def is_set(self) -> bool:
        return bool(self._store.get(PASSPHRASE_KEY, PASSPHRASE_FIELD))

    def set(self, passphrase: str) -> None:
        self._store.set(PASSPHRASE_KEY, PASSPHRASE_FIELD, hash_passphrase(passphrase))

    def check(self, secret: str) -> bool:
        stored = self._store.get(PASSPHRASE_KEY, PASSPHRASE_FIELD)
        return bool(stored) and passphrase_matches(secret, str(stored))


# --- OS accounts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """The OS account check this machine offers, or why there is none."""

    unlocker: Unlocker | None
    reason: str = ""


class PamUnlocker:
    def __init__(
        self, username: str, service: str, authenticate: Callable[..., bool], system: str
    ) -> None:
        self.username = username
        self.service = service
        self._authenticate = authenticate
        self.prompt = f"Password of the {system} account {username}"

    def check(self, secret: str) -> bool:
        if not secret:
            return False
        return bool(self._authenticate(self.username, secret, service=self.service))


LOGON32_LOGON_INTERACTIVE = 2
LOGON32_PROVIDER_DEFAULT = 0


class WindowsLogonUnlocker:
    """`LogonUserW` for the signed-in user; untested on this project's machines."""

    def __init__(
        self,
        username: str,
        domain: str,
        logon_user: Callable[..., int],
        close_handle: Callable[[Any], int],
    ) -> None:
        self.username = username
        self.domain = domain
        self._logon_user = logon_user
        self._close_handle = close_handle
        self.prompt = f"Windows password of {domain}\\{username}"

    def check(self, secret: str) -> bool:
        if not secret:
            return False
        token = ctypes.c_void_p()
        ok = self._logon_user(
            self.username,
            self.domain,
            secret,
            LOGON32_LOGON_INTERACTIVE,
            LOGON32_PROVIDER_DEFAULT,
            ctypes.byref(token),
        )
        if ok and token.value:
            self._close_handle(token)
        return bool(ok)


def account_check(
    platform: str = sys.platform,
    *,
    environ: dict[str, str] | None = None,
    euid: int | None = None,
    pam_dir: Path = Path("/etc/pam.d"),
) -> AccountCheck:
    """The OS account check for this platform, or why FaceDesk falls back to its passphrase."""
    env = dict(os.environ) if environ is None else environ
    if env.get("CI"):
        return AccountCheck(None, "Running under CI: the OS account check is not used.")
    if platform == "win32":
        return _windows_check(env)
    uid = os.geteuid() if euid is None else euid
    if uid == 0:
        return AccountCheck(
            None, "FaceDesk runs as root, whose password PAM's login service does not check."
        )
    try:
        import pam
    except ImportError:
        return AccountCheck(None, "python-pam is not installed, so PAM cannot be asked.")
    service = "facedesk" if (pam_dir / "facedesk").exists() else "login"
    if not (pam_dir / service).exists() and not (pam_dir / "other").exists():
        return AccountCheck(None, f"PAM has no '{service}' service on this machine.")
    try:
        authenticator = pam.PamAuthenticator()
    except (OSError, AttributeError) as exc:  # libpam missing or too old
        return AccountCheck(None, f"PAM could not be loaded ({type(exc).__name__}).")
    system = "macOS" if platform == "darwin" else "Linux"
    return AccountCheck(PamUnlocker(getpass.getuser(), service, authenticator.authenticate, system))


def _windows_check(env: dict[str, str]) -> AccountCheck:  # pragma: no cover - Windows only
    try:
        windll: Any = getattr(ctypes, "windll")  # noqa: B009 - absent off Windows
        logon_user = windll.advapi32.LogonUserW
        close_handle = windll.kernel32.CloseHandle
    except (AttributeError, OSError):
        return AccountCheck(None, "Windows' LogonUserW could not be loaded.")
    username = env.get("USERNAME") or getpass.getuser()
    domain = env.get("USERDOMAIN") or "."
    return AccountCheck(WindowsLogonUnlocker(username, domain, logon_user, close_handle))


def _scrypt(text: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    return hashlib.scrypt(
        text.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=length
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc
