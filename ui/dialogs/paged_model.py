"""A table model over paged store queries: any of a million rows, never all of them in memory.

The model knows the row count (one `count` query) and fetches rows a page at a time, in a
task, when the view asks for a row it has not got yet; until then the cell shows "…". Filters
run in SQL: changing one calls `reload()`, which replaces the count and first page together
and drops pages of the earlier filter that arrive late. Counting a million matches takes
longer than showing the first of them, so a source may give a quick count that stops at a
limit: the rows up to it show at once, `counting` is true, and the exact count follows in its
own task, adding the remaining rows when it arrives. At most `MAX_CACHED_PAGES` pages stay
cached, so scrolling through a large table keeps memory flat.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from ui.tasks import TaskRunner

PAGE_SIZE = 200
MAX_CACHED_PAGES = 64
PENDING = "…"

Index = QModelIndex | QPersistentModelIndex
CountQuery = Callable[[], Awaitable[int]]
PageQuery = Callable[[int, int], Awaitable[Sequence[Any]]]


class PagedTableModel(QAbstractTableModel):
    """Rows come from `page(offset, limit)`, the row count from `count()`."""

    loaded = Signal()  # a reload finished: count (or quick count) and first page are in
    counted = Signal()  # the exact count that followed a quick one is in

    def __init__(
        self,
        columns: Sequence[str],
        cells: Callable[[Any], Sequence[str]],
        tasks: TaskRunner,
        name: str,
        parent: QObject | None = None,
        *,
        tooltips: Callable[[Any], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._cells = cells
        # A cell's tooltip (e.g. the UTC time behind a local one); the cell's text where absent.
        self._tooltips = tooltips
        self._tasks = tasks
        self._name = name
        self._count: CountQuery | None = None
        self._page: PageQuery | None = None
        self._quick_count: tuple[CountQuery, int] | None = None
        self._total = 0
        # True while the row count is a quick count's "at least" and the exact one is coming.
        self.counting = False
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        # A row's cell texts, made once: a repaint asks data() for every visible cell, and
        # making the texts (local times, normalized statuses) per call was most of a keystroke.
        self._cell_cache: dict[int, tuple[Any, ...]] = {}
        self._requested: set[int] = set()
        self._generation = 0
        self.editable_column: int | None = None
        # Called with (row item, new text); returns the updated item to show at once.
        self.on_edit: Callable[[Any, str], Any] | None = None

    # --- source ----------------------------------------------------------------------------

    def set_source(
        self,
        count: CountQuery,
        page: PageQuery,
        *,
        quick_count: tuple[CountQuery, int] | None = None,
    ) -> asyncio.Task[Any]:
        """Query a new filter: count and first page are fetched, then the view resets.

        `quick_count` is (a count that stops at `limit`, `limit`): when it reaches the limit,
        the rows so far are shown and `count` runs after, in its own task.
        """
        self._count, self._page, self._quick_count = count, page, quick_count
        return self.reload()

    def reload(self) -> asyncio.Task[Any]:
        self._generation += 1
        self._tasks.cancel(f"{self._name}:count")  # the earlier filter's exact count
        return self._tasks.start(f"{self._name}:load", self._load(self._generation))

    async def _load(self, generation: int) -> None:
        assert self._count is not None
        assert self._page is not None
        if self._quick_count is None:
            total, exact = await self._count(), True
        else:
            quick, limit = self._quick_count
            total = await quick()
            exact = total < limit
        first = list(await self._page(0, PAGE_SIZE)) if total else []
        if generation != self._generation:
            return
        self.beginResetModel()
        self._total = total
        self._pages = OrderedDict([(0, first)])
        self._cell_cache.clear()
        self._requested = set()
        self.counting = not exact
        self.endResetModel()
        self.loaded.emit()
        if not exact:
            self._tasks.start(
                f"{self._name}:count", self._count_all(generation), label="Counting rows"
            )

    async def _count_all(self, generation: int) -> None:
        """The exact count after a quick one: rows past the quick count are added."""
        assert self._count is not None
        total = await self._count()
        if generation != self._generation:
            return
        if total > self._total:
            self.beginInsertRows(QModelIndex(), self._total, total - 1)
            self._total = total
            self.endInsertRows()
        elif total < self._total:  # rows went meanwhile (not the audit trail: it only grows)
            self.beginRemoveRows(QModelIndex(), total, self._total - 1)
            self._total = total
            self.endRemoveRows()
        self.counting = False
        self.counted.emit()

    def _request(self, page: int) -> None:
        if page in self._requested or self._page is None:
            return
        self._requested.add(page)
        generation = self._generation
        # Started from the loop, not from inside data() while the view paints.
        asyncio.get_event_loop().call_soon(
            lambda: self._tasks.start(
                f"{self._name}:page:{page}", self._fetch(page, generation), label="Loading rows"
            )
        )

    async def _fetch(self, page: int, generation: int) -> None:
        assert self._page is not None
        try:
            rows = list(await self._page(page * PAGE_SIZE, PAGE_SIZE))
        finally:
            if generation == self._generation:
                self._requested.discard(page)
        if generation != self._generation:
            return
        self._pages[page] = rows
        while len(self._pages) > MAX_CACHED_PAGES:
            evicted, _ = self._pages.popitem(last=False)
            self._forget_cells(evicted)
        self._forget_cells(page)
        if rows:
            first = page * PAGE_SIZE
            last = min(first + len(rows), self._total) - 1
            if last >= first:
                self.dataChanged.emit(
                    self.index(first, 0), self.index(last, len(self._columns) - 1)
                )

    # --- reading ---------------------------------------------------------------------------

    def item(self, row: int) -> Any | None:
        """The row's item if its page is loaded; otherwise asks for the page and returns None."""
        if not 0 <= row < self._total:
            return None
        page_number, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_number)
        if page is None:
            self._request(page_number)
            return None
        self._pages.move_to_end(page_number)
        return page[offset] if offset < len(page) else None

    def loaded_items(self) -> list[Any]:
        """The loaded rows, in row order (what is cached, not the whole table)."""
        return [item for number in sorted(self._pages) for item in self._pages[number]]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.EditRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.ToolTipRole and self._tooltips is not None:
            # Made on hover only: a repaint never asks for tooltips, so they are not cached.
            item = self.item(row)
            return None if item is None else tuple(self._tooltips(item))[index.column()]
        cells = self._cell_cache.get(row)
        if cells is None:
            item = self.item(row)
            if item is None:
                return PENDING if role == Qt.ItemDataRole.DisplayRole else None
            cells = self._cell_cache[row] = tuple(self._cells(item))
        return cells[index.column()]

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == self.editable_column:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def _forget_cells(self, page: int) -> None:
        for row in range(page * PAGE_SIZE, (page + 1) * PAGE_SIZE):
            self._cell_cache.pop(row, None)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() != self.editable_column:
            return False
        item = self.item(index.row())
        if item is None or self.on_edit is None:
            return False
        page_number, offset = divmod(index.row(), PAGE_SIZE)
        self._pages[page_number][offset] = self.on_edit(item, str(value))
        self._cell_cache.pop(index.row(), None)
        self.dataChanged.emit(index, index)
        return True
