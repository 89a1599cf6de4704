"""GUI tests run offscreen, with their own settings file (never the user's)."""

from __future__ import annotations

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
