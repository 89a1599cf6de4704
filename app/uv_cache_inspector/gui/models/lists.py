"""Small table models for lists of core objects: plan actions, trace steps, findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.style import severity_color

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


class Column(Generic[T]):
    def __init__(
        self,
        title: str,
        text: Callable[[T], str],
        sort: Callable[[T], Any] | None = None,
        right: bool = False,
        tip: Callable[[T], str] | None = None,
    ) -> None:
        self.title, self.text, self.sort, self.right = title, text, sort or text, right
        self.tip = tip or text  # the tooltip: the whole text where the cell shows a part


class ObjectTable(QAbstractTableModel, Generic[T]):
    def __init__(
        self,
        columns: Sequence[Column[T]],
        severity: Callable[[T], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.severity = severity
        self.items: list[T] = []
        self.fonts: dict[int, QFont] = {}  # column -> font, where it is not the view's

    def set_items(self, items: Sequence[T]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def append(self, item: T) -> None:
        n = len(self.items)
        self.beginInsertRows(QModelIndex(), n, n)
        self.items.append(item)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tip(item)
        if role == Qt.ItemDataRole.FontRole and index.column() in self.fonts:
            return self.fonts[index.column()]
        if role == Role.SORT:
            return col.sort(item)
        if role == Role.OBJECT:
            return item
        if role == Qt.ItemDataRole.TextAlignmentRole and col.right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self.severity and index.column() == 0:
            return severity_color(self.severity(item))
        return None
