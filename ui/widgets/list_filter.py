"""A filter line above a list: rows without the typed text are hidden, "n of m" says how many.

The match is a case-insensitive substring of each row's text (a table row's: its cells').
Rows added later (a Refresh refills the list) and rows whose text changes are filtered as they
arrive, so the filter stays applied until the operator clears it. `find_shortcut` gives a panel
its Ctrl+F.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QTableWidget,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex
FilteredView = QListWidget | QTableWidget


class ListFilter(QWidget):
    def __init__(
        self, view: FilteredView, placeholder: str = "Filter…", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        # Held weakly: a filter that outlives its list must not be what keeps the list alive,
        # nor delete it (a Python-owned list would then go during this widget's teardown).
        self._view = weakref.ref(view)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.hint = QLabel()
        self.hint.hide()
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.hint)
        # Bound methods, not lambdas: Qt drops the connections when this filter goes first.
        self._view_alive = True
        self.edit.textChanged.connect(self._on_text_changed)
        view.destroyed.connect(self._on_view_destroyed)  # its model resets while it goes
        model = view.model()
        model.rowsInserted.connect(self._on_rows_inserted)
        model.dataChanged.connect(self._on_data_changed)
        model.rowsRemoved.connect(self._on_rows_removed)
        model.modelReset.connect(self._show_count)

    def list(self) -> FilteredView | None:
        """The filtered list, or None once it is gone."""
        view = self._view()
        return view if view is not None and self._view_alive else None

    @property
    def needle(self) -> str:
        return self.edit.text().strip().casefold()

    def matches(self, text: str) -> bool:
        return self.needle in text.casefold()

    def apply(self) -> None:
        """Show the rows that match the current text, hide the others."""
        view = self.list()
        if view is not None:
            self._apply_rows(0, _row_count(view) - 1)

    def shown_count(self) -> int:
        view = self.list()
        if view is None:
            return 0
        return sum(1 for row in range(_row_count(view)) if not _row_hidden(view, row))

    def focus(self) -> None:
        self.edit.setFocus()
        self.edit.selectAll()

    def _on_text_changed(self, _text: str) -> None:
        self.apply()

    def _on_view_destroyed(self) -> None:
        self._view_alive = False

    def _on_rows_inserted(self, _parent: Index, first: int, last: int) -> None:
        self._apply_rows(first, last)

    def _on_data_changed(self, top: Index, bottom: Index, _roles: Sequence[int] = ()) -> None:
        self._apply_rows(top.row(), bottom.row())

    def _on_rows_removed(self, _parent: Index, _first: int, _last: int) -> None:
        self._show_count()

    def _apply_rows(self, first: int, last: int) -> None:
        view = self.list()
        if view is None:
            return
        for row in range(max(first, 0), min(last, _row_count(view) - 1) + 1):
            _set_row_hidden(view, row, not self.matches(_row_text(view, row)))
        self._show_count()

    def _show_count(self) -> None:
        view = self.list()
        if view is not None:
            shown = f"{self.shown_count()} of {_row_count(view)}"
            self.hint.setText(shown if self.needle else "")
            self.hint.setVisible(bool(self.needle))  # no filter: the line takes the full width


def focus_list_filter(filters: Sequence[ListFilter], container: QWidget) -> ListFilter | None:
    """Focus the filter of the list (or filter) that has focus, else the first one shown."""
    focused = QApplication.focusWidget()

    def holds_focus(candidate: ListFilter) -> bool:
        view = candidate.list()
        if focused is None or view is None:
            return False
        return focused is view or view.isAncestorOf(focused) or candidate.isAncestorOf(focused)

    chosen = next((f for f in filters if holds_focus(f)), None)
    if chosen is None:
        chosen = next((f for f in filters if f.isVisibleTo(container)), None)
    if chosen is not None:
        chosen.focus()
    return chosen


def find_shortcut(panel: QWidget, filters: Sequence[ListFilter]) -> QShortcut:
    """Ctrl+F focuses the filter of the focused list, else the panel's first one.

    Window context on the panel: Qt only counts a visible widget's shortcuts, so only the panel
    shown answers, from anywhere in the window (as the window's other shortcuts do); a dialog
    (the registry's own Ctrl+F) is another window and never clashes.
    """
    shortcut = QShortcut(QKeySequence.StandardKey.Find, panel)
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
    shortcut.activated.connect(lambda: focus_list_filter(filters, panel))
    return shortcut


def _row_count(view: FilteredView) -> int:
    return view.rowCount() if isinstance(view, QTableWidget) else view.count()


def _row_text(view: FilteredView, row: int) -> str:
    if isinstance(view, QTableWidget):
        cells = (view.item(row, column) for column in range(view.columnCount()))
        return "\t".join(cell.text() for cell in cells if cell is not None)
    return view.item(row).text()


def _row_hidden(view: FilteredView, row: int) -> bool:
    if isinstance(view, QTableWidget):
        return view.isRowHidden(row)
    return view.item(row).isHidden()


def _set_row_hidden(view: FilteredView, row: int, hidden: bool) -> None:
    if isinstance(view, QTableWidget):
        view.setRowHidden(row, hidden)
    else:
        view.item(row).setHidden(hidden)
