"""Asynchronous confirmation for destructive actions (never a nested event loop).

Tests replace the answer with `set_answerer(...)`; every question asked is kept in `ASKED`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QMessageBox, QWidget


@dataclass(frozen=True, slots=True)
class Question:
    title: str
    text: str
    details: str
    confirm_label: str


Answerer = Callable[[Question], bool]
_answerer: Answerer | None = None
ASKED: list[Question] = []


def set_answerer(answerer: Answerer | None) -> None:
    """Answer confirmations without a dialog (tests). None restores the real dialog."""
    global _answerer
    _answerer = answerer


async def confirm_destructive(
    parent: QWidget | None,
    *,
    title: str,
    text: str,
    details: str = "",
    confirm_label: str = "Delete",
) -> bool:
    """Ask before a destructive action; Cancel is the default button."""
    question = Question(title, text, details, confirm_label)
    ASKED.append(question)
    if _answerer is not None:
        return _answerer(question)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setInformativeText(details)
    confirm = box.addButton(confirm_label, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finished(_result: int) -> None:
        if not future.done():
            future.set_result(box.clickedButton() is confirm)

    box.finished.connect(finished)
    box.open()
    try:
        return await future
    finally:
        box.deleteLater()
