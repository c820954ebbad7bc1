"""An image slot (ID photo or selfie): open, drop, paste, recent files, clear; badges and preview.

All decoding and preparing runs off the Qt thread through the service. The preview is the
pipeline's small thumbnail (never a full-size pixmap); "View" shows the prepared image, which is
exactly what the vendor will receive.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QSettings, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPixmap,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QBoxLayout,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import EncodedImage, LoadedImage
from app.errors import ImageError
from app.services import VerificationService
from app.workflows.pair import ImagePairModel, PairSlot
from ui.privacy import Private, mark_private
from ui.tasks import TaskRunner
from ui.widgets.image_viewer import ImageViewer

IMAGE_FILTER = (
    "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff *.gif *.heic *.heif *.avif);;"
    "All files (*)"
)
RECENT_KEY = "images/recent"
RECENT_LIMIT = 8
FOLDER_KEY = "images/last_folder"
# Raw image types a browser or another app may put on a drag or the clipboard, best first.
_IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp")
# How much of the shorter side a face usually takes: a selfie is mostly face, an ID photo is a
# document whose portrait is a fraction of it. A heuristic: FaceDesk does not detect faces.
_FACE_SHARE = {"selfie": 0.3, "id": 0.15}
_EMPTY_TEXT = "Drop, paste or open an image"
STRIP_PREVIEW = 84  # px, the thumbnail's box once the slots are strips
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size


def _settings() -> QSettings:
    """Where recent files live (tests replace this)."""
    return QSettings()


def _human_bytes(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1000:
        return f"{size / 1000:.0f} KB"
    return f"{size} bytes"


def _slot_button(text: str) -> QToolButton:
    """A slot action button: as tall as a push button, only as wide as its text needs."""
    button = QToolButton()
    button.setText(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return button


class _Preview(QLabel):
    """The thumbnail, scaled to whatever room the slot has (never larger than the thumbnail)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._source = QPixmap()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        mark_private(self, Private.PHOTO)  # blurred in the privacy view

    def set_source(self, pixmap: QPixmap) -> None:
        self._source = pixmap
        if pixmap.isNull():
            self.setPixmap(QPixmap())
        self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return  # keep the placeholder text
        target = self.size().boundedTo(self._source.size())
        self.setPixmap(
            self._source.scaled(
                target,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


class ImageSlot(QFrame):
    """One image the operator works with; `loaded` is what the panels read."""

    image_changed = Signal()
    prepared_changed = Signal()
    compact_changed = Signal(bool)  # the slot became a strip (True) or a large drop target

    def __init__(
        self,
        title: str,
        slot_id: str,
        service: VerificationService,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        pair: ImagePairModel | None = None,
    ) -> None:
        super().__init__(parent)
        self.slot_id = slot_id
        self.kind = PairSlot.ID_PHOTO if slot_id.endswith(":id") else PairSlot.SELFIE
        # The window's one pair: every tab's slot for this kind shows the same image.
        self.pair = pair if pair is not None else ImagePairModel()
        self.provider_id = slot_id.split(":", 1)[0]
        self._title_text = title
        self._service = service
        self._tasks = tasks
        self._loaded: LoadedImage | None = None
        self._prepared: EncodedImage | None = None
        self._viewer: ImageViewer | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)

        layout = QVBoxLayout(self)
        # The body is the preview and a column of texts (title, badges). Until an image is in
        # the pair it runs bottom to top (title above a large drop target); once one is, every
        # slot becomes a strip, preview beside the texts, so the panel's action and verdict fit
        # on a 1024×700 screen without scrolling.
        self.body = QBoxLayout(QBoxLayout.Direction.BottomToTop)
        self.preview = _Preview(_EMPTY_TEXT)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setWordWrap(True)
        self.preview.setToolTip("Drop a file or an image from a browser here, or press Ctrl+V")
        self.body.addWidget(self.preview, 1)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title = QLabel(f"<b>{title}</b>")
        texts.addWidget(self.title)
        self.original_badge = QLabel()
        self.original_badge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The file name is often the person's name: blurred with the photo in the privacy view.
        mark_private(self.original_badge, Private.PHOTO)
        texts.addWidget(self.original_badge)
        self.prepared_badge = QLabel()
        texts.addWidget(self.prepared_badge)
        self.face_warning = QLabel()
        self.face_warning.setWordWrap(True)
        self.face_warning.setStyleSheet("color: #b35c00;")
        self.face_warning.hide()
        texts.addWidget(self.face_warning)
        texts.addStretch(1)
        self.body.addLayout(texts, 1)
        layout.addLayout(self.body, 1)
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)  # indeterminate: Qt animates it
        self.spinner.setTextVisible(False)
        self.spinner.setMaximumHeight(6)
        self.spinner.hide()
        layout.addWidget(self.spinner)
        self.compact = False
        self.strip_when_loaded = True  # see keep_large()
        self._apply_compact(False)

        buttons = QHBoxLayout()
        # Tool buttons: a push button is never narrower than 80 px in Fusion, and two slots of
        # six would make the window wider than a 1024 px screen.
        self.open_button = _slot_button("Open…")
        self.paste_button = _slot_button("Paste")
        self.recent_button = _slot_button("Recent")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        self.view_button = _slot_button("View")
        self.inspect_button = _slot_button("Inspect…")
        self.inspect_button.setToolTip(
            "What this photo hides (metadata, edits, re-saves), before the upload strips it"
        )
        self.clear_button = _slot_button("Clear")
        for button in (
            self.open_button,
            self.paste_button,
            self.recent_button,
            self.view_button,
            self.inspect_button,
            self.clear_button,
        ):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.paste_button.clicked.connect(self.paste)
        self.view_button.clicked.connect(self._on_view_clicked)
        self.inspect_button.clicked.connect(self.inspect)
        self.clear_button.clicked.connect(self.clear)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        # Alone (tests, dialogs) the slot pastes itself; in the window, the window's Ctrl+V
        # picks the slot and disables this one (two live Ctrl+V would make both ambiguous).
        self.paste_shortcut = QShortcut(QKeySequence.StandardKey.Paste, self)
        self.paste_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_shortcut.activated.connect(self.paste)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # click a slot, then paste into it
        self._update_buttons()
        unsubscribe = self.pair.subscribe(self._on_pair_changed)
        self.destroyed.connect(lambda _obj=None: unsubscribe())
        if self.pair.image(self.kind) is not None:
            self._show(self.pair.image(self.kind))
        self._follow_pair_layout()

    # --- state ---------------------------------------------------------------------------------

    @property
    def loaded(self) -> LoadedImage | None:
        return self._loaded

    @property
    def prepared(self) -> EncodedImage | None:
        """The image as prepared for the current provider, once the badge task has run."""
        return self._prepared

    @property
    def busy(self) -> bool:
        return self.spinner.isVisible()

    def set_loaded(self, image: LoadedImage | None) -> None:
        """Put `image` in the window's pair: every slot of this kind (every tab) shows it."""
        if image is not None and self.pair.image(self.kind) is image:
            if self._loaded is not image:
                self._show(image)
            return
        self.pair.set(self.kind, image)

    def _on_pair_changed(self, kind: PairSlot) -> None:
        if kind is self.kind:
            self._show(self.pair.image(kind))
        self._follow_pair_layout()

    def _follow_pair_layout(self) -> None:
        """A strip while either image of the pair is loaded, a large drop target otherwise."""
        compact = self.strip_when_loaded and any(
            self.pair.image(kind) is not None for kind in PairSlot
        )
        if compact != self.compact:
            self._apply_compact(compact)
            self.compact_changed.emit(compact)

    def keep_large(self) -> None:
        """Stay a large slot when loaded (the Compare view draws face rectangles on it)."""
        self.strip_when_loaded = False
        self._follow_pair_layout()

    def _apply_compact(self, compact: bool) -> None:
        self.compact = compact
        # The texts take the room beside a strip's thumbnail; above a large preview, only theirs.
        self.body.setStretch(1, 1 if compact else 0)
        if compact:
            self.body.setDirection(QBoxLayout.Direction.LeftToRight)
            self.preview.setFixedSize(STRIP_PREVIEW, STRIP_PREVIEW)
        else:
            self.body.setDirection(QBoxLayout.Direction.BottomToTop)
            self.preview.setMinimumSize(120, 120)
            self.preview.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
        for badge in (self.original_badge, self.prepared_badge):
            # In a strip a badge keeps its two lines and is cut at the slot's edge (the whole
            # text is its tooltip); on a large slot it wraps.
            badge.setWordWrap(not compact or badge.text().startswith("⚠"))
            badge.setSizePolicy(
                QSizePolicy.Policy.Ignored if compact else QSizePolicy.Policy.Preferred,
                QSizePolicy.Policy.Preferred,
            )

    def _show(self, image: LoadedImage | None) -> None:
        if image is None:
            self._tasks.cancel(f"prepare:{self.slot_id}")
        self._loaded = image
        self._prepared = None
        self._set_badge(self.prepared_badge, "")
        self.face_warning.hide()
        if image is None:
            self.preview.set_source(QPixmap())
            self.preview.setText(_EMPTY_TEXT)
            self._set_badge(self.original_badge, "")
        else:
            pixmap = QPixmap()
            pixmap.loadFromData(image.thumbnail_png)
            self.preview.set_source(pixmap)
            self._set_badge(self.original_badge, self._original_text(image))
            self._start_prepare()
        self._update_buttons()
        self.image_changed.emit()

    def set_provider(self, provider_id: str) -> None:
        """Badges describe the image as prepared for this provider."""
        self.provider_id = provider_id
        self._prepared = None
        if self._loaded is not None:
            self._start_prepare()

    def clear(self) -> None:
        self._tasks.cancel(f"load:{self.slot_id}")
        self._tasks.cancel(f"prepare:{self.slot_id}")
        self.set_loaded(None)

    # --- loading -------------------------------------------------------------------------------

    async def load_file(self, path: str) -> None:
        """Load a file off the Qt thread; on failure the previous image stays."""
        async with self._busy():
            image = await self._service.load_image_file(path)
        remember_recent(path)
        self.set_loaded(image)

    async def load_bytes(self, data: bytes, name: str) -> None:
        async with self._busy():
            image = await self._service.load_image_bytes(data, name)
        self.set_loaded(image)

    def load_mime(self, mime: QMimeData) -> bool:
        """Start loading what a drop or the clipboard carries; False when it has no image."""
        task = f"load:{self.slot_id}"
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                self._tasks.start(task, self.load_file(url.toLocalFile()), label="Loading image")
                return True
        for mime_type in _IMAGE_MIME_TYPES:
            if mime.hasFormat(mime_type):
                data = bytes(mime.data(mime_type).data())
                name = f"{self._source_name(mime)}.{mime_type.split('/')[1]}"
                self._tasks.start(task, self.load_bytes(data, name), label="Loading image")
                return True
        if mime.hasImage():
            png = _qimage_png(mime.imageData())
            if png:
                self._tasks.start(
                    task,
                    self.load_bytes(png, f"{self._source_name(mime)}.png"),
                    label="Loading image",
                )
                return True
        if mime.hasUrls():
            self._tasks.start(task, _refuse_remote(), label="Loading image")
            return True
        return False

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if not self.load_mime(mime):
            self._tasks.start(f"load:{self.slot_id}", _refuse_clipboard(), label="Pasting image")

    @staticmethod
    def _source_name(mime: QMimeData) -> str:
        return "dropped image" if mime.hasUrls() else "pasted image"

    # --- drag and drop -------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or any(mime.hasFormat(t) for t in _IMAGE_MIME_TYPES):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.load_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    # --- preparing for the provider (badge) ----------------------------------------------------

    def _start_prepare(self) -> None:
        loaded = self._loaded
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # set outside the event loop (scripts, some tests): no badge, no task
        if loaded is not None:
            self._tasks.start(
                f"prepare:{self.slot_id}", self._prepare(loaded), label="Preparing image"
            )

    async def _prepare(self, loaded: LoadedImage) -> None:
        provider_id = self.provider_id
        self._set_badge(self.prepared_badge, "Preparing…")
        try:
            async with self._busy():
                encoded = await self.pair.prepared(
                    loaded,
                    self._service.info(provider_id).upload_rules,
                    lambda image, _rules: self._service.prepare_image(provider_id, image),
                )
        except ImageError as exc:
            # Shown where the operator looks at this image; ctx.prepared raises it again on use.
            self._set_badge(
                self.prepared_badge, f"⚠ Cannot be sent: {exc.user_message}", warning=True
            )
            return
        if loaded is not self._loaded or provider_id != self.provider_id:
            return  # superseded while preparing
        self._prepared = encoded
        name = self._service.info(provider_id).display_name
        changes = ", ".join(encoded.removed) or "nothing to change"
        self._set_badge(
            self.prepared_badge,
            f"Prepared for {name}: {encoded.format.value} · {encoded.width}×{encoded.height} · "
            f"{_human_bytes(len(encoded.data))}\n{changes}",
        )
        self._show_face_warning(encoded, provider_id)
        if self._viewer is not None:
            self._viewer.show_image(encoded, f"As sent to {name}")
        self.prepared_changed.emit()

    def _show_face_warning(self, encoded: EncodedImage, provider_id: str) -> None:
        info = self._service.info(provider_id)
        minimum = info.upload_rules.min_face_px
        kind = "id" if self.slot_id.endswith(":id") else "selfie"
        likely_face = int(min(encoded.width, encoded.height) * _FACE_SHARE[kind])
        if minimum and likely_face < minimum:
            self.face_warning.setText(
                f"⚠ The face may be too small: in a {encoded.width}×{encoded.height} "
                f"{'ID photo' if kind == 'id' else 'selfie'} it is likely about {likely_face} px, "
                f"and {info.display_name} needs at least {minimum} px. Use a larger or closer "
                "photo."
            )
            self.face_warning.show()
        else:
            self.face_warning.hide()

    # --- helpers -------------------------------------------------------------------------------

    def _set_badge(self, badge: QLabel, text: str, *, warning: bool = False) -> None:
        """A badge's text, whole in its tooltip; a warning always wraps (it must be read)."""
        badge.setText(text)
        badge.setToolTip(text)
        badge.setWordWrap(warning or not self.compact)

    def _busy(self) -> _Busy:
        return _Busy(self)

    def _update_buttons(self) -> None:
        has_image = self._loaded is not None
        self.view_button.setEnabled(has_image)
        self.inspect_button.setEnabled(has_image)
        self.clear_button.setEnabled(has_image)
        self.recent_button.setEnabled(bool(recent_files()))

    @staticmethod
    def _original_text(image: LoadedImage) -> str:
        info = image.info
        metadata = ", ".join(info.metadata) if info.metadata else "none"
        return (
            f"Original: {image.name} · {info.format} · {info.width}×{info.height} · "
            f"{_human_bytes(info.byte_size)}\nMetadata present: {metadata}"
        )

    def _on_open_clicked(self) -> None:
        self.open_file_dialog()

    def open_file_dialog(self) -> None:
        """Ask for a file, starting in the folder the last image was opened from."""
        title = f"Open {'an ID photo' if self.kind is PairSlot.ID_PHOTO else 'a selfie'}"
        folder = str(_settings().value(FOLDER_KEY, "") or "")
        path, _ = QFileDialog.getOpenFileName(self, title, folder, IMAGE_FILTER)
        if path:
            remember_folder(path)
            self._tasks.start(f"load:{self.slot_id}", self.load_file(path), label="Loading image")

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(
                lambda _checked=False, p=path: self._tasks.start(
                    f"load:{self.slot_id}", self.load_file(p), label="Loading image"
                )
            )

    def _on_view_clicked(self) -> None:
        if self._loaded is None:
            return
        if self._viewer is None:
            self._viewer = ImageViewer(self)
        if self._prepared is not None:
            name = self._service.info(self.provider_id).display_name
            self._viewer.show_image(self._prepared, f"As sent to {name}")
        else:
            self._viewer.show_thumbnail(self._loaded.thumbnail_png, "Preview (still preparing)")
        self._viewer.show()
        self._viewer.raise_()

    def inspect(self) -> QDialog | None:
        """Open the forensics view of the loaded original (not of the prepared copy)."""
        if self._loaded is None:
            return None
        from ui.dialogs.inspect_dialog import InspectDialog

        dialog = InspectDialog(self._loaded, self._service, self._tasks, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog


class _Busy:
    """Shows the slot's spinner for the duration of an `async with` (nesting-safe)."""

    def __init__(self, slot: ImageSlot) -> None:
        self._slot = slot

    async def __aenter__(self) -> None:
        count = int(self._slot.property("busy_count") or 0) + 1
        self._slot.setProperty("busy_count", count)
        self._slot.spinner.show()

    async def __aexit__(self, *_exc: object) -> None:
        count = int(self._slot.property("busy_count") or 1) - 1
        self._slot.setProperty("busy_count", count)
        if count <= 0:
            self._slot.spinner.hide()


def recent_files() -> list[str]:
    value = _settings().value(RECENT_KEY, [])
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def remember_recent(path: str) -> None:
    files = [path, *(p for p in recent_files() if p != path)][:RECENT_LIMIT]
    _settings().setValue(RECENT_KEY, files)


def remember_folder(path: str) -> None:
    """The open dialog starts here next time (any slot, any tab)."""
    from pathlib import Path

    _settings().setValue(FOLDER_KEY, str(Path(path).parent))


def _qimage_png(image: object) -> bytes:
    if not isinstance(image, QImage) or image.isNull():
        return b""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide takes str at runtime
    data: QByteArray = buffer.data()
    return bytes(data.data())


async def _refuse_remote() -> None:
    raise ImageError(
        "That drop carried only a web address, not the image itself. Save the image first, "
        "or drag the picture (not its link)."
    )


async def _refuse_clipboard() -> None:
    raise ImageError("The clipboard holds no image. Copy an image or an image file, then paste.")
