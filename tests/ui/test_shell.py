"""The shell: tasks, error routing, tabs built from ProviderInfo, and secrets kept off disk."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import keyring.backend
import pytest
from PIL import Image

from app.errors import AuthenticationFailed, ProviderUnavailable
from app.logging_setup import configure_logging
from app.paths import AppPaths
from app.secrets import KeyringSecretStore
from app.services import open_service
from app.settings import ConnectionProfile
from tests import fake_vendor
from ui.errors import ErrorPresenter, StatusBanner
from ui.main_window import MainWindow
from ui.tasks import TaskRunner


def test_starting_a_task_again_cancels_the_earlier_run(qloop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []
    runner = TaskRunner(on_error=lambda exc, retry: errors.append(exc))
    events: list[str] = []

    async def job(tag: str) -> None:
        try:
            await asyncio.sleep(0.2)
            events.append(f"done {tag}")
        except asyncio.CancelledError:
            events.append(f"cancelled {tag}")
            raise

    async def scenario() -> None:
        runner.start("match", job("first"))
        await asyncio.sleep(0.01)
        runner.start("match", job("second"))
        await runner.wait_idle()

    qloop.run_until_complete(scenario())
    assert events == ["cancelled first", "done second"]
    assert errors == []


def test_task_errors_reach_the_handler_with_retry(qloop: asyncio.AbstractEventLoop) -> None:
    seen: list[tuple[BaseException, Any]] = []
    runner = TaskRunner(on_error=lambda exc, retry: seen.append((exc, retry)))

    async def failing() -> None:
        raise ProviderUnavailable("Vendor is down. Try again later.")

    def retry() -> None:
        return None

    async def scenario() -> None:
        runner.start("op", failing(), retry=retry)
        await runner.wait_idle()

    qloop.run_until_complete(scenario())
    assert isinstance(seen[0][0], ProviderUnavailable)
    assert seen[0][1] is retry


def test_presenter_offers_retry_for_retryable_and_credentials_for_auth(qtbot: Any) -> None:
    banner = StatusBanner()
    qtbot.addWidget(banner)
    presenter = ErrorPresenter(banner)
    retried: list[bool] = []
    presenter.show(ProviderUnavailable("Vendor is down."), retry=lambda: retried.append(True))
    assert banner.isVisibleTo(banner.parentWidget() or banner) or not banner.isHidden()
    assert not banner.retry_button.isHidden()
    assert banner.credentials_button.isHidden()
    banner.retry_button.click()
    assert retried == [True]
    requested: list[str] = []
    presenter.credentials_requested.connect(requested.append)
    presenter.show(AuthenticationFailed("Key rejected.", provider="Fake Vendor"))
    assert banner.retry_button.isHidden()
    assert not banner.credentials_button.isHidden()
    banner.credentials_button.click()
    assert requested == ["Fake Vendor"]
    assert presenter.shown == ["Vendor is down.", "Key rejected."]


def test_unexpected_errors_open_the_crash_dialog(qtbot: Any) -> None:
    banner = StatusBanner()
    qtbot.addWidget(banner)
    presenter = ErrorPresenter(banner, Path("/tmp/facedesk.log"))
    presenter.show(ZeroDivisionError("boom"))
    assert presenter.shown == []
    assert "ZeroDivisionError" in presenter.crashes[0]


class DictKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring backend: the real KeyringSecretStore path, no real keychain."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_window_has_one_tab_per_provider_and_an_empty_state_without(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, modules=[fake_vendor]) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            assert list(window.provider_tabs) == ["fake"]
            assert window.tabs.tabText(0) == "Fake Vendor"
            await window.tasks.wait_idle()
            window.close()
        async with open_service(app_paths, modules=[]) as service:
            empty = MainWindow(service)
            qtbot.addWidget(empty)
            assert empty.provider_tabs == {}
            await empty.tasks.wait_idle()
            empty.close()

    qloop.run_until_complete(scenario())


def test_canary_secret_never_reaches_config_data_or_logs(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    canary = "CANARY-7f3a9c-secret-value"
    backend = DictKeyring()
    requests: list[httpx.Request] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.headers.get("x-api-key") != canary:
            return httpx.Response(401, json={"error": "bad key"})
        return httpx.Response(200, json={"ok": True})

    configure_logging(app_paths.log_file)

    async def scenario() -> None:
        async with open_service(
            app_paths,
            secrets=KeyringSecretStore(backend),
            network_transport=lambda: httpx.MockTransport(vendor),
            modules=[fake_vendor],
        ) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            tab = window.provider_tabs["fake"]
            dialog = tab.open_connection_dialog(new=True)
            dialog.name_edit.setText("Production")
            url_edit = dialog.field_edits["base_url"]
            assert hasattr(url_edit, "setText")
            url_edit.setText("https://fake.example")  # type: ignore[union-attr]
            dialog.credential_edits["api_key"].setText(canary)
            dialog.test_button.click()
            await window.tasks.wait_idle()
            assert "✔" in dialog.status.text()
            dialog.save_button.click()
            await window.tasks.wait_idle()
            assert service.active_connection("fake") == "Production"
            assert dialog.credential_edits["api_key"].text() == ""  # wiped on close
            # The app's flows on that connection: a face match that fails, then one that works.
            provider = service.provider("fake", fake_vendor.FakeProvider)
            loaded = await service.load_image_bytes(jpeg(), "id.jpg")
            prepared = await service.prepare_image("fake", loaded)
            result = await service.audited(
                "fake", "face_match", ["id.jpg"], lambda: provider.match_faces(prepared, prepared)
            )
            assert result.headline == "Same person"
            await service.save_profile(
                ConnectionProfile("fake", "Production", {"base_url": "https://fake.example"})
            )
            window.close()
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
    assert backend.values[("facedesk", "fake.Production:api_key")] == canary
    assert requests
    assert all(r.headers["x-api-key"] == canary for r in requests)
    import logging

    for handler in logging.getLogger().handlers:
        handler.flush()
    searched = 0
    for folder in (app_paths.config_dir, app_paths.data_dir, app_paths.log_dir):
        for file in folder.rglob("*"):
            if file.is_file():
                searched += 1
                assert canary.encode() not in file.read_bytes(), file
    assert searched >= 3  # settings.toml, the database, the log file


@pytest.fixture(autouse=True)
def _drop_file_log_handlers() -> Any:
    yield
    import logging
    import logging.handlers

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            root.removeHandler(handler)
            handler.close()


def test_audit_dialog_lists_attempt_and_outcome(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    from app.errors import NotFound
    from ui.dialogs.audit_dialog import AuditDialog

    async def scenario() -> None:
        async with open_service(app_paths, modules=[fake_vendor]) as service:

            async def delete() -> None:
                raise NotFound("Gone already.", request_id="req-9", vendor_code="SessionNotFound")

            with pytest.raises(NotFound):
                await service.audited("fake", "delete_session", ["s-1"], delete)
            runner = TaskRunner(on_error=lambda exc, retry: None)
            dialog = AuditDialog(service, runner)
            qtbot.addWidget(dialog)
            await runner.wait_idle()
            model = dialog.model
            rows = [
                [model.index(r, c).data() for c in range(model.columnCount())]
                for r in range(model.rowCount())
            ]
            assert [r[4:] for r in rows] == [
                ["delete_session", "s-1", "failed: NotFound SessionNotFound", "req-9"],
                ["delete_session", "s-1", "attempt", ""],
            ]
            assert rows[0][3] == "Sandbox"

    qloop.run_until_complete(scenario())


def test_an_error_banner_clears_when_that_action_next_succeeds(
    qtbot: Any, qloop: asyncio.AbstractEventLoop
) -> None:
    banner = StatusBanner()
    qtbot.addWidget(banner)
    presenter = ErrorPresenter(banner)
    runner = TaskRunner(on_error=presenter.show)
    runner.failed.connect(presenter.task_failed)
    runner.succeeded.connect(presenter.task_succeeded)
    outcomes = iter([ProviderUnavailable("Vendor is down."), None])

    async def match() -> None:
        failure = next(outcomes)
        if failure is not None:
            raise failure

    async def other() -> None:
        return None

    async def scenario() -> None:
        runner.start("glair:face_match", match())
        await runner.wait_idle()
        assert not banner.isHidden()
        runner.start("uqudo:face_match", other())  # another action: the banner stays
        await runner.wait_idle()
        assert not banner.isHidden()
        runner.start("glair:face_match", match())
        await runner.wait_idle()
        assert banner.isHidden()

    qloop.run_until_complete(scenario())


def test_audit_dialog_shows_rows_before_the_exact_count_of_a_large_filter(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ui.dialogs import audit_dialog

    monkeypatch.setattr(audit_dialog, "QUICK_COUNT", 4)

    async def scenario() -> None:
        async with open_service(app_paths, modules=[fake_vendor]) as service:
            for n in range(7):
                service.store.audit(
                    provider="fake",
                    profile="Sandbox",
                    operation="detect",
                    targets=[f"subject-{n}"],
                    outcome="ok",
                )
            runner = TaskRunner(on_error=lambda exc, retry: None)
            dialog = audit_dialog.AuditDialog(service, runner)
            qtbot.addWidget(dialog)
            seen: list[tuple[int, str]] = []

            def record() -> None:
                seen.append((dialog.model.rowCount(), dialog.count_label.text()))

            dialog.model.loaded.connect(record)
            dialog.model.counted.connect(record)
            await runner.wait_idle()
            seen.clear()
            dialog.search.setText("subject")
            dialog.refresh()
            await runner.wait_idle()
            assert seen == [(4, "4+ entries, counting…"), (7, "7 entries")]
            assert not dialog.model.counting
            assert dialog.model.index(6, 5).data() == "subject-0"  # the oldest, past the limit
            dialog.search.setText("subject-3")
            dialog.refresh()
            await runner.wait_idle()
            assert seen[-1] == (1, "1 entry")  # under the limit: exact at once, no second count

    qloop.run_until_complete(scenario())
