"""Image slots: load by every route, badges for the current provider, spinner, viewer."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage, QWheelEvent

from ui.errors import ErrorPresenter, StatusBanner
from ui.tasks import TaskRunner
from ui.widgets import image_slot
from ui.widgets.image_pair import ImagePair


class MemorySettings:
    """Stands in for QSettings so tests never touch the operator's recent files."""

    store: ClassVar[dict[str, object]] = {}

    def value(self, key: str, default: object = None) -> object:
        return self.store.get(key, default)

    def setValue(self, key: str, value: object) -> None:
        self.store[key] = value


@pytest.fixture(autouse=True)
def memory_settings(monkeypatch: pytest.MonkeyPatch) -> MemorySettings:
    MemorySettings.store = {}
    monkeypatch.setattr(image_slot, "_settings", MemorySettings)
    return MemorySettings()


def jpeg(width: int = 640, height: int = 480, gps: bool = True) -> bytes:
    rng = random.Random(width * height)
    small = Image.frombytes(
        "RGB", (width // 16, height // 16), rng.randbytes(width * height // 256 * 3)
    )
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825)[1] = "N"
        exif[0x010F] = "ACME"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def banner(qtbot: Any) -> StatusBanner:
    widget = StatusBanner()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def pair(ui_service: Any, banner: StatusBanner, qtbot: Any) -> ImagePair:
    tasks = TaskRunner(on_error=ErrorPresenter(banner).show)
    widget = ImagePair(ui_service, tasks, "azure_face")
    qtbot.addWidget(widget)
    return widget


def run(qloop: Any, pair: ImagePair, coro: Any = None, action: Any = None) -> None:
    """Drive the shared qasync loop: await `coro` or call `action` inside it, then settle."""
    import asyncio

    async def scenario() -> None:
        if action is not None:
            action()
        if coro is not None:
            await coro
        await asyncio.sleep(0)
        await pair.id_photo._tasks.wait_idle()

    qloop.run_until_complete(scenario())


def test_load_bytes_shows_original_and_prepared_badges(qloop, pair, banner):
    slot = pair.selfie
    changes: list[bool] = []
    slot.image_changed.connect(lambda: changes.append(True))
    run(qloop, pair, slot.load_bytes(jpeg(), "selfie.jpg"))
    assert slot.loaded is not None
    assert changes == [True]
    original = slot.original_badge.text()
    assert "JPEG · 640×480" in original
    assert "GPS" in original
    prepared = slot.prepared_badge.text()
    assert prepared.startswith("Prepared for Azure AI Face: JPEG · 640×480")
    assert "GPS location removed" in prepared
    assert slot.prepared is not None
    assert not slot.busy
    assert banner.message.text() == ""


def test_preview_is_the_thumbnail_not_the_full_image(qloop, pair):
    run(qloop, pair, pair.id_photo.load_bytes(jpeg(2000, 1500), "big.jpg"))
    pixmap = pair.id_photo.preview.pixmap()
    assert max(pixmap.width(), pixmap.height()) <= 320


def test_drop_local_file_and_recent_files(qloop, pair, tmp_path: Path):
    path = tmp_path / "id.jpg"
    path.write_bytes(jpeg())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    run(qloop, pair, action=lambda: pair.id_photo.load_mime(mime))
    assert pair.id_photo.loaded is not None
    assert pair.id_photo.loaded.name == "id.jpg"
    assert image_slot.recent_files() == [str(path)]
    pair.id_photo._fill_recent_menu()
    assert [a.text() for a in pair.id_photo.recent_menu.actions()] == [str(path)]


def test_drop_image_data_from_a_browser(qloop, pair):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/face.jpg")])
    mime.setData("image/jpeg", jpeg())
    run(qloop, pair, action=lambda: pair.selfie.load_mime(mime))
    assert pair.selfie.loaded is not None
    assert pair.selfie.loaded.info.format == "JPEG"


def test_link_only_drop_explains_what_to_do(qloop, pair, banner):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/face.jpg")])
    run(qloop, pair, action=lambda: pair.selfie.load_mime(mime))
    assert pair.selfie.loaded is None
    assert "web address" in banner.message.text()


def test_paste_image_from_clipboard(qloop, pair):
    image = QImage(120, 90, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(image)
    run(qloop, pair, action=pair.selfie.paste)
    assert pair.selfie.loaded is not None
    assert (pair.selfie.loaded.info.width, pair.selfie.loaded.info.height) == (120, 90)


def test_bad_file_keeps_previous_image_and_reports(qloop, pair, banner, tmp_path):
    run(qloop, pair, pair.id_photo.load_bytes(jpeg(), "good.jpg"))
    bad = tmp_path / "letter.jpg"
    bad.write_bytes(b"hello, not an image")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    run(qloop, pair, action=lambda: pair.id_photo.load_mime(mime))
    assert pair.id_photo.loaded is not None
    assert pair.id_photo.loaded.name == "good.jpg"
    assert "not a picture" in banner.message.text()
    assert not pair.id_photo.busy


def test_clear_empties_the_slot(qloop, pair):
    run(qloop, pair, pair.selfie.load_bytes(jpeg(), "s.jpg"))
    pair.selfie.clear_button.click()
    assert pair.selfie.loaded is None
    assert pair.selfie.original_badge.text() == ""
    assert not pair.selfie.clear_button.isEnabled()


def test_small_face_warning_and_provider_switch(qloop, pair):
    # 100 px wide ID photo: its portrait is likely ~15 px, under Azure's 36 px minimum.
    run(qloop, pair, pair.id_photo.load_bytes(jpeg(160, 100, gps=False), "tiny.jpg"))
    assert not pair.id_photo.face_warning.isHidden()
    assert "36 px" in pair.id_photo.face_warning.text()
    run(qloop, pair, action=lambda: pair.set_provider("veriff"))
    assert "Prepared for Veriff" in pair.id_photo.prepared_badge.text()


def test_unpreparable_image_is_explained_in_the_badge(qloop, pair, banner):
    # 20 px is below Azure's 36 px minimum dimension: the badge says so, no error banner.
    run(qloop, pair, pair.selfie.load_bytes(jpeg(40, 20, gps=False), "strip.jpg"))
    assert "Cannot be sent" in pair.selfie.prepared_badge.text()
    assert "36 px" in pair.selfie.prepared_badge.text()


# The offscreen platform cannot raise windows or propagate size hints; a real one can.
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_viewer_fit_actual_size_and_wheel_zoom(qloop, pair, qtbot):
    run(qloop, pair, pair.selfie.load_bytes(jpeg(1200, 900), "s.jpg"))
    pair.selfie.view_button.click()
    viewer = pair.selfie._viewer
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert viewer.pixmap.width() == 1200
    viewer.actual_button.click()
    assert viewer.view.zoom == pytest.approx(1.0)
    event = QWheelEvent(
        QPointF(10, 10),
        QPointF(10, 10),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    viewer.view.wheelEvent(event)
    assert viewer.view.zoom == pytest.approx(1.25)
    viewer.fit_button.click()
    assert viewer.view.zoom < 1.0
    viewer.close()


def test_empty_slot_shows_its_placeholder_after_resizing(qtbot, ui_service):
    from ui.tasks import TaskRunner
    from ui.widgets.image_slot import ImageSlot

    slot = ImageSlot("Selfie", "test:selfie", ui_service, TaskRunner(on_error=lambda e, r: None))
    qtbot.addWidget(slot)
    slot.resize(500, 420)
    slot.show()
    slot.resize(600, 480)
    assert slot.preview.text()
    assert "open" in slot.preview.text().lower()
