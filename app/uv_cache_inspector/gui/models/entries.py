"""The entries table: archives, bucket entries and temporary folders, as core Rows."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.inventory import Row
from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.style import severity_color

(
    COL_PACKAGE,
    COL_VERSION,
    COL_SOURCE,
    COL_SIZE,
    COL_FILES,
    COL_OWNER,
    COL_LAST_USED,
    COL_STATE,
) = range(8)
HEADERS = ["Package", "Version", "From", "Size", "Files", "Owner", "Last used", "State"]

Index = QModelIndex | QPersistentModelIndex
_PARTS = re.compile(r"(\d+)")


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """'1.10' after '1.9': numbers compare as numbers, the rest as text."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in _PARTS.split(version) if p)


_SORT_KEYS: tuple[Callable[[Row], Any], ...] = (
    lambda r: r.package.lower(),
    lambda r: version_key(r.version),
    lambda r: r.source,
    lambda r: r.bytes,
    lambda r: r.files,
    lambda r: r.owner,
    lambda r: r.last_used or 0.0,
    lambda r: r.state,
)


def sort_key(r: Row, column: int) -> Any:
    """What a column sorts by: Python values (sizes as ints of any size, versions by number)."""
    return _SORT_KEYS[column](r)


def sort_rows(rows: list[Row], column: int, order: Qt.SortOrder) -> None:
    """Sort in place as the table does (also usable in a worker thread: plain Python)."""
    if 0 <= column < len(_SORT_KEYS):
        rows.sort(key=_SORT_KEYS[column], reverse=order == Qt.SortOrder.DescendingOrder)


