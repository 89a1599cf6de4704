"""GUI tests run offscreen, with their own settings file (never the user's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, settings) -> Iterator:  # type: ignore[no-untyped-def]
    """open_window(cache) -> a shown MainWindow that has finished its first inspection."""
    from uv_cache_inspector.gui.main_window import MainWindow

    windows = []

    def make(cache: Path, timeout_ms: int = 60_000) -> MainWindow:
        w = MainWindow(str(cache), settings=settings)
        qtbot.addWidget(w)
        windows.append(w)
        with qtbot.waitSignal(w.inspected, timeout=timeout_ms):
            w.resize(1280, 820)
            w.show()
        return w

    yield make
    for w in windows:
        w.close()


@pytest.fixture(autouse=True)
def message_boxes(monkeypatch):  # type: ignore[no-untyped-def]
    """Modal message boxes would wait for a click nobody makes: record them instead. An error
    box fails the test (pytest-qt reports exceptions raised in Qt slots)."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[tuple[str, str]] = []

    def record(kind: str):  # type: ignore[no-untyped-def]
        def box(_parent, _title, text, *_a, **_k):  # type: ignore[no-untyped-def]
            seen.append((kind, text))
            if kind == "critical":
                raise AssertionError(f"error dialog: {text}")
            return QMessageBox.StandardButton.Ok

        return box

    for kind in ("critical", "information", "warning", "question"):
        monkeypatch.setattr(QMessageBox, kind, record(kind))
    return seen


@pytest.fixture
def broken(nobody_cache, unprivileged, world_tmp):
    """uv issue #11018: one `sudo uv` left archive-v0 to root; a killed run left a .tmp."""
    os.chown(nobody_cache / "archive-v0", 0, 0)
    orphan = nobody_cache / ".tmpK1lled"
    orphan.mkdir()
    (orphan / "half.py").write_text("x")
    old = time.time() - 2 * 3600
    for p in (orphan / "half.py", orphan):
        os.chown(p, 65534, 65534)
        os.utime(p, (old, old))
    venv = world_tmp / "user-venv"
    venv.mkdir()
    os.chown(venv, 65534, 65534)
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(nobody_cache), str(venv)
    )
    assert made.returncode == 0, made.stderr
    return nobody_cache, venv, orphan


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A real X server (Xvfb) for one test: its DISPLAY, once it accepts connections."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise AssertionError("Xvfb is needed for the real-display test; .ci/run installs it")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()  # Xvfb writes it once it is ready for clients
    try:
        assert number.isdigit(), proc.stderr.read().decode() if proc.stderr else ""
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(30)
