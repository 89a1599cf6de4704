"""Run by tests/gui/test_launched_by_uv_run.py under `uv run`, as `uv run uv-cache-inspector`
runs the app: the window on the cache that `uv run` itself uses and holds the lock of. Opens
Prune, then Repair, presses Apply in each, and prints what happened as JSON."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from uv_cache_inspector.gui.main_window import MainWindow
from uv_cache_inspector.gui.views.prune_dialog import PruneDialog
from uv_cache_inspector.gui.views.repair_dialog import RepairDialog


def wait(signal: object, limit_ms: int = 120_000) -> list[object]:
    """Wait for a Qt signal (the event); the limit only turns a hang into a failure."""
    loop = QEventLoop()
    got: list[object] = []
    signal.connect(lambda *a: (got.extend(a), loop.quit()))  # type: ignore[attr-defined]
    QTimer.singleShot(limit_ms, loop.quit)
    loop.exec()
    return got


def wait_until(check: object, limit_ms: int = 120_000) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: check() and loop.quit())  # type: ignore[operator]
    timer.start(20)
    QTimer.singleShot(limit_ms, loop.quit)
    loop.exec()
    timer.stop()


def main() -> None:
    app = QApplication(sys.argv)
    settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
    window = MainWindow(sys.argv[1], settings=settings)
    window.resize(1200, 800)
    window.show()
    wait(window.inspected)
    out: dict[str, object] = {}
    shown: list[object] = []
    PruneDialog.exec = lambda self: shown.append(self) or self.show()  # type: ignore[method-assign]
    RepairDialog.exec = lambda self: shown.append(self) or self.show()  # type: ignore[method-assign]
    for name, opener in (
        ("prune", window.open_prune),
        ("repair", lambda: window.open_repair(None)),
    ):
        shown.clear()
        opener()
        dialog = shown[0]
        panel = dialog.panel  # type: ignore[attr-defined]
        wait_until(lambda p=panel: p.apply_button.isEnabled() or p.plan is not None)
        applied = []
        if panel.apply_button.isEnabled():
            panel.apply_button.click()
            applied = wait(panel.applied)
        results = applied[0] if applied else []
        out[name] = {
            "notes": panel.notes.text(),
            "status": panel.status.text(),
            "done": [r.action.path for r in results if r.done],  # type: ignore[attr-defined]
            "failed": [r.error for r in results if not r.done],  # type: ignore[attr-defined]
        }
        dialog.close()  # type: ignore[attr-defined]
    print(json.dumps(out))
    app.quit()


if __name__ == "__main__":
    main()
