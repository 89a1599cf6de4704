"""The window as a tired user reads it (issue 14): no cache, a file for a cache, fixes said in the
window's words with a button where the fix is ours, details that follow a rescan."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.model import Finding, Severity
from uv_cache_inspector.gui.views.banner import headline
from uv_cache_inspector.gui.views.repair_dialog import intro_text
from uv_cache_inspector.gui.wording import fix_kind, window_fix


def _modal_to_shown(monkeypatch, cls, drive=None):  # type: ignore[no-untyped-def]
    """cls.exec() shows the dialog and returns (after `drive(dialog)`), recording it."""
    shown: list = []

    def exec_(self):  # type: ignore[no-untyped-def]
        shown.append(self)
        self.show()
        if drive is not None:
            drive(self)
        return 0

    monkeypatch.setattr(cls, "exec", exec_)
    return shown


def test_no_cache_greys_out_what_needs_one(open_window, world_tmp):
    window = open_window(world_tmp / "no cache here")
    assert window.stack.currentWidget() is window.empty
    assert [a.isEnabled() for a in window.cache_actions] == [False] * 5
    assert window.act_explain.isEnabled() and window.act_shortcut.isEnabled()
    # No empty boxes in the status bar: only what has something to say.
    assert not window.status_lock.isVisible()
    assert not window.status_size.isVisible()
    assert not window.status_watch.isVisible()
    assert window.status_uv.isVisible() and window.status_uv.text().startswith("uv ")


def test_a_file_where_the_cache_should_be(open_window, world_tmp):
    path = world_tmp / "cache"
    path.write_text("not a folder")
    window = open_window(path)
    assert window.stack.currentWidget() is window.empty
    assert window.empty_title.text() == f"{path} is a file, not a cache folder"
    assert "has not created" not in window.empty_title.text()
    assert not any(a.isEnabled() for a in window.cache_actions)


def test_fixes_in_the_windows_words_beside_their_buttons(open_window, broken, monkeypatch):
    cache, _venv, _orphan = broken
    window = open_window(cache)
    texts = [w.text() for w in window.banner.findChildren(type(window.banner.title))]
    assert any("Fix: Repair… gives the folders back to nobody" in t for t in texts), texts
    assert not [t for t in texts if "`uvci" in t], texts
    from uv_cache_inspector.gui.views.findings_dialog import FindingsDialog

    shown = _modal_to_shown(monkeypatch, FindingsDialog)
    window.open_findings()
    from PySide6.QtWidgets import QTextBrowser

    (view,) = shown[0].findChildren(QTextBrowser)
    assert "`uvci" not in view.toPlainText()
    assert "Repair…" in view.toPlainText()
    shown[0].close()


def test_a_leftover_is_not_called_a_danger(open_window, nobody_cache):
    orphan = nobody_cache / ".tmpLeft0ver"
    orphan.mkdir()
    (orphan / "half.py").write_text("x")
    old = time.time() - 3 * 3600
    for p in (orphan / "half.py", orphan):
        os.chown(p, 65534, 65534)
        os.utime(p, (old, old))
    window = open_window(nobody_cache)
    title = window.banner.title.text()
    assert title == (
        "uv can use this cache. 1 temporary folder left by an interrupted uv run can go."
    ), title
    # Its Repair says what it is for: tidying, not giving uv its cache back.
    orphans = [f for f in window.diagnosis.findings if f.code == "orphaned-tmp"]
    text = intro_text(orphans, "nobody")
    assert "uv can already use the cache" in text and "use the cache again" not in text


def test_headline_counts_and_plurals():
    def f(code, sev=Severity.WARNING):  # type: ignore[no-untyped-def]
        return Finding(code, sev, f"/c/{code}", "m", None)

    assert headline([f("orphaned-tmp"), f("orphaned-tmp")])[1] == (
        "uv can use this cache. 2 temporary folders left by interrupted uv runs can go."
    )
    assert headline([f("network-filesystem")])[1] == "uv works, but 1 thing here can break it."
    assert headline([f("network-filesystem"), f("cache-in-tmp"), f("orphaned-tmp")])[1] == (
        "uv works, but 2 things here can break it. (1 temporary folder left by an "
        "interrupted uv run can go.)"
    )


def test_every_fix_the_window_applies_is_said_without_uvci():
    for code in sorted(F.REPAIRABLE | F.PRUNABLE | {F.LOW_DISK_SPACE}):
        f = Finding(
            code,
            Severity.WARNING,
            "/c/archive-v0",
            "m",
            f"Run `uvci repair` ({code})",
            {"uv_uid": 1000, "uv_user": "ann", "group": "devs"},
        )
        text = window_fix(f) or ""
        assert "uvci" not in text and text, (code, text)
    # Explain's reading of an old error number: nothing to repair now, no button.
    hint = Finding(
        "permission-denied",
        Severity.WARNING,
        "/c/x",
        "m",
        "Run `uvci test-write` to replay uv's write",
        {"errno": 13, "operation": "rename"},
    )
    assert fix_kind(hint) is None
    assert "Test write…" in (window_fix(hint) or "")
    # A fix outside the app keeps the core's words.
    other = Finding("open-file-limit", Severity.WARNING, "/c", "m", "`ulimit -n 4096`")
    assert window_fix(other) == "`ulimit -n 4096`" and fix_kind(other) is None


def test_explain_offers_fix_it_and_it_opens_repair(qtbot, open_window, broken, monkeypatch):
    cache, _venv, _orphan = broken
    window = open_window(cache)
    real = os.path.realpath(cache)
    QGuiApplication.clipboard().setText(
        "error: Failed to download `six==1.17.0`\n"
        "  cause: Failed to write to the distribution cache\n"
        f"  cause: failed to rename file from {real}/.tmpYCueGN to "
        f"{real}/archive-v0/-RwqJGO4xNlt3iJm: Permission denied (os error 13)"
    )
    from uv_cache_inspector.gui.views.explain_dialog import ExplainDialog
    from uv_cache_inspector.gui.views.repair_dialog import RepairDialog

    def click_fix(dlg):  # type: ignore[no-untyped-def]
        qtbot.waitUntil(dlg.fix_button.isVisible, timeout=30_000)
        assert dlg.fix_button.text() == "Fix it: Repair…"
        assert "`uvci" not in dlg.output.toPlainText()
        qtbot.mouseClick(dlg.fix_button, Qt.MouseButton.LeftButton)

    explained = _modal_to_shown(monkeypatch, ExplainDialog, click_fix)
    repairs = _modal_to_shown(monkeypatch, RepairDialog)
    window.open_explain()
    assert explained and not explained[0].isVisible()  # closed by Fix it
    (repair,) = repairs
    qtbot.waitUntil(lambda: repair.panel.plan is not None, timeout=30_000)
    assert [(a.kind, a.path) for a in repair.panel.plan.actions] == [
        ("chown", str(cache / "archive-v0"))
    ]
    # Close, not only the window manager's cross.
    buttons = {b.text().replace("&", "") for b in explained[0].findChildren(QPushButton)}
    assert "Close" in buttons
    repair.close()


def test_test_write_offers_fix_it_after_a_refused_step(qtbot, open_window, broken, monkeypatch):
    cache, _venv, _orphan = broken
    window = open_window(cache)
    from uv_cache_inspector.gui.views.repair_dialog import RepairDialog
    from uv_cache_inspector.gui.views.testwrite_dialog import TestWriteDialog

    seen: dict = {}

    def run_then_fix(dlg):  # type: ignore[no-untyped-def]
        assert not dlg.fix_button.isVisible()
        qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: dlg.outcome.text().startswith(("The write", "Every", "Could")), timeout=120_000
        )
        seen["outcome"] = dlg.outcome.text()
        seen["why"] = dlg.why.toPlainText()
        failed = next(s for s in dlg.steps if not s.ok)
        seen["error"] = failed.error
        qtbot.waitUntil(dlg.fix_button.isVisible, timeout=5_000)
        qtbot.mouseClick(dlg.fix_button, Qt.MouseButton.LeftButton)

    _modal_to_shown(monkeypatch, TestWriteDialog, run_then_fix)
    repairs = _modal_to_shown(monkeypatch, RepairDialog)
    window.open_test_write()
    assert seen["outcome"].startswith("The write fails at rename"), seen
    # uv's whole message is there, not its first line cut at the column's edge.
    assert (seen["error"] or "").strip() in seen["why"]
    (repair,) = repairs
    qtbot.waitUntil(lambda: repair.panel.plan is not None, timeout=30_000)
    assert ("chown", str(cache / "archive-v0")) in [
        (a.kind, a.path) for a in repair.panel.plan.actions
    ]
    repair.close()


def test_details_follow_the_cache_after_a_delete(qtbot, open_window, real_cache, monkeypatch):
    window = open_window(real_cache)
    rows = window.entries.rows()
    archive = next(r for r in rows if r.kind == "archive" and r.referrers)
    link = next(r for r in rows if r.key in archive.referrers)
    from PySide6.QtWidgets import QDialog

    dialogs = _modal_to_shown(monkeypatch, QDialog)
    window.entry_filter.set_group("")
    window.table.setCurrentIndex(window.entries.index(window.entries.position(link.key), 0))
    window.table.selectRow(window.entries.position(link.key))
    window.delete_selected()
    (dlg,) = dialogs
    from uv_cache_inspector.gui.views.plan_view import PlanPanel

    (panel,) = dlg.findChildren(PlanPanel)
    # The archive is what the user looks at while the link goes.
    window.table.setCurrentIndex(window.entries.index(window.entries.position(archive.key), 0))
    assert os.path.relpath(link.key, os.path.realpath(real_cache)) in window.details.toPlainText()
    before = window.inspected
    with qtbot.waitSignal(panel.applied, timeout=30_000):
        qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(before, timeout=60_000):
        pass  # the window looks again after applying
    qtbot.waitUntil(lambda: window.details.key == archive.key, timeout=5_000)
    assert not os.path.lexists(link.key)
    shown = window.details.toPlainText()
    assert os.path.relpath(link.key, os.path.realpath(real_cache)) not in shown, shown
    dlg.close()


def test_prune_counts_days_in_days(qtbot, open_window, real_cache, monkeypatch):
    window = open_window(real_cache)
    from uv_cache_inspector.gui.views.prune_dialog import PruneDialog

    shown = _modal_to_shown(monkeypatch, PruneDialog)
    window.open_prune()
    assert shown[0].age.text() == "90 days"
    from PySide6.QtWidgets import QLabel

    notes = [w.text() for w in shown[0].findChildren(QLabel)]
    assert any("uv cache prune` prints the files' lengths" in t for t in notes), notes
    shown[0].close()


def test_long_versions_are_not_cut(open_window, real_cache):
    from dataclasses import replace

    from uv_cache_inspector.gui.models.entries import COL_VERSION

    window = open_window(real_cache)
    rows = window.entries.rows()
    long_version = "2026.10.31.post1+local.7"
    rows = [*rows[1:], replace(rows[0], version=long_version)]
    window._fit_version_column(rows)
    width = window.table.horizontalHeader().sectionSize(COL_VERSION)
    assert width > window.fontMetrics().horizontalAdvance(long_version), width
