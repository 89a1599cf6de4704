"""Squarified treemap layout (Bruls, Huizing, van Wijk 2000): sizes in, rectangles out.

Pure arithmetic, so the app computes the layout in a worker thread and only paints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


@dataclass(frozen=True, slots=True)
class Tile:
    key: str
    label: str
    value: int
    rect: Rect
    depth: int
    group: str  # the top-level group (bucket) a tile belongs to


def _worst(row: Sequence[float], side: float) -> float:
    s = sum(row)
    if s <= 0 or side <= 0:
        return float("inf")
    return max(max(side * side * r / (s * s), (s * s) / (side * side * r)) for r in row if r > 0)


def squarify(values: Sequence[float], rect: Rect) -> list[Rect]:
    """Rectangles for `values` (sorted large to small for best aspect ratios) filling `rect`."""
    total = sum(values)
    if total <= 0 or rect.w <= 0 or rect.h <= 0:
        return [Rect(rect.x, rect.y, 0, 0) for _ in values]
    scale = rect.w * rect.h / total
    areas = [v * scale for v in values]
    out: list[Rect] = []
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        i += 1
        while i < len(areas) and _worst([*row, areas[i]], side) <= _worst(row, side):
            row.append(areas[i])
            i += 1
        s = sum(row)
        if w >= h:  # lay the row out as a column on the left
            cw = s / h if h else 0
            cy = y
            for a in row:
                ch = a / cw if cw else 0
                out.append(Rect(x, cy, cw, ch))
                cy += ch
            x += cw
            w -= cw
        else:  # as a row on top
            rh = s / w if w else 0
            cx = x
            for a in row:
                cwid = a / rh if rh else 0
                out.append(Rect(cx, y, cwid, rh))
                cx += cwid
            y += rh
            h -= rh
    return out


def layout(
    groups: dict[str, dict[str, int]],
    width: float,
    height: float,
    header: float = 16.0,
    pad: float = 2.0,
    max_tiles: int = 400,
) -> list[Tile]:
    """Two levels: groups (buckets) and their items (packages). Small items beyond `max_tiles`
    are folded into one "others" tile per group."""
    tiles: list[Tile] = []
    named = sorted(((g, sum(items.values())) for g, items in groups.items()), key=lambda kv: -kv[1])
    named = [(g, v) for g, v in named if v > 0]
    rects = squarify([v for _, v in named], Rect(0, 0, width, height))
    budget = max_tiles
    for (group, value), r in zip(named, rects, strict=True):
        tiles.append(Tile(group, group, value, r, 0, group))
        inner = Rect(r.x + pad, r.y + header, max(0.0, r.w - 2 * pad), max(0.0, r.h - header - pad))
        items = sorted(groups[group].items(), key=lambda kv: -kv[1])
        keep = max(1, min(len(items), budget * value // max(1, sum(v for _, v in named))))
        head, tail = items[:keep], items[keep:]
        if tail:
            head = [*head, (f"{len(tail)} more", sum(v for _, v in tail))]
        for (key, v), ir in zip(head, squarify([v for _, v in head], inner), strict=True):
            tiles.append(Tile(f"{group}/{key}", key, v, ir, 1, group))
        budget -= len(head)
    return tiles
