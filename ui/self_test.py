"""`facedesk --self-test`: prove that this build (source or frozen) can do its job, headless.

It builds the main window offscreen, runs one face match and one liveness-session round trip
against the in-process GLAIR Vision sandbox through app.services, and reports the keyring
backend. One line per check goes to standard output; the exit code is 0 when every check
passed (warnings allowed) and 1 when one failed.

It touches nothing of the operator's: settings, data, logs and Qt's own settings go to a
temporary folder that is removed afterwards, only the sandbox's fixed public credentials are
used, and nothing is ever written to the keyring.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QIODevice,
    QMessageLogContext,
    QSettings,
    QtMsgType,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtGui import QColor, QImage, QImageReader, QImageWriter, QPainter
from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__
from app.capabilities import SupportsFaceMatch
from app.domain import EncodedImage, Verdict
from app.errors import AppError
from app.logging_setup import configure_logging
from app.paths import AppPaths, default_paths
from app.services import VerificationService, open_service
from app.vendors.glair.types import GlairLivenessSessions, SessionKind, SessionStatus
from app.workflows.sandbox_controls import GlairEndUserOutcome, SandboxControls
from ui.dialogs.about_dialog import build_kind
from ui.icons import app_icon

log = logging.getLogger("facedesk.ui.self_test")

PROVIDER = "glair"
CHECK_TIMEOUT_S = 30.0
# The hosted page sends the end user here when done; the sandbox never opens it.
SUCCESS_URL = "https://facedesk.invalid/self-test/done"


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str

    @property
    def line(self) -> str:
        return f"{self.status:<5} {self.name:<17} {self.detail}"


class CheckFailed(Exception):
    """A check ran but found something wrong; the message is the report line."""


class Warned(Exception):
    """A check found something degraded but usable (e.g. no system keyring)."""


# --- test photos -------------------------------------------------------------------------------


def synthetic_photo(seed: int, width: int = 480, height: int = 600) -> bytes:
    """A colourful, detailed PNG drawn with Qt: the sandbox sees one face in it (§similarity).

    Different seeds give unrelated pictures, so the sandbox scores them as different people.
    """
    rng = random.Random(seed)  # not security-relevant: a reproducible picture
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor.fromHsv(rng.randrange(360), 90, 230))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for _ in range(160):
        painter.setPen(QColor.fromHsv(rng.randrange(360), 200, rng.randrange(60, 255)))
        painter.setBrush(QColor.fromHsv(rng.randrange(360), 220, rng.randrange(40, 255)))
        w, h = rng.randrange(12, width // 3), rng.randrange(12, height // 3)
        x, y = rng.randrange(-w // 2, width), rng.randrange(-h // 2, height)
        if rng.random() < 0.5:
            painter.drawEllipse(x, y, w, h)
        else:
            painter.drawRect(x, y, w, h)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    QImageWriter(buffer, QByteArray(b"PNG")).write(image)
    buffer.close()
    return bytes(data.data())


async def _prepared(service: VerificationService, seed: int) -> EncodedImage:
    loaded = await service.load_image_bytes(synthetic_photo(seed), f"self-test-{seed}.png")
    return await service.prepare_image(PROVIDER, loaded)


# --- the checks --------------------------------------------------------------------------------


def check_resources() -> str:
    icon = app_icon()
    if icon.isNull():
        raise CheckFailed("the FaceDesk icon is missing: resources/icons was not bundled")
    sizes = sorted(s.width() for s in icon.availableSizes())
    return f"app icon found ({len(sizes)} sizes, {sizes[0]}–{sizes[-1]} px)"


def check_image_formats() -> str:
    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    missing = [f for f in ("png", "jpeg") if f not in formats]
    if missing:
        raise CheckFailed(f"Qt cannot read {', '.join(missing)}: image format plugins missing")
    return f"Qt reads {', '.join(sorted(formats & {'png', 'jpeg', 'webp', 'gif', 'svg'}))}"


async def check_main_window(service: VerificationService) -> str:
    from ui.main_window import MainWindow

    window = MainWindow(service)
    try:
        window.show()
        await asyncio.sleep(0.2)  # let tabs start their first tasks
        await window.tasks.wait_idle(CHECK_TIMEOUT_S)
        if window.presenter.crashes:
            first = window.presenter.crashes[0].strip().splitlines()[-1]
            raise CheckFailed(f"the window raised an unexpected error: {first}")
        names = [window.tabs.tabText(i) for i in range(window.tabs.count())]
        if not window.provider_tabs:
            raise CheckFailed("the window has no provider tabs (no vendor modules registered)")
        if PROVIDER not in window.provider_tabs:
            raise CheckFailed(f"the window has no {PROVIDER} tab")
        shot = window.grab()
        if shot.isNull() or shot.width() < 200:
            raise CheckFailed("the window could not be rendered")
        size = f"{shot.width()}×{shot.height()}"
        return f"{len(names)} provider tabs ({', '.join(names)}), rendered {size}"
    finally:
        await window.tasks.cancel_all()
        # hide(), not close(): closeEvent would save window geometry to Qt settings.
        window.hide()
        window.deleteLater()


async def check_image_pipeline(service: VerificationService) -> str:
    image = await _prepared(service, 1)
    limit = service.info(PROVIDER).upload_rules.effective_raw_limit
    if len(image.data) > limit:
        raise CheckFailed(f"the prepared image is larger than {limit} bytes")
    return (
        f"PNG loaded and prepared as {image.format.value} {image.width}×{image.height}, "
        f"{len(image.data) // 1024} KB"
    )


async def check_face_match(service: VerificationService) -> str:
    name = service.info(PROVIDER).display_name
    if not service.is_sandbox(PROVIDER):
        raise CheckFailed(f"{name} is not on its Sandbox connection")
    # mypy refuses Protocols as type[P] arguments (python/mypy#4717); service.provider checks
    # the protocol at run time with isinstance.
    matcher = service.provider(PROVIDER, SupportsFaceMatch)
    first, other = await _prepared(service, 1), await _prepared(service, 2)
    same = await matcher.match_faces(first, first)
    if same.verdict is not Verdict.POSITIVE:
        raise CheckFailed(f"{name} sandbox: the same photo twice gave “{same.headline}”")
    different = await matcher.match_faces(first, other)
    if different.verdict is not Verdict.NEGATIVE:
        raise CheckFailed(f"{name} sandbox: two different photos gave “{different.headline}”")
    score = f" (score {same.score.value:g})" if same.score else ""
    return f"{name} sandbox: same photo → {same.headline}{score}; other → {different.headline}"


async def check_liveness_session(service: VerificationService) -> str:
    name = service.info(PROVIDER).display_name
    sessions = service.provider(PROVIDER, GlairLivenessSessions)
    kind = SessionKind.PASSIVE
    created = await sessions.create_session(kind, success_url=SUCCESS_URL)
    await service.record_session(
        PROVIDER, created.sid, kind=kind.value, status=created.status.value, label="self-test"
    )
    if created.status is not SessionStatus.PENDING:
        raise CheckFailed(f"a new session is {created.status.value}, expected PENDING")
    # The sandbox admin API plays the end user finishing the hosted page on their phone.
    await SandboxControls(service).glair_complete(created.sid, GlairEndUserOutcome.LIVE)
    finished = await sessions.get_session(kind, created.sid)
    await service.record_session(
        PROVIDER, created.sid, kind=kind.value, status=finished.status.value, label="self-test"
    )
    if finished.status is not SessionStatus.FINISHED or finished.result is None:
        raise CheckFailed(f"after completion the session is {finished.status.value}")
    if finished.result.verdict is not Verdict.POSITIVE:
        raise CheckFailed(f"a live completion was reported as “{finished.result.headline}”")
    recorded = [
        s for s in await service.sessions(PROVIDER, kind.value) if s.session_id == created.sid
    ]
    if not recorded or recorded[0].status != SessionStatus.FINISHED.value:
        raise CheckFailed("the session registry did not keep the session")
    return (
        f"{name} sandbox: {kind.label.lower()} session created, completed, retrieved "
        f"{finished.status.value} → {finished.result.headline}; registry updated"
    )


def check_keyring(service: VerificationService) -> str:
    if not service.secrets_persistent:
        raise Warned("no usable system keyring: credentials would be kept in memory for one run")
    return f"{service.secrets_backend} (nothing was read or written)"


# --- runner ------------------------------------------------------------------------------------


async def _run_one(name: str, check: Callable[[], Awaitable[str] | str]) -> Outcome:
    try:
        result = check()
        if not isinstance(result, str):
            result = await asyncio.wait_for(result, CHECK_TIMEOUT_S)
        return Outcome(name, "ok", result)
    except Warned as exc:
        return Outcome(name, "warn", str(exc))
    except CheckFailed as exc:
        return Outcome(name, "FAIL", str(exc))
    except AppError as exc:
        return Outcome(name, "FAIL", f"{type(exc).__name__}: {exc.user_message}")
    except TimeoutError:
        return Outcome(name, "FAIL", f"no answer within {CHECK_TIMEOUT_S:g} s")
    except Exception as exc:  # noqa: BLE001 - the report must name any failure, then go on
        return Outcome(name, "FAIL", f"{type(exc).__name__}: {exc}")


async def run_checks(
    paths: AppPaths, emit: Callable[[Outcome], None] = lambda _outcome: None
) -> list[Outcome]:
    """Run every check against a service on `paths`; `emit` sees each outcome as it comes."""
    outcomes: list[Outcome] = []

    async def record(name: str, check: Callable[[], Awaitable[str] | str]) -> None:
        outcome = await _run_one(name, check)
        outcomes.append(outcome)
        emit(outcome)

    await record("resources", check_resources)
    await record("image formats", check_image_formats)
    try:
        async with open_service(paths) as service:
            await record("main window", lambda: check_main_window(service))
            await record("image pipeline", lambda: check_image_pipeline(service))
            await record("face match", lambda: check_face_match(service))
            await record("liveness session", lambda: check_liveness_session(service))
            await record("keyring", lambda: check_keyring(service))
    except Exception as exc:  # noqa: BLE001 - opening the service is itself a check
        failure = exc
        await record("service", lambda: _reraise(failure))
    return outcomes


async def _reraise(exc: Exception) -> str:
    raise exc


def header() -> str:
    return (
        f"{APP_NAME} {__version__} self-test ({build_kind()}; Python "
        f"{sys.version.split()[0]}, Qt {qVersion()}, PySide6 {PYSIDE_VERSION})"
    )


def summary(outcomes: list[Outcome], seconds: float) -> tuple[int, str]:
    failed = [o.name for o in outcomes if o.status == "FAIL"]
    warned = sum(o.status == "warn" for o in outcomes)
    if failed:
        return 1, f"self-test FAILED ({', '.join(failed)}) after {seconds:.1f} s"
    extra = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    return 0, f"self-test passed: {len(outcomes)} checks{extra} in {seconds:.1f} s"


def _isolated_paths(root: Path) -> AppPaths:
    """FACEDESK_* folders and Qt's settings inside `root`, for this process only."""
    for variable, folder in (
        ("FACEDESK_CONFIG_DIR", "config"),
        ("FACEDESK_DATA_DIR", "data"),
        ("FACEDESK_LOG_DIR", "logs"),
    ):
        os.environ[variable] = str(root / folder)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(root / "qt"))
    return default_paths().ensure()


