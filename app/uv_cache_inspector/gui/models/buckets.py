"""The bucket tree: cache -> bucket -> index / shard, with sizes and status."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.inventory import Node
from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.style import severity_color

COL_NAME, COL_SIZE, COL_FILES, COL_STATUS = range(4)
HEADERS = ["Bucket", "Size", "Files", "Status"]
_STATUS_SEVERITY = {"current": "ok", "stale": "warning", "unknown": "info"}

Index = QModelIndex | QPersistentModelIndex


class BucketTreeModel(QAbstractItemModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = Node("", "")
        self._parents: dict[int, Node] = {}

    def set_tree(self, tree: Node) -> None:
        self.beginResetModel()
        self._root = Node("", "", children=[tree])  # the cache itself is the visible top
        self._parents = {}
        self._index_parents(self._root)
        self.endResetModel()

    def _index_parents(self, node: Node) -> None:
        for child in node.children:
            self._parents[id(child)] = node
            self._index_parents(child)

    def node(self, index: Index) -> Node:
        if not index.isValid():
            return self._root
        ptr = index.internalPointer()
        assert isinstance(ptr, Node)
        return ptr

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        node = self.node(parent)
        if 0 <= row < len(node.children):
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent = self._parents.get(id(self.node(index)))
        if parent is None or parent is self._root:
            return QModelIndex()
        grand = self._parents.get(id(parent), self._root)
        return self.createIndex(grand.children.index(parent), 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.column() > 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        n = self.node(index)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return [
                n.label,
                fmt.size(n.bytes) if n.bytes else "",
                f"{n.files:,}" if n.files else "",
                n.status,
            ][col]
        if role == Role.KEY:
            return n.key
        if role == Role.SORT:
            return [n.label, n.bytes, n.files, n.status][col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return n.note or n.key or None
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return severity_color(_STATUS_SEVERITY.get(n.status, "info"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SIZE, COL_FILES):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def find(self, key: str) -> QModelIndex:
        def walk(parent: QModelIndex) -> QModelIndex:
            for r in range(self.rowCount(parent)):
                idx = self.index(r, 0, parent)
                if self.node(idx).key == key:
                    return idx
                found = walk(idx)
                if found.isValid():
                    return found
            return QModelIndex()

        return walk(QModelIndex())
