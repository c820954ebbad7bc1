"""Operator safety without Qt: the idle lock's clock rules, unlock checks, the clipboard rule,
the privacy masks, the Windows capture call and the [safety] settings."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import pytest

from app.capture import WDA_EXCLUDEFROMCAPTURE, WDA_MONITOR, WDA_NONE, set_capture_exclusion
from app.clipboard import ClipRole, concealed_formats, is_bearer
from app.privacy import mask_identifier, mask_ids_in, mask_name
from app.secrets import MemorySecretStore
from app.settings import SafetySettings, Settings, SettingsStore, dumps, migrate, parse
from app.unlock import (
    PASSPHRASE_FIELD,
    PASSPHRASE_KEY,
    PamUnlocker,
    PassphraseUnlocker,
    WindowsLogonUnlocker,
    account_check,
    hash_passphrase,
    passphrase_matches,
    passphrase_problem,
)
from app.workflows.lock import FREE_ATTEMPTS, MAX_RETRY_DELAY, IdleLock, LockReason


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- idle lock -----------------------------------------------------------------------------


def test_locks_once_the_idle_time_is_over_and_input_restarts_it() -> None:
    clock = FakeClock()
    lock = IdleLock(300, clock)
    clock.now += 299
    assert not lock.poll()
    lock.activity()
    clock.now += 299
    assert not lock.poll()
    assert not lock.locked
    assert lock.seconds_until_lock() == pytest.approx(1)
    clock.now += 1
    assert lock.poll()
    assert lock.state.reason is LockReason.IDLE
    assert not lock.poll()  # locking once is reported once


def test_input_while_locked_does_not_unlock_or_restart_the_idle_time() -> None:
    clock = FakeClock()
    lock = IdleLock(60, clock)
    assert lock.lock()
    lock.activity()
    assert lock.locked
    assert lock.state.reason is LockReason.MANUAL
    assert not lock.lock(LockReason.IDLE)  # the first reason stays
    lock.unlocked()
    assert not lock.locked
    clock.now += 59
    assert not lock.poll()


def test_zero_minutes_never_idles_out_but_still_locks_on_demand() -> None:
    clock = FakeClock()
    lock = IdleLock(0, clock)
    clock.now += 10**6
    assert not lock.poll()
    assert lock.seconds_until_lock() is None
    assert lock.lock()


def test_changing_the_timeout_counts_from_now() -> None:
    clock = FakeClock()
    lock = IdleLock(600, clock)
    clock.now += 500
    lock.set_timeout(120)
    clock.now += 119
    assert not lock.poll()
    clock.now += 1
    assert lock.poll()
    with pytest.raises(ValueError, match="negative"):
        lock.set_timeout(-1)


def test_wrong_credentials_slow_down_after_the_free_attempts() -> None:
    clock = FakeClock()
    lock = IdleLock(60, clock)
    lock.lock()
    delays = [lock.failed() for _ in range(FREE_ATTEMPTS + 10)]
    assert delays[: FREE_ATTEMPTS - 1] == [0.0] * (FREE_ATTEMPTS - 1)
    assert delays[FREE_ATTEMPTS] == 2.0
    assert max(delays) == MAX_RETRY_DELAY
    assert not lock.may_try()
    clock.now += MAX_RETRY_DELAY
    assert lock.may_try()
    lock.unlocked()
    assert lock.state.failed_attempts == 0


# --- unlocking -----------------------------------------------------------------------------


def test_passphrase_is_kept_only_as_a_salted_scrypt_hash() -> None:
    store = MemorySecretStore()
    unlocker = PassphraseUnlocker(store)
    assert not unlocker.is_set()
    assert not unlocker.check("anything at all")
    unlocker.set("correct horse battery")
    stored = store.get(PASSPHRASE_KEY, PASSPHRASE_FIELD)
    assert stored is not None
    assert stored.startswith("scrypt$")
    assert "correct horse" not in stored
    assert unlocker.check("correct horse battery")
    assert not unlocker.check("correct horse batterY")
    # Same passphrase, new salt: a different hash every time.
    assert hash_passphrase("correct horse battery") != hash_passphrase("correct horse battery")


def test_damaged_or_foreign_hashes_match_nothing() -> None:
    assert not passphrase_matches("x", "bcrypt$whatever")
    assert not passphrase_matches("x", "scrypt$16384$8$1$!!notbase64$AAAA")
    good = hash_passphrase("long enough")
    assert passphrase_matches("long enough", good)


def test_passphrase_rules_say_what_to_do() -> None:
    assert "at least 8" in str(passphrase_problem("short", "short"))
    assert "differ" in str(passphrase_problem("long enough 1", "long enough 2"))
    assert passphrase_problem("long enough", "long enough") is None


def test_pam_asks_the_service_for_the_current_user() -> None:
    calls: list[tuple[str, str, str]] = []

    def authenticate(user: str, password: str, *, service: str) -> bool:
        calls.append((user, password, service))
        return password == "right"

    unlocker = PamUnlocker("alice", "login", authenticate, "Linux")
    assert unlocker.check("right")
    assert not unlocker.check("wrong")
    assert not unlocker.check("")  # an empty password is never sent
    assert calls == [("alice", "right", "login"), ("alice", "wrong", "login")]
    assert "alice" in unlocker.prompt


def test_account_check_falls_back_for_root_and_ci(tmp_path: Path) -> None:
    (tmp_path / "login").write_text("")
    root = account_check("linux", environ={}, euid=0, pam_dir=tmp_path)
    assert root.unlocker is None
    assert "root" in root.reason
    ci = account_check("linux", environ={"CI": "true"}, euid=1000, pam_dir=tmp_path)
    assert ci.unlocker is None
    assert "CI" in ci.reason
    none = account_check("linux", environ={}, euid=1000, pam_dir=tmp_path / "missing")
    assert none.unlocker is None
    assert "PAM" in none.reason


def test_account_check_uses_pam_for_an_ordinary_user(tmp_path: Path) -> None:
    (tmp_path / "login").write_text("")
    found = account_check("linux", environ={}, euid=1000, pam_dir=tmp_path)
    assert isinstance(found.unlocker, PamUnlocker)
    assert found.unlocker.service == "login"
    (tmp_path / "facedesk").write_text("")
    own = account_check("linux", environ={}, euid=1000, pam_dir=tmp_path)
    assert isinstance(own.unlocker, PamUnlocker)
    assert own.unlocker.service == "facedesk"


def test_windows_logon_closes_the_token_it_gets() -> None:
    closed: list[int] = []

    def logon_user(
        user: str, domain: str, password: str, kind: int, provider: int, out: Any
    ) -> int:
        assert (user, domain, kind, provider) == ("bob", "OFFICE", 2, 0)
        if password != "pw":
            return 0
        ctypes.cast(out, ctypes.POINTER(ctypes.c_void_p))[0] = 1234
        return 1

    def close_handle(token: Any) -> int:
        closed.append(token.value)
        return 1

    unlocker = WindowsLogonUnlocker("bob", "OFFICE", logon_user, close_handle)
    assert unlocker.check("pw")
    assert closed == [1234]
    assert not unlocker.check("nope")
    assert closed == [1234]


# --- Windows capture exclusion -------------------------------------------------------------


def test_capture_exclusion_asks_for_exclude_from_capture() -> None:
    calls: list[tuple[int, int]] = []

    def set_affinity(hwnd: int, affinity: int) -> int:
        calls.append((hwnd, affinity))
        return 1

    result = set_capture_exclusion(42, True, platform="win32", set_affinity=set_affinity)
    assert result.applied
    assert result.affinity == WDA_EXCLUDEFROMCAPTURE == 0x11
    assert set_capture_exclusion(42, False, platform="win32", set_affinity=set_affinity).applied
    assert calls == [(42, 0x11), (42, WDA_NONE)]


def test_capture_exclusion_falls_back_to_monitor_on_old_windows() -> None:
    calls: list[int] = []

    def old_windows(_hwnd: int, affinity: int) -> int:
        calls.append(affinity)
        return 1 if affinity == WDA_MONITOR else 0

    result = set_capture_exclusion(7, True, platform="win32", set_affinity=old_windows)
    assert result.applied
    assert result.affinity == WDA_MONITOR
    assert "black" in result.message
    assert calls == [WDA_EXCLUDEFROMCAPTURE, WDA_MONITOR]
    refused = set_capture_exclusion(7, True, platform="win32", set_affinity=lambda _h, _a: 0)
    assert not refused.applied
    assert "refused" in refused.message


def test_capture_exclusion_elsewhere_calls_nothing() -> None:
    def never(_hwnd: int, _affinity: int) -> int:
        raise AssertionError("called off Windows")

    result = set_capture_exclusion(1, True, platform="linux", set_affinity=never)
    assert not result.applied
    assert "Only Windows" in result.message


# --- clipboard rule and masks --------------------------------------------------------------

SESSION_URL = (
    "https://alchemy.veriff.com/v/eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uX2lkIjoiMSJ9.c2lnbmF0dXJl"
)


@pytest.mark.parametrize(
    ("value", "role"),
    [
        ("ZXhhbXBsZS1hdXRoLXRva2Vu", ClipRole.AUTH_TOKEN),
        ("https://hosted.example/hosted/passive/abc", ClipRole.SESSION_URL),
        (SESSION_URL, ClipRole.TEXT),
        ("https://acct.blob.core.windows.net/c/x.jpg?sv=2024&se=2026&sig=AbC%2B", ClipRole.ID),
        ("https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=d", ClipRole.TEXT),
        ('{"url": "https://h.example/v/' + "a" * 40 + '"}', ClipRole.TEXT),
        ("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.sIgNaTuRe_value", ClipRole.TEXT),
    ],
)
def test_bearer_material_is_recognised(value: str, role: ClipRole) -> None:
    assert is_bearer(value, role)


@pytest.mark.parametrize(
    "value",
    [
        "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b",
        "req-0042",
        "https://example.com/sessions/3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b",
        "https://docs.example.com/face/liveness?lang=en",
        "",
    ],
)
def test_plain_ids_and_links_are_not_bearer(value: str) -> None:
    assert not is_bearer(value, ClipRole.ID)
    assert not is_bearer(value, ClipRole.TEXT)


def test_masks_keep_only_the_last_four_characters_and_no_letters_of_names() -> None:
    assert mask_identifier("3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b") == "••••1a2b"
    assert mask_identifier("abc") == "••••"
    assert mask_identifier("") == ""
    assert mask_name("Ada Lovelace") == "•••• ••••"
    assert "A" not in mask_name("Ada")


def test_ids_inside_text_are_masked_and_the_rest_stays() -> None:
    row = "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b · approved · 2026-12-05 · sess_8Hk2mQ9xZ1"
    assert mask_ids_in(row) == "••••1a2b · approved · 2026-12-05 · ••••9xZ1"
    assert mask_ids_in("Submitted for review") == "Submitted for review"


def test_concealed_formats_per_platform() -> None:
    assert concealed_formats("linux") == {"x-kde-passwordManagerHint": b"secret"}
    mac = concealed_formats("darwin")
    assert "org.nspasteboard.ConcealedType" in mac
    assert "application/x-nspasteboard-concealed-type" in mac
    windows = concealed_formats("win32")
    names = {key.split('"')[1]: value for key, value in windows.items()}
    assert names["CanIncludeInClipboardHistory"] == b"\0\0\0\0"
    assert names["CanUploadToCloudClipboard"] == b"\0\0\0\0"
    assert "ExcludeClipboardContentFromMonitorProcessing" in names


# --- [safety] settings ---------------------------------------------------------------------


def test_version_2_settings_get_the_safety_defaults() -> None:
    settings = parse({"schema_version": 2, "theme": "dark"})
    assert settings.safety == SafetySettings(5, "account", False, True)
    assert migrate({"schema_version": 2})["safety"] == {}


def test_safety_settings_round_trip_and_bad_values_fall_back(tmp_path: Path) -> None:
    chosen = Settings(safety=SafetySettings(15, "passphrase", True, False))
    store = SettingsStore(tmp_path / "settings.toml")
    store.save(chosen)
    assert store.load().safety == chosen.safety
    assert "[safety]" in dumps(chosen)
    bad = parse(
        {
            "schema_version": 3,
            "safety": {
                "idle_lock_minutes": 10_000,
                "unlock_with": "fingerprint",
                "privacy_view": "yes",
                "exclude_from_capture": 1,
            },
        }
    )
    assert bad.safety == SafetySettings()
    assert parse({"schema_version": 3, "safety": {"idle_lock_minutes": True}}).safety == (
        SafetySettings()
    )


def test_idle_minutes_rule_explains_the_range() -> None:
    from app.workflows.lock import idle_minutes_problem

    assert idle_minutes_problem(0) is None
    assert idle_minutes_problem(240) is None
    assert "1 to 240" in str(idle_minutes_problem(241))
    assert idle_minutes_problem(-1) is not None
