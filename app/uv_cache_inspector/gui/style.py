"""Colours and icons, chosen for the palette in use (light or dark)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette

_LIGHT = {
    "error": "#b71c1c",
    "warning": "#b45309",
    "info": "#1d4ed8",
    "ok": "#166534",
    "muted": "#6b7280",
}
_DARK = {
    "error": "#f87171",
    "warning": "#fbbf24",
    "info": "#93c5fd",
    "ok": "#86efac",
    "muted": "#9ca3af",
}
_BANNER_LIGHT = {"error": "#fdecea", "warning": "#fff4e5", "info": "#e8f0fe", "ok": "#e9f7ef"}
_BANNER_DARK = {"error": "#3b1212", "warning": "#3b2a0c", "info": "#0f1f3b", "ok": "#0f2e1a"}


def dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    pal = QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def severity_color(severity: str) -> QColor:
    return QColor((_DARK if dark() else _LIGHT).get(severity, "#6b7280"))


def banner_color(severity: str) -> QColor:
    return QColor((_BANNER_DARK if dark() else _BANNER_LIGHT).get(severity, "#f3f4f6"))


@cache
def app_icon() -> QIcon:
    """The window icon, from the PNG sizes (sharp at every size and DPI) and the SVG."""
    from uv_cache_inspector.core import resources as res

    icon = QIcon()
    for size in res.ICON_SIZES:
        png = res.icon_png(size)
        if png.exists():
            icon.addFile(str(png), QSize(size, size))
    svg = res.icon_svg()
    if svg.exists():
        icon.addFile(str(svg))
    return icon