class EntryTableModel(QAbstractTableModel):
    """All rows in the order of the last sort(); shows those that pass the filter.

    The filter runs here, in one Python pass over the rows, not in a QSortFilterProxyModel's
    filterAcceptsRow: that is one call from C++ into Python per row, 6,000 of them each time
    the rows are replaced, each waiting its turn for the interpreter while a scan runs. Sorting
    too is a Python sort of the list by a key (a proxy's lessThan would be a call per
    comparison, and would compare sizes as 32-bit ints).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[Row] = []  # every row, sorted
        self._keys: dict[str, int] = {}  # key -> position in _all
        self._rows: list[Row] = []  # the rows shown: _all filtered, same order
        self._index: dict[str, int] = {}  # key -> position in _rows
        self._filter: tuple[str, str, str | None] = ("", "", None)  # group, text, package
        self._now = time.time()
        self._order: tuple[int, Qt.SortOrder] | None = None

    # -- content ----------------------------------------------------------------------------

    @property
    def order(self) -> tuple[int, Qt.SortOrder] | None:
        return self._order

    def set_rows(self, rows: list[Row], *, presorted: bool = False) -> None:
        """Replace the rows; `presorted` when they already are in `order` (sorted by a worker)."""
        self.beginResetModel()
        self._all = list(rows)
        if self._order is not None and not presorted:
            sort_rows(self._all, *self._order)
        self._keys = {r.key: i for i, r in enumerate(self._all)}
        self._refill()
        self._now = time.time()
        self.endResetModel()

    def set_filter(self, group: str, text: str = "", package: str | None = None) -> None:
        """Show the rows of `group` (a bucket, or a node of the tree: "archive-v0", "tmp"...;
        "" for all) whose text contains every word of `text`, of `package` if given."""
        state = (group, text.strip().lower(), package)
        if state == self._filter:
            return
        self.beginResetModel()
        self._filter = state
        self._refill()
        self.endResetModel()

    def _accepts(self, r: Row) -> bool:
        group, text, package = self._filter
        if group and not (r.group == group or r.group.startswith(group + "/") or r.bucket == group):
            return False
        if package is not None and r.package != package:
            return False
        if text:
            hay = f"{r.package} {r.version} {r.state} {r.owner} {r.key}".lower()
            return all(word in hay for word in text.split())
        return True

    def _refill(self) -> None:
        accepts = self._accepts
        self._rows = [r for r in self._all if accepts(r)]
        self._index = {r.key: i for i, r in enumerate(self._rows)}

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._order = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        keys = [self._rows[i.row()].key if 0 <= i.row() < len(self._rows) else "" for i in before]
        sort_rows(self._all, column, order)
        self._keys = {r.key: i for i, r in enumerate(self._all)}
        self._refill()
        after = [
            self.index(self._index[k], i.column()) if k in self._index else QModelIndex()
            for k, i in zip(keys, before, strict=True)
        ]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def resort(self) -> None:
        """Put rows added by upsert() in their place (after a batch of live changes)."""
        if self._order is not None:
            self.sort(*self._order)

    def upsert(self, row: Row) -> None:
        j = self._keys.get(row.key)
        if j is not None:
            self._all[j] = row
        else:
            self._keys[row.key] = len(self._all)
            self._all.append(row)
        i = self._index.get(row.key)
        shown = self._accepts(row)
        if i is not None and shown:
            self._rows[i] = row
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(HEADERS) - 1))
        elif i is not None:
            self._hide(i)
        elif shown:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self._rows.append(row)
            self._index[row.key] = n
            self.endInsertRows()

    def remove(self, key: str) -> None:
        j = self._keys.get(key)
        if j is None:
            return
        del self._all[j]
        self._keys = {r.key: k for k, r in enumerate(self._all)}
        i = self._index.get(key)
        if i is not None:
            self._hide(i)

    def _hide(self, i: int) -> None:
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self._index = {r.key: k for k, r in enumerate(self._rows)}
        self.endRemoveRows()

    def row_at(self, i: int) -> Row | None:
        """The i-th row shown."""
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def find(self, key: str) -> Row | None:
        """A row by key, shown or not."""
        j = self._keys.get(key)
        return self._all[j] if j is not None else None

    def position(self, key: str) -> int | None:
        """Where the row of `key` is shown, if it is."""
        return self._index.get(key)

    def rows(self) -> list[Row]:
        """Every row, shown or not."""
        return list(self._all)

    # -- Qt -----------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, col)
        if role == Role.SORT:
            return sort_key(r, col)
        if role == Role.OBJECT:
            return r
        if role == Role.KEY:
            return r.key
        if role == Role.SEVERITY:
            return r.severity
        if role == Qt.ItemDataRole.ToolTipRole:
            extra = ""
            if r.shared_bytes:
                extra = f"\n{fmt.size(r.shared_bytes)} of it is shared with venvs (hard links)"
            return f"{r.key}{extra}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SIZE, COL_FILES):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and (
            col == COL_STATE or (col == COL_OWNER and r.state == "foreign owner")
        ):
            return severity_color(r.severity)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{r.package} {r.version}, {fmt.size(r.bytes)}, {r.state}"
        return None

    def _display(self, r: Row, col: int) -> str:
        if col == COL_PACKAGE:
            return r.package
        if col == COL_VERSION:
            return r.version
        if col == COL_SOURCE:
            return r.source
        if col == COL_SIZE:
            return fmt.size(r.bytes) if r.bytes or r.kind != "entry" else ""
        if col == COL_FILES:
            return f"{r.files:,}" if r.files else ""
        if col == COL_OWNER:
            return r.owner
        if col == COL_LAST_USED:
            return fmt.since(r.last_used, self._now) if r.last_used else ""
        return r.state


class EntryFilter(QObject):
    """The table's filter controls (the selected tree node, the filter text, a package), handed
    to the EntryTableModel, which filters in one pass (see there).

    Not a QSortFilterProxyModel: with nothing left for a proxy to do, it still cost 5-10 ms of
    re-mapping each time the 6,000 rows were replaced; the view shows the model itself.
    """

    def __init__(self, model: EntryTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._group = "archive-v0"
        self._text = ""
        self._package: str | None = None
        self._push()

    def _push(self) -> None:
        self.model.set_filter(self._group, self._text, self._package)

    def set_group(self, group: str) -> None:
        if group == self._group and self._package is None:
            return
        self._group, self._package = group, None
        self._push()

    def set_text(self, text: str) -> None:
        self._text = text.strip().lower()
        self._push()

    @property
    def group(self) -> str:
        return self._group

    def set_package(self, package: str | None) -> None:
        self._package = package
        self._push()
