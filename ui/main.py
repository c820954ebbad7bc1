"""Entry point: `facedesk` (or `python -m ui`) runs the app on one qasync loop for its whole life.

facedesk                         the window (Sandbox connection by default)
facedesk prepare --for P FILE…   prepare images for a provider's upload rules (JSON lines)
facedesk --screenshot PNG        render the window offscreen to a PNG and exit (--privacy: masked)
facedesk --self-test             check this build headless (window, sandbox, keyring); exit 0/1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from app import APP_NAME, __version__
from app.logging_setup import configure_logging
from app.paths import default_paths

log = logging.getLogger("facedesk.ui")

# How long a worker thread (imaging, the Sandbox's loop) may keep the GIL before the window's
# thread gets it: Python's default 5 ms lets two busy workers delay a frame by 50 ms and more.
GUI_SWITCH_INTERVAL = 0.001


def _window_size(text: str) -> tuple[int, int]:
    """`1360x900` → (1360, 900), for --size."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1360x900, got {text!r}"
        ) from None
    if width < 320 or height < 240:
        raise argparse.ArgumentTypeError("the window needs at least 320x240")
    return width, height


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    from app import cli

    parser = argparse.ArgumentParser(
        prog="facedesk",
        description=f"{APP_NAME} {__version__}: without a command, opens the window.",
        epilog=cli.usage(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    parser.add_argument("--tab", help="provider tab to show first (e.g. glair)")
    parser.add_argument("--theme", choices=("system", "light", "dark"), help="override the theme")
    parser.add_argument(
        "--size",
        type=_window_size,
        default=(1360, 860),
        metavar="WxH",
        help="window size for --screenshot (default 1360x860)",
    )
    parser.add_argument(
        "--privacy", action="store_true", help="privacy view on (blur photos, mask ids and names)"
    )
    parser.add_argument(
        "--self-test", action="store_true", help="check this build headless and exit (0 = ok)"
    )
    return parser.parse_args(list(argv))


def run(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and not args_list[0].startswith("-"):
        from app import cli

        if cli.is_command(args_list[0]):
            return cli.main(args_list)
    args = _parse(args_list)
    if args.self_test:
        from ui.self_test import main as self_test_main

        return self_test_main()

    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    sys.setswitchinterval(GUI_SWITCH_INTERVAL)

    paths = default_paths().ensure()
    configure_logging(paths.log_file)
    log.info("starting %s %s", APP_NAME, __version__)
    QCoreApplication.setOrganizationName(APP_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # async cleanup runs after the window closes

    import qasync

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        code: int = runner.run(_main(app, args))
        return code


# How long the window waits for its first paint before loading the service layer regardless
# (a window that is not exposed, e.g. minimised at start, would never paint).
FIRST_PAINT_WAIT_S = 0.5


async def _main(app: Any, args: argparse.Namespace) -> int:
    from PySide6.QtCore import QTimer

    from app.settings import peek_theme
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    paths = default_paths()
    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    # The window's shell paints before the service layer is imported (see ui/main_window.py).
    theme = args.theme or peek_theme(paths.settings_file)
    apply_theme(app, theme)
    window = MainWindow(log_path=str(paths.log_file), theme=theme)
    _install_exception_hooks(window)
    # Closing the window ends _main(); app.quit() here would stop the loop under it.
    window.closed.connect(quit_event.set)
    painted = asyncio.Event()
    window.first_painted.connect(painted.set)
    window.show()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(painted.wait(), FIRST_PAINT_WAIT_S)
    # Imported off the window's thread: the shell keeps repainting while ~0.2 s of modules load.
    await asyncio.to_thread(_import_workspace)
    from app.services import open_service

    async with open_service(paths, defer_startup_checks=True) as service:
        if quit_event.is_set():  # closed while the store was opening
            return 0
        if (
            service.settings.theme != theme
            and not args.theme
            and window.theme_chosen_in_shell is None
        ):
            apply_theme(app, service.settings.theme)
        # "Follow system" re-applies the palette when the desktop switches light/dark.
        app.styleHints().colorSchemeChanged.connect(
            lambda _scheme: (
                apply_theme(app, service.settings.theme)
                if service.settings.theme == "system"
                else None
            )
        )
        await window.attach_progressively(service)
        if not window.attached:  # closed while the tabs were being built
            return 0
        if args.tab and args.tab in window.provider_tabs:
            window.tabs.setCurrentWidget(window.provider_tabs[args.tab])
        elif args.tab == "compare":
            window.tabs.setCurrentWidget(window.compare_panel)
        if args.privacy:  # for this run only; View › Privacy view saves the choice
            from ui.privacy import privacy_view

            privacy_view().set_enabled(True)
        window.tasks.start("startup:warm-up", _warm_up(service, window))
        if args.screenshot:
            window.resize(*args.size)  # the same picture whatever geometry was remembered
            await asyncio.sleep(0.05)  # the first paint and the tabs' first tasks start
            await window.tasks.wait_idle()
            window.grab().save(args.screenshot)
            QTimer.singleShot(0, window.close)
        await quit_event.wait()
        await window.tasks.cancel_all()
    log.info("stopped")
    return 0


# What `MainWindow.attach` needs: the service layer, the tabs and their panels.
WORKSPACE_MODULES = (
    "app.services",
    "ui.panels.compare",
    "ui.provider_tab",
    "ui.safety",
    "ui.shortcuts",
    "ui.team_store",
)


def _import_workspace() -> None:
    """Import `WORKSPACE_MODULES`, in a worker thread while the window's thread paints.

    Importing them defines classes and creates no Qt object, so any thread may do it.
    """
    import importlib

    for name in WORKSPACE_MODULES:
        importlib.import_module(name)


async def _warm_up(service: Any, window: Any) -> None:
    """After the first paint: keyring probe, imaging and sandbox imports, all in threads."""
    await asyncio.sleep(0.05)  # let the window paint first
    for warning in await service.warm_up():
        window.presenter.info(warning, severity="warning")
    window.team_store.start()  # a team store: is it there, and listen for others' changes
    window.show_audit_check(await service.run_startup_checks())


def _install_exception_hooks(window: Any) -> None:
    """Anything escaping a Qt override or a stray callback reaches the ErrorPresenter."""

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if value.__traceback__ is None:
            value = value.with_traceback(tb)
        window.presenter.show(value)

    sys.excepthook = excepthook

    def loop_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            window.presenter.show(exc)
        else:
            log.error("event loop: %s", context.get("message"))

    asyncio.get_running_loop().set_exception_handler(loop_handler)


if __name__ == "__main__":
    os.environ.setdefault("QT_API", "pyside6")
    raise SystemExit(run())
