"""Where the space goes: a squarified treemap, bucket -> package, drawn with QPainter."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.treemap import Tile, layout
from uv_cache_inspector.gui.style import dark

_BUCKET_HUES = {
    "archive-v0": 262,
    "wheels": 200,
    "sdists": 30,
    "simple": 160,
    "environments": 330,
    "builds": 10,
    "temporary": 0,
}


def _hue(group: str) -> int:
    for prefix, hue in _BUCKET_HUES.items():
        if group.startswith(prefix):
            return hue
    return int(hashlib.md5(group.encode(), usedforsecurity=False).hexdigest()[:2], 16) * 360 // 256


class Treemap(QWidget):
    picked = Signal(str, str)  # (group, label): a bucket, or a package in archive-v0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumHeight(120)
        self.setAccessibleName("Where the space goes")
        self.setAccessibleDescription(
            "A map of the cache: each box is a bucket or a package, "
            "sized by the space it takes. Click to select."
        )
        self._groups: dict[str, dict[str, int]] = {}
        self._tiles: list[Tile] = []
        self._laid_for = (0, 0)
        self._hover: Tile | None = None
        self._selected: str | None = None

    def set_groups(self, groups: dict[str, dict[str, int]]) -> None:
        self._groups = groups
        self._laid_for = (0, 0)
        self.update()

    def select(self, key: str | None) -> None:
        self._selected = key
        self.update()

    def _tiles_now(self) -> list[Tile]:
        size = (self.width(), self.height())
        if size != self._laid_for:
            self._tiles = layout(self._groups, size[0], size[1])
            self._laid_for = size
        return self._tiles

    def _tile_at(self, x: float, y: float) -> Tile | None:
        hit = None
        for t in self._tiles_now():
            if t.rect.contains(x, y) and (hit is None or t.depth > hit.depth):
                hit = t
        return hit

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        is_dark = dark()
        p.fillRect(self.rect(), self.palette().base())
        fm = QFontMetrics(self.font())
        if not self._groups:
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No data yet")
            return
        for t in self._tiles_now():
            r = QRectF(t.rect.x, t.rect.y, t.rect.w, t.rect.h)
            if r.width() < 1 or r.height() < 1:
                continue
            hue = _hue(t.group)
            if t.depth == 0:
                color = QColor.fromHsl(hue, 60, 45 if is_dark else 200)
                p.fillRect(r, color)
                p.setPen(QPen(self.palette().base().color(), 2))
                p.drawRect(r)
                if r.width() > 40:
                    p.setPen(self.palette().text().color() if not is_dark else QColor("#eee"))
                    label = fm.elidedText(
                        f"{t.label}  {fmt.size(t.value)}",
                        Qt.TextElideMode.ElideRight,
                        int(r.width()) - 6,
                    )
                    p.drawText(QPointF(r.x() + 4, r.y() + fm.ascent() + 1), label)
                continue
            shade = 55 + (hash(t.label) % 20)
            color = QColor.fromHsl(hue, 70, shade if is_dark else 140 + shade)
            if self._hover is t or self._selected == t.key:
                color = color.lighter(125) if is_dark else color.darker(115)
            p.fillRect(r.adjusted(1, 1, -1, -1), color)
            if t.label != t.group and r.width() > 50 and r.height() > fm.height() + 2:
                p.setPen(QColor("#111") if not is_dark else QColor("#f3f3f3"))
                text = fm.elidedText(t.label, Qt.TextElideMode.ElideRight, int(r.width()) - 6)
                p.drawText(
                    r.adjusted(3, 2, -3, -2),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                    text,
                )
            if self._selected == t.key:
                p.setPen(QPen(self.palette().highlight().color(), 2))
                p.drawRect(r.adjusted(1, 1, -1, -1))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        tile = self._tile_at(pos.x(), pos.y())
        if tile is not self._hover:
            self._hover = tile
            self.update()
        if tile is not None:
            where = f"{tile.group}: " if tile.depth else ""
            QToolTip.showText(
                event.globalPosition().toPoint(),
                f"{where}{tile.label}\n{fmt.size(tile.value)}",
                self,
            )

    def leaveEvent(self, event: object) -> None:
        self._hover = None
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        tile = self._tile_at(pos.x(), pos.y())
        if tile is None:
            return
        self._selected = tile.key
        self.update()
        self.picked.emit(tile.group, tile.label if tile.depth else "")
