"""Render the app icon (resources/icons/uv-cache-inspector.svg) into every size the platforms use.

    uv run python packaging/make_icons.py

Writes, under resources/icons/:
  hicolor/<N>x<N>/apps/io.github.uvci.UvCacheInspector.png   N = 16 24 32 48 64 128 256 512
  hicolor/scalable/apps/io.github.uvci.UvCacheInspector.svg  (the SVG itself)
  uv-cache-inspector.ico    16-256, PNG-compressed entries (Windows Vista and later)
  uv-cache-inspector.icns   16-1024, PNG entries (macOS 10.7 and later)
The results are committed; run this again after changing the SVG.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
APP_ID = "io.github.uvci.UvCacheInspector"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (Apple's "icp4".."ic10").
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An .ico holding the given PNG images (ICONDIR + ICONDIRENTRY per image, then the data)."""
    sizes = sorted(pngs)
    out = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    body = b""
    for n in sizes:
        data = pngs[n]
        dim = 0 if n >= 256 else n  # 0 means 256
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return out + body


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    body = b""
    for kind, n in ICNS_TYPES:
        if n in pngs:
            body += kind + struct.pack(">I", 8 + len(pngs[n])) + pngs[n]
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def render(svg: Path, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {svg}")
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(data.data())


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    svg = ICONS / "uv-cache-inspector.svg"
    pngs = {n: render(svg, n) for n in sorted({*PNG_SIZES, *ICO_SIZES, 1024})}
    for n in PNG_SIZES:
        target = ICONS / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pngs[n])
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    (ICONS / "uv-cache-inspector.ico").write_bytes(ico_bytes({n: pngs[n] for n in ICO_SIZES}))
    (ICONS / "uv-cache-inspector.icns").write_bytes(icns_bytes({n: pngs[n] for _, n in ICNS_TYPES}))
    del app
    print(f"wrote icons under {ICONS}")


if __name__ == "__main__":
    main()
