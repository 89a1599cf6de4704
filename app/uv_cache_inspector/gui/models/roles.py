"""Custom roles shared by the models and views."""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt


class Role(enum.IntEnum):
    SORT = Qt.ItemDataRole.UserRole + 1  # a Python value: sizes compare as ints, not Qt's int32
    OBJECT = Qt.ItemDataRole.UserRole + 2  # the core object behind the row
    SEVERITY = Qt.ItemDataRole.UserRole + 3  # "ok" | "info" | "warning" | "error" | "muted"
    KEY = Qt.ItemDataRole.UserRole + 4  # the row's path / node key
