"""The one-folder app PyInstaller builds from packaging/uv-cache-inspector.spec: it starts, its
command line works (scan worker processes included), and its window renders offscreen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.dists import write_wheel
from tests.harness.uvcache import make_cache
from uv_cache_inspector import __version__
from uv_cache_inspector.core.cache.walk import WALKER_ENV
from uv_cache_inspector.core.cache.workers import POOL_MIN_UNITS
from uv_cache_inspector.core.selfexec import WORKER_FLAG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frozen(session_dir) -> Path:
    # In the world-readable session folder: the test-write runs the frozen uvci as uid 65534.
    work = session_dir / "pyinstaller"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(ROOT / "packaging" / "uv-cache-inspector.spec"),
            "--noconfirm",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    folder = work / "dist" / "uv-cache-inspector"
    assert (folder / "uv-cache-inspector").is_file() and (folder / "uvci").is_file()
    return folder


@pytest.fixture(scope="module")
def many_archives(uvr, dists_dir, tmp_path_factory) -> Path:
    """A cache real uv wrote with enough archives that the scan starts its worker processes."""
    names = [f"frozen-{i:03d}" for i in range(POOL_MIN_UNITS + 12)]
    for name in names:
        write_wheel(dists_dir, name, "1.0", n_modules=2)
    cache = tmp_path_factory.mktemp("many") / "cache"
    return make_cache(uvr, cache, names)


def test_uvci_version(frozen):
    out = subprocess.run([str(frozen / "uvci"), "--version"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # The app carries the compiled walker (the spec refuses to build without it).
    assert out.stdout.strip() == f"uvci {__version__} (compiled walker)"


@pytest.mark.parametrize("walker", ["compiled", "python"])
def test_frozen_scan_matches_uv_with_either_walker(frozen, many_archives, uvr, tmp_path, walker):
    """The compiled walker scans in threads of the frozen binary; the Python one (its fallback)
    in worker processes, which are the frozen binary itself started with the worker flag."""
    trace = tmp_path / "execs"
    out = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-s",
            "1024",
            "-e",
            "trace=execve",
            "-o",
            str(trace),
            str(frozen / "uvci"),
            "scan",
            "--json",
            "--cache-dir",
            str(many_archives),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, WALKER_ENV: walker},
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total_bytes"] == uvr.cache_size(many_archives)
    assert len(data["archives"]) >= POOL_MIN_UNITS
    execs = trace.read_text()
    worker_exec = f'"{frozen / "uvci"}", "{WORKER_FLAG}"' in execs
    assert worker_exec == (walker == "python"), execs[-2000:]


def test_frozen_window_renders_a_broken_cache(frozen, nobody_cache, tmp_path):
    os.chown(nobody_cache / "archive-v0", 0, 0)
    png = tmp_path / "frozen.png"
    out = subprocess.run(
        [
            str(frozen / "uv-cache-inspector"),
            "--cache-dir",
            str(nobody_cache),
            "--screenshot",
            str(png),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    from PySide6.QtGui import QImage

    from uv_cache_inspector.gui.style import banner_color

    img = QImage(str(png))
    assert (img.width(), img.height()) == (1280, 820)
    x = img.width() - 12
    colours = [img.pixelColor(x, y).name() for y in range(20, 80)]
    assert max(set(colours), key=colours.count) == banner_color("error").name()


def test_frozen_cli_runs_as_the_uv_user(frozen, nobody_cache):
    """The frozen test-write re-runs itself (CLI flag) as the cache's owner when run as root."""
    os.chown(nobody_cache / "archive-v0", 0, 0)
    out = subprocess.run(
        [str(frozen / "uvci"), "test-write", "--json", "--cache-dir", str(nobody_cache)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert out.returncode == 1, out.stderr
    assert [s["step"] for s in data["steps"] if not s["ok"]] == ["rename"]
