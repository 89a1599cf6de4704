"""The icons, desktop entry and metainfo: complete, valid, and carried by the wheel."""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from uv_cache_inspector import __version__
from uv_cache_inspector.core import resources as res

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def test_png_icons_in_every_size():
    for size in res.ICON_SIZES:
        path = res.icon_png(size)
        assert _png_size(path.read_bytes()) == (size, size), path


def test_ico_holds_16_to_256():
    data = res.icon_ico().read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _c, _r, planes, bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        png = data[offset : offset + length]
        assert _png_size(png) == ((w or 256), (h or 256))
        assert (planes, bpp) == (1, 32)
        sizes.append(w or 256)
    assert sorted(sizes) == [16, 24, 32, 48, 64, 128, 256]


def test_icns_holds_16_to_1024():
    data = res.icon_icns().read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    expected = {
        b"icp4": 16,
        b"icp5": 32,
        b"icp6": 64,
        b"ic07": 128,
        b"ic08": 256,
        b"ic09": 512,
        b"ic10": 1024,
    }
    found = {}
    i = 8
    while i < len(data):
        kind = data[i : i + 4]
        length = struct.unpack(">I", data[i + 4 : i + 8])[0]
        found[kind] = _png_size(data[i + 8 : i + length])[0]
        i += length
    assert found == expected


def test_desktop_entry_is_valid():
    out = subprocess.run(
        ["desktop-file-validate", str(res.desktop_entry())], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "", out.stdout  # not even a hint


def test_metainfo_is_valid_and_current():
    out = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(res.metainfo())],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    tree = ET.parse(res.metainfo())
    assert tree.findtext("id") == res.APP_ID
    assert tree.find("launchable").text == f"{res.APP_ID}.desktop"
    assert res.desktop_entry().name == f"{res.APP_ID}.desktop"
    versions = [r.get("version") for r in tree.iter("release")]
    assert versions[0] == __version__  # the newest release is this one
    assert tree.find("content_rating") is not None
    # No URL that leads nowhere: the project has no public homepage or hosted screenshots
    # yet, and AppStream lets both be left out (issue 14). Add them, and a check, when it has.
    assert list(tree.iter("url")) == []
    assert tree.find("screenshots") is None


def test_wheel_carries_the_icons_and_entries(tmp_path):
    built = subprocess.run(  # hatchling from the dev environment: no download
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for size in res.ICON_SIZES:
        assert (
            f"uv_cache_inspector/resources/icons/hicolor/{size}x{size}/apps/{res.APP_ID}.png"
            in names
        )
    for rel in (
        "icons/uv-cache-inspector.ico",
        "icons/uv-cache-inspector.icns",
        "icons/uv-cache-inspector.svg",
        f"linux/{res.APP_ID}.desktop",
        f"linux/{res.APP_ID}.metainfo.xml",
    ):
        assert f"uv_cache_inspector/resources/{rel}" in names, rel
    assert not any("screenshots" in n for n in names)  # README pictures stay out


def test_window_icon_uses_them(qapp):
    from uv_cache_inspector.gui.style import app_icon

    icon = app_icon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
