"""Tools → Verify contents, offscreen, on a cache with an edit that leaked in from a venv: the
dialog names the file and its links, the window then says "modified", and the fix applies."""

from __future__ import annotations

import os
import time

from PySide6.QtGui import QImage

from tests.e2e.test_verify_edits import _edit_in_place, _site


def test_verify_from_the_tools_menu_finds_the_edit_and_fixes_it(
    qtbot, open_window, real_cache, uvr, world_tmp, monkeypatch
):
    monkeypatch.setenv("UVCI_STATE_DIR", str(world_tmp / "state"))
    monkeypatch.setenv("UVCI_JOURNAL_DIR", str(world_tmp / "journal"))
    venv = uvr.venv(world_tmp / "venv", real_cache)
    uvr.pip_install(real_cache, venv, ["gamma-native"])
    _edit_in_place(_site(venv) / "gamma_native" / "m1.py")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))

    window = open_window(real_cache)
    from uv_cache_inspector.gui.views.verify_dialog import VerifyDialog

    shown: list[VerifyDialog] = []
    monkeypatch.setattr(VerifyDialog, "exec", lambda self: shown.append(self) or self.show())
    assert window.act_verify in window.menuBar().actions()[1].menu().actions()
    window.act_verify.trigger()
    (dlg,) = shown
    with qtbot.waitSignal(window.inspected, timeout=60_000):  # verify, then the window looks again
        qtbot.waitUntil(lambda: dlg.report is not None, timeout=60_000)
    assert [(m.label(), f.path, f.links) for m, f in dlg.model.items] == [
        ("gamma-native 0.1", "gamma_native/m1.py", 2)
    ]
    assert dlg.model.data(dlg.model.index(0, 4)) == str(venv)  # "Also in"
    assert dlg.fix.isVisible() and dlg.panel.apply_button.isEnabled()
    assert "--reinstall-package gamma-native" in dlg.commands.toPlainText()
    shot = world_tmp / "verify-dialog.png"
    assert dlg.grab().save(str(shot))
    image = QImage(str(shot))
    assert image.width() >= 900 and image.height() >= 600

    # The window: the banner names it, the row says "modified", the details list the file.
    assert "An edit leaked into the cache: gamma-native 0.1" in window.banner.title.text()
    (m,) = dlg.report.modified
    rows = [r for r in window.entries.rows() if r.key == m.path]
    assert [r.state for r in rows] == ["modified"]
    findings = window.inventory.findings_for(m.path)
    assert any("gamma_native/m1.py modified" in f.message for f in findings)

    # The fix, then the window looks again and the cache is clean.
    with qtbot.waitSignal(dlg.panel.applied, timeout=60_000):
        dlg.panel.apply_button.click()
    assert not os.path.exists(m.path)
    with qtbot.waitSignal(window.inspected, timeout=60_000):
        pass
    assert "modified-archive" not in {f.code for f in window.diagnosis.findings}
    dlg.close()


def test_cancel_stops_the_verify(qtbot, real_cache, world_tmp, monkeypatch):
    monkeypatch.setenv("UVCI_STATE_DIR", str(world_tmp / "state"))
    from uv_cache_inspector.core.cache.scan import run_scan
    from uv_cache_inspector.gui.views import verify_dialog

    snap = run_scan(str(real_cache))
    started = []
    real_verify = verify_dialog.verify

    def slow_start(*args, **kw):
        gen = real_verify(*args, **kw)
        for p in gen:
            yield p
            if p.phase == "verifying":
                started.append(p)
                # Hold here until the dialog's Cancel has been pressed (the event under test).
                while not kw["cancel"].cancelled():
                    time.sleep(0.01)

    monkeypatch.setattr(verify_dialog, "verify", slow_start)
    dlg = verify_dialog.VerifyDialog(snap)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: bool(started), timeout=30_000)
    dlg.cancel_button.click()
    qtbot.waitUntil(dlg.again.isVisible, timeout=30_000)
    assert dlg.status.text() == "Cancelled; nothing was remembered."
    assert dlg.report is None
    assert not (world_tmp / "state").exists()