def main(out: TextIO | None = None) -> int:
    """Entry of `facedesk --self-test`; returns the process exit code."""
    stream = out or sys.stdout  # None in a windowed Windows build: only the exit code remains

    def say(text: str) -> None:
        if stream is not None:
            stream.write(text + "\n")
            stream.flush()

    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="facedesk-self-test-"))
    try:
        paths = _isolated_paths(scratch)
        configure_logging(paths.log_file)
        if QApplication.instance() is None:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the check never needs a display
        QCoreApplication.setOrganizationName(APP_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
        QCoreApplication.setApplicationVersion(__version__)
        app = QApplication.instance() or QApplication([sys.argv[0]])
        assert isinstance(app, QApplication)
        previous_handler = qInstallMessageHandler(_qt_message_to_log)
        say(header())

        import qasync

        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            outcomes = runner.run(run_checks(paths, lambda o: say(o.line)))
        code, text = summary(outcomes, time.monotonic() - started)
        say(text)
        if code and paths.log_file.is_file():
            # The log is redacted (app.logging_setup); its tail often names the cause.
            tail = paths.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
            say("last log lines:")
            for line in tail[-15:]:
                say(f"  {line}")
        qInstallMessageHandler(previous_handler)
        return code
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _qt_message_to_log(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own chatter (e.g. offscreen "propagateSizeHints") goes to the log, not the report."""
    level = (
        logging.WARNING
        if mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        else (logging.INFO)
    )
    log.log(level, "qt: %s", message)
