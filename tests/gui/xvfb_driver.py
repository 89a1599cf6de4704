"""Run by test_real_display.py on a real X server: the app as it starts (its display check, its
QApplication on the xcb platform, its window), Repair clicked in the banner and applied in the
modal dialog (QTest on the live window), then the app's own screenshot and a grab of the X
screen. Prints one JSON object of what it saw.

    python tests/gui/xvfb_driver.py CACHE WINDOW_PNG SCREEN_PNG
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

TIMEOUT_S = 180


def wait(condition: Callable[[], object], what: str) -> None:
    """Process events until `condition` holds (the event, not a duration)."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {TIMEOUT_S} s for {what}")
        QTest.qWait(20)


def main(cache: str, window_png: str, screen_png: str) -> int:
    from uv_cache_inspector.gui import app as gui_app

    problem = gui_app.display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 3
    qapp, window = gui_app.open_window(cache, scratch_settings=True)
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton

    errors: list[str] = []
    # An exception in a slot would open the app's error dialog and wait for a click: record it.
    sys.excepthook = lambda *exc: errors.append("".join(traceback.format_exception(*exc)))
    seen: dict[str, Any] = {"platform": qapp.platformName()}
    inspections = [0]
    window.inspected.connect(lambda: inspections.__setitem__(0, inspections[0] + 1))
    window.resize(1280, 820)
    window.show()
    wait(lambda: inspections[0] >= 1, "the first inspection")
    seen["before"] = window.banner.title.text()
    buttons = {b.text(): b for b in window.banner.findChildren(QPushButton) if b.isVisible()}
    seen["buttons"] = sorted(buttons)

    def in_the_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not hasattr(dialog, "panel"):
            QTimer.singleShot(20, in_the_dialog)  # not shown yet
            return
        try:
            seen["dialog"] = dialog.windowTitle()
            panel = dialog.panel
            wait(panel.apply_button.isEnabled, "the repair plan")
            seen["plan"] = [[a.kind, a.path] for a in panel.plan.actions]
            applied: list[Any] = []
            panel.applied.connect(applied.append)
            QTest.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
            wait(lambda: applied, "the repair to be applied")
            seen["results"] = [[r.action.kind, r.done, r.error] for r in applied[0]]
            seen["status"] = panel.status.text()
        except Exception:
            errors.append(traceback.format_exc())
        box = dialog.findChild(QDialogButtonBox)
        close = box.button(QDialogButtonBox.StandardButton.Close) if box else None
        if close is not None:
            QTest.mouseClick(close, Qt.MouseButton.LeftButton)
        else:
            dialog.reject()

    QTimer.singleShot(0, in_the_dialog)
    before = inspections[0]
    # The dialog is modal: the click returns once it has been closed.
    QTest.mouseClick(buttons["Repair…"], Qt.MouseButton.LeftButton)
    wait(lambda: inspections[0] > before, "the window to look again after the repair")
    seen["after"] = window.banner.title.text()
    wait(lambda: not window.status_watch.text().startswith("starting"), "the live watch")
    QApplication.processEvents()  # every pending paint reaches the X server
    banner = window.banner.mapToGlobal(QPoint(0, 0))
    seen["banner_on_screen"] = [banner.x(), banner.y(), window.banner.width()]
    # What the X server shows (not what Qt drew for itself): the root window, read back.
    seen["screen_saved"] = bool(qapp.primaryScreen().grabWindow(0).save(screen_png))
    # Then the app's own --screenshot routine (it quits the event loop, which closes windows).
    code = gui_app.screenshot(qapp, window, window_png, inspected=True)
    seen["errors"] = errors
    window.close()
    print(json.dumps(seen))
    return code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
