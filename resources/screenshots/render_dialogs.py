"""Render the main window and every dialog to PNGs, for a person to look at before a release.

    uv run python resources/screenshots/make_screenshots.py --dialogs DIR

(make_screenshots.py builds the caches with real uv, then runs this on them, offscreen unless
DISPLAY is set and QT_QPA_PLATFORM is not.) Each dialog is opened the way the window opens it,
left to finish its work (plan, test write, report), then grabbed. The "no password prompt"
state of Repair is rendered as a non-root user without pkexec sees it; to get there it changes
the copy of the broken cache (the orphaned folder is removed), so it comes last.

    python render_dialogs.py BROKEN_CACHE HEALTHY_CACHE OUT_DIR
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))

# A uv 0.13 message, shaped as uv prints it (tests/core/test_explain.py), with the paths of the
# cache rendered here.
UV_ERROR = (
    "error: Failed to download `six==1.17.0`\n"
    "  cause: Failed to write to the distribution cache\n"
    "  cause: failed to rename file from {root}/.tmpYCueGN to "
    "{root}/archive-v0/-RwqJGO4xNlt3iJm: Permission denied (os error 13)"
)


def wait(condition: Callable[[], object], what: str, timeout: float = 180) -> None:
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        QTest.qWait(20)


def main(broken: str, healthy: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from uv_cache_inspector.gui import app as gui_app

    qapp, window = gui_app.open_window(broken, scratch_settings=True)
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton

    shown: list[QDialog] = []

    def not_modal(self: QDialog) -> int:
        shown.append(self)
        self.show()
        return 0

    QDialog.exec = not_modal  # type: ignore[method-assign]
    boxes: list[str] = []
    QMessageBox.information = lambda *a, **_k: boxes.append(str(a[2]))  # type: ignore[assignment]

    def save(widget: Any, name: str) -> None:
        QTest.qWait(50)
        widget.grab().save(str(out / f"{name}.png"))
        print(f"wrote {out / name}.png")

    inspections = [0]
    window.inspected.connect(lambda: inspections.__setitem__(0, inspections[0] + 1))

    def inspected(after: int) -> None:
        wait(lambda: inspections[0] > after, "an inspection")
        wait(lambda: not window.status_watch.text().startswith("starting"), "the watch")

    window.resize(1280, 820)
    window.show()
    inspected(0)
    save(window, "main-broken")

    def last_dialog() -> Any:
        return shown[-1]

    window.open_repair(None)
    dlg = last_dialog()
    wait(lambda: dlg.panel.plan is not None, "the repair plan")
    save(dlg, "repair-all")
    dlg.close()

    orphan = next(b for b in window.banner.findChildren(QPushButton) if "orphaned" in b.text())
    QTest.mouseClick(orphan, Qt.MouseButton.LeftButton)
    dlg = last_dialog()
    wait(lambda: dlg.panel.plan is not None, "the orphan plan")
    save(dlg, "repair-tmp-only")
    dlg.close()

    window.open_prune()
    dlg = last_dialog()
    wait(lambda: dlg.full is not None, "the prune plan")
    save(dlg, "prune")
    dlg.close()

    # Delete on a link in a wheels bucket.
    link = next(i for i, r in enumerate(window.entries.rows()) if r.kind == "entry")
    window.tree.setCurrentIndex(window.tree_model.find(""))
    window.filter.setText(window.entries.rows()[link].key.rsplit("/", 1)[-1])
    wait(lambda: window.entries.rowCount() > 0, "the filtered row")
    window.table.selectRow(0)
    save(window, "main-selected-link")
    window.delete_selected()
    dlg = last_dialog()
    save(dlg, "delete")
    dlg.close()
    window.filter.clear()

    window.open_test_write()
    dlg = last_dialog()
    QTest.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
    wait(dlg.run_button.isEnabled, "the test write", timeout=300)
    save(dlg, "test-write")
    dlg.close()

    QGuiApplication.clipboard().setText(UV_ERROR.format(root=os.path.realpath(broken)))
    window.open_explain()
    dlg = last_dialog()
    wait(lambda: dlg.fix_button.isVisible() or "No uv failure" in dlg.output.toPlainText(), "x")
    save(dlg, "explain")
    dlg.close()

    window.open_report()
    dlg = last_dialog()
    wait(lambda: dlg.text.toPlainText() != "Writing the report…", "the report")
    save(dlg, "report")
    dlg.close()

    window.open_findings()
    save(last_dialog(), "findings")
    last_dialog().close()

    # As a user without pkexec sees Repair: Apply does the user's part, then the command.
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.gui.views import plan_view

    real_geteuid = os.geteuid
    plan_view.os.geteuid = lambda: 65534  # type: ignore[attr-defined]
    elevate.choose = lambda *_a, **_k: "none"  # type: ignore[assignment]
    window.open_repair(None)
    dlg = last_dialog()
    wait(lambda: dlg.panel.plan is not None, "the repair plan")
    save(dlg, "repair-no-pkexec-plan")
    QTest.mouseClick(dlg.panel.apply_button, Qt.MouseButton.LeftButton)
    wait(lambda: dlg.panel.status.text().startswith("Done"), "the user's part")
    save(dlg, "repair-no-pkexec-applied")
    dlg.close()
    plan_view.os.geteuid = real_geteuid  # type: ignore[attr-defined]

    n = inspections[0]
    window.open_cache(healthy)
    inspected(n)
    save(window, "main-healthy")

    n = inspections[0]
    window.open_cache(str(Path(broken).parent / "no cache here"))
    wait(lambda: inspections[0] > n, "the empty state")
    save(window, "main-no-cache")
    print(
        "Tools enabled without a cache:", [a.text() for a in window.cache_actions if a.isEnabled()]
    )
    file_cache = Path(broken).parent / "cache-is-a-file"
    file_cache.write_text("not a folder")
    n = inspections[0]
    window.open_cache(str(file_cache))
    wait(lambda: inspections[0] > n, "the file state")
    save(window, "main-file-as-cache")
    print("message boxes:", boxes)
    window.close()
    qapp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
