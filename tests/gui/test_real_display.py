"""The app on a real X server (Xvfb, the xcb platform: not the offscreen one the other GUI tests
use), as root, on the cache of uv issue #11018: Repair in the banner, applied in the window; the
screenshot it writes shows the fixed cache, and so does the X screen itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.helpers import APP
from tests.harness.dists import write_wheel

DRIVER = Path(__file__).with_name("xvfb_driver.py")
ROOT = str(Path(__file__).resolve().parents[2])


def _most_common(img, x: int, ys: range) -> str:  # type: ignore[no-untyped-def]
    colours = [img.pixelColor(x, y).name() for y in ys]
    return max(set(colours), key=colours.count)


def test_repair_through_the_window_on_a_real_x_server(
    broken, xvfb, unprivileged, index, dists_dir, world_tmp
):
    cache, venv, orphan = broken
    write_wheel(dists_dir, "after-xvfb-repair", "1.0")
    install = (
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index.url,
        "after-xvfb-repair",
    )
    failed = unprivileged.uv_cmd(*install)
    assert failed.returncode != 0 and "Permission denied" in failed.stderr

    window_png, screen_png = world_tmp / "window.png", world_tmp / "screen.png"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"}
    }
    env.update(DISPLAY=xvfb, PYTHONPATH=os.pathsep.join([APP, ROOT]))
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(cache), str(window_png), str(screen_png)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["errors"] == []
    assert seen["platform"] == "xcb"
    assert "archive-v0 belongs to root and uv runs as nobody" in seen["before"], seen
    assert "Repair…" in seen["buttons"]
    assert seen["dialog"] == "Repair the cache"
    assert ["chown", str(cache / "archive-v0")] in seen["plan"]
    assert all(done for _kind, done, _error in seen["results"]), seen["results"]
    assert seen["status"].startswith("Done:")
    assert "cannot write" not in seen["after"]

    # The cache is fixed: owned by the user again, and the user's uv installs.
    assert os.stat(cache / "archive-v0").st_uid == 65534
    ok = unprivileged.uv_cmd(*install)
    assert ok.returncode == 0, ok.stderr
    assert orphan.exists()  # the banner's Repair… was for the ownership; the orphan has its own

    from PySide6.QtGui import QImage

    from uv_cache_inspector.gui.style import banner_color

    shot = QImage(str(window_png))
    assert (shot.width(), shot.height()) == (1280, 820)
    expected = banner_color("warning").name()  # only the orphaned folder is left to tidy
    assert _most_common(shot, shot.width() - 12, range(20, 60)) == expected
    # The same banner, read back from the X server's screen.
    screen = QImage(str(screen_png))
    assert not screen.isNull() and seen["screen_saved"]
    x, y, width = seen["banner_on_screen"]
    assert _most_common(screen, x + width - 12, range(y + 4, y + 30)) == expected
