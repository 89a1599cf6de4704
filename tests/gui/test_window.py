"""The window on real caches, offscreen: the cause in the banner, repair by click, live watch,
cancel."""

from __future__ import annotations

import os
import subprocess
import threading

from PySide6.QtCore import Qt

from tests.harness.dists import write_wheel
from tests.harness.uvcache import clean_env
from uv_cache_inspector.core.model import Severity


def _install_as_user(unprivileged, cache, venv, index_url, package):
    return unprivileged.uv_cmd(
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index_url,
        package,
    )


def _banner_buttons(window):
    from PySide6.QtWidgets import QPushButton

    return {b.text(): b for b in window.banner.findChildren(QPushButton) if b.isVisible()}


def test_banner_names_the_cause_and_repair_fixes_it(
    qtbot, open_window, broken, unprivileged, index, dists_dir, monkeypatch
):
    cache, venv, _orphan = broken
    write_wheel(dists_dir, "after-gui-repair", "1.0")
    failed = _install_as_user(unprivileged, cache, venv, index.url, "after-gui-repair")
    assert failed.returncode != 0
    assert "Permission denied" in failed.stderr

    window = open_window(cache)
    title = window.banner.title.text()
    assert "archive-v0 belongs to root and uv runs as nobody" in title, title
    errors = [f for f in window.diagnosis.findings if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == ["foreign-owner"]
    buttons = _banner_buttons(window)
    assert "Repair…" in buttons
    assert any(t.startswith("Remove 1 orphaned temporary folder") for t in buttons), buttons
    # The entries below the root-owned folder say so.
    states = {r.state for r in window.entries.rows() if r.kind == "archive"}
    assert states == {"foreign owner"}

    # Click "Repair…" in the banner: the dialog shows the plan; Apply (this run is privileged).
    from uv_cache_inspector.gui.views.repair_dialog import RepairDialog

    shown: list[RepairDialog] = []
    monkeypatch.setattr(RepairDialog, "exec", lambda self: shown.append(self) or self.show())
    qtbot.mouseClick(buttons["Repair…"], Qt.MouseButton.LeftButton)
    (dialog,) = shown
    panel = dialog.panel
    qtbot.waitUntil(panel.apply_button.isEnabled, timeout=30_000)
    kinds = {(a.kind, a.path) for a in panel.plan.actions}
    assert ("chown", str(cache / "archive-v0")) in kinds
    with qtbot.waitSignal(panel.applied, timeout=60_000) as applied:
        qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert all(r.done for r in applied.args[0]), [r.error for r in applied.args[0]]
    assert panel.status.text().startswith("Done:")
    assert os.stat(cache / "archive-v0").st_uid == 65534
    dialog.close()

    # The window looks again by itself, and uv (as the user) installs again.
    with qtbot.waitSignal(window.inspected, timeout=60_000):
        pass
    assert not [f for f in window.diagnosis.findings if f.severity is Severity.ERROR]
    ok = _install_as_user(unprivileged, cache, venv, index.url, "after-gui-repair")
    assert ok.returncode == 0, ok.stderr


def test_orphan_button_opens_repair_for_the_orphan_only(qtbot, open_window, broken, monkeypatch):
    cache, _venv, orphan = broken
    window = open_window(cache)
    from uv_cache_inspector.gui.views.repair_dialog import RepairDialog

    shown: list[RepairDialog] = []
    monkeypatch.setattr(RepairDialog, "exec", lambda self: shown.append(self) or self.show())
    (button,) = [b for t, b in _banner_buttons(window).items() if t.startswith("Remove 1")]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    panel = shown[0].panel
    qtbot.waitUntil(lambda: panel.plan is not None, timeout=30_000)
    assert [(a.kind, a.path) for a in panel.plan.actions] == [("delete", str(orphan))]
    shown[0].close()


def test_watch_sees_a_real_install(qtbot, open_window, real_cache, uvr, dists_dir, world_tmp):
    window = open_window(real_cache)
    qtbot.waitUntil(lambda: window.watcher.active, timeout=5_000)  # started after the paint
    qtbot.waitUntil(lambda: window.status_watch.text().startswith("watching "), timeout=20_000)
    seen: list = []
    window.watcher.changed.connect(seen.extend)
    write_wheel(dists_dir, "watched-live", "1.0", n_modules=4)
    venv = uvr.venv(world_tmp / "watch-venv", real_cache)
    proc = subprocess.Popen(
        [
            uvr.uv,
            "pip",
            "install",
            "--cache-dir",
            str(real_cache),
            "--python",
            str(venv / "bin" / "python"),
            "--index-url",
            uvr.index_url,
            "watched-live",
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Qt's loop keeps running while uv works beside it.
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60_000)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    qtbot.waitUntil(
        lambda: any(
            e.event == "archive-added" and e.detail.get("package") == "watched-live" for e in seen
        ),
        timeout=20_000,
    )
    added = next(e for e in seen if e.event == "archive-added")
    # The row appears in the table (live, before any rescan) ...
    qtbot.waitUntil(lambda: window.entries.find(added.path) is not None, timeout=10_000)
    # ... and entries in the link buckets were seen too.
    assert any(e.event == "entry-added" for e in seen), [e.event for e in seen]
    # Temporary folders uv made came and went; none is left as "in progress".
    qtbot.waitUntil(
        lambda: not [r for r in window.entries.rows() if r.state == "in progress"],
        timeout=20_000,
    )


def test_a_long_scan_can_be_cancelled(qtbot, settings, real_cache, monkeypatch):
    """Cancel during the deep scan: the real scan generator stops at its next check, the
    window says so, and nothing of the stopped run is shown.

    The scan is held (after its first progress report, inside the real generator) until the
    Cancel button has been pressed, so the test does not depend on how fast this disk is.
    """
    from uv_cache_inspector.core.cache import scan as scan_mod
    from uv_cache_inspector.gui.main_window import MainWindow

    real_scan = scan_mod.scan
    pressed = threading.Event()

    def held_scan(*args, **kwargs):
        gen = real_scan(*args, **kwargs)
        while True:
            p = next(gen)
            yield p
            if p.total:  # the walk has started
                break
        assert pressed.wait(30)
        return (yield from gen)

    monkeypatch.setattr(scan_mod, "scan", held_scan)
    window = MainWindow(str(real_cache), settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.cancel_button.isVisible, timeout=10_000)
    qtbot.waitUntil(lambda: window.progress.maximum() > 0, timeout=30_000)  # in the deep scan
    with qtbot.waitSignal(window.inspected, timeout=30_000):
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
        pressed.set()
    assert "cancelled" in window.banner.title.text().lower()
    assert window.inventory is None and window.entries.rowCount() == 0
    assert not window.cancel_button.isVisible()
    window.close()


def test_empty_state_when_uv_has_no_cache_yet(qtbot, open_window, world_tmp):
    missing = world_tmp / "no cache here"
    window = open_window(missing)
    assert window.stack.currentWidget() is window.empty
    assert "uv has not created a cache at" in window.empty_title.text()
    assert "no cache here" in window.empty_title.text()


def test_not_a_cache_is_refused_in_plain_words(qtbot, open_window, world_tmp):
    folder = world_tmp / "my documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("keep me")
    window = open_window(folder)
    assert window.banner.title.text() == "This folder is not a uv cache."
    assert (folder / "thesis.txt").read_text() == "keep me"


def test_menu_adds_the_app_to_the_application_menu(
    qtbot, open_window, real_cache, tmp_path, monkeypatch, message_boxes
):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    window = open_window(real_cache)
    assert window.act_shortcut.text().replace("&", "") == "Add to the application menu"
    window.act_shortcut.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=20_000)
    kind, text = message_boxes[-1]
    assert kind == "information" and "wrote 10 files" in text
    entry = tmp_path / ".local/share/applications/io.github.uvci.UvCacheInspector.desktop"
    assert entry.is_file()
    from uv_cache_inspector.core.platform import shortcut

    shortcut.uninstall()
    assert not entry.exists()
