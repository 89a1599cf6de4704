"""Where the app's own files are: icons, the desktop entry, the AppStream metainfo.

In a checkout they are in resources/ at the top; in the wheel (and a PyInstaller build) they
are inside the package, as uv_cache_inspector/resources/ (pyproject.toml force-includes them).
"""

from __future__ import annotations

from pathlib import Path

APP_ID = "io.github.uvci.UvCacheInspector"  # reverse-DNS id: desktop entry, icons, metainfo
APP_NAME = "uv Cache Inspector"
GUI_SCRIPT = "uv-cache-inspector"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "resources", package.parents[1] / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    return package / "resources"


def icon_png(size: int) -> Path:
    return resources_dir() / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def icon_svg() -> Path:
    return resources_dir() / "icons" / "uv-cache-inspector.svg"


def icon_ico() -> Path:
    return resources_dir() / "icons" / "uv-cache-inspector.ico"


def icon_icns() -> Path:
    return resources_dir() / "icons" / "uv-cache-inspector.icns"


def desktop_entry() -> Path:
    return resources_dir() / "linux" / f"{APP_ID}.desktop"


def metainfo() -> Path:
    return resources_dir() / "linux" / f"{APP_ID}.metainfo.xml"
