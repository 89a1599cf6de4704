"""`uv-cache-inspector` as a user starts it: --screenshot offscreen, and no display at all."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.cli.helpers import APP

START = "from uv_cache_inspector.gui.app import main; raise SystemExit(main())"


def _app(*args, env_extra=None, drop=(), timeout=180):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = APP
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", START, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _banner_rgb(png):
    """The colour of the banner's background: sampled near the right edge, below the menu."""
    from PySide6.QtGui import QImage

    img = QImage(str(png))
    assert not img.isNull()
    x = img.width() - 12
    colours = [img.pixelColor(x, y).name() for y in range(20, 80)]
    return img, max(set(colours), key=colours.count)


def test_screenshot_of_a_broken_cache(nobody_cache, world_tmp, tmp_path):
    os.chown(nobody_cache / "archive-v0", 0, 0)
    png = world_tmp / "shot of broken.png"
    home = tmp_path / "home"
    started = time.monotonic()
    done = _app(
        "--cache-dir",
        str(nobody_cache),
        "--screenshot",
        str(png),
        env_extra={
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
        },
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 120
    from uv_cache_inspector.gui.style import banner_color

    img, colour = _banner_rgb(png)
    assert (img.width(), img.height()) == (1280, 820)
    assert colour == banner_color("error").name()
    # The user's settings were not touched by a screenshot run.
    assert not (home / ".config").exists()


def test_screenshot_of_a_healthy_cache(real_cache, world_tmp):
    png = world_tmp / "healthy.png"
    done = _app(
        "--cache-dir",
        str(real_cache),
        "--screenshot",
        str(png),
        env_extra={"QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr
    from uv_cache_inspector.gui.style import banner_color

    _img, colour = _banner_rgb(png)
    assert colour in {banner_color("ok").name(), banner_color("warning").name()}


def test_without_a_display_it_says_what_to_do():
    done = _app(drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert done.returncode == 2
    assert "no display found" in done.stderr
    assert "uvci doctor" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert "Traceback" not in done.stderr
