"""`uv-cache-inspector [--cache-dir PATH] [--screenshot FILE]`: the desktop app.

--screenshot opens the window on the cache, waits for the first full scan and diagnosis, saves a
PNG of the window and exits (for the README and smoke tests). Without a display, or on an X11
display where Qt's xcb plugin lacks system libraries (gui/native_libs.py), it says what to do
instead of failing inside Qt (which aborts the process).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import Any


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="uv-cache-inspector",
        description="uv Cache Inspector: see what is inside uv's cache, "
        "find out why it broke, fix it safely.",
    )
    p.add_argument("--cache-dir", metavar="PATH", help="the cache to open (default: uv's own)")
    p.add_argument(
        "--screenshot",
        metavar="FILE",
        help="save a PNG of the window once the cache is read, then exit",
    )
    p.add_argument("--size", default="1280x820", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=300, help=argparse.SUPPRESS)
    return p.parse_args(list(argv))


def _no_display() -> bool:
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Unexpected errors in the app end here, in a dialog, not in a terminal nobody reads."""
    text = "".join(traceback.format_exception(kind, exc, tb))
    sys.stderr.write(text)
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            box = QMessageBox(
                QMessageBox.Icon.Critical, "uv Cache Inspector", f"Something went wrong: {exc}"
            )
            box.setDetailedText(text)
            box.exec()
    except Exception as again:  # never fail while reporting a failure
        sys.stderr.write(f"(and the error dialog failed too: {again})\n")


def tune_interpreter() -> None:
    """Hand the interpreter to the GUI thread sooner. Work threads (scan merging, the watch)
    run Python too; each time the GUI thread comes back from Qt it waits for them to let go,
    by default up to 5 ms, several times per event: that was the window's worst stall."""
    sys.setswitchinterval(0.0005)


def display_problem() -> str | None:
    """Why the window cannot open here (no display; Qt's xcb plugin short of libraries), in
    words for the terminal, before Qt gets the chance to abort; None when it can."""
    if _no_display():
        return (
            "uv-cache-inspector: no display found. Use the command line instead "
            "(`uvci doctor`, `uvci scan`), or set QT_QPA_PLATFORM=offscreen to render "
            "without a screen (with --screenshot FILE)."
        )
    from uv_cache_inspector.gui import native_libs

    return native_libs.check()


def open_window(cache_dir: str | None, *, scratch_settings: bool = False) -> tuple[Any, Any]:
    """The application and its main window (not shown yet). With scratch_settings the window
    keeps its geometry and recent caches in a throw-away file, not in the user's settings."""
    from PySide6.QtWidgets import QApplication

    from uv_cache_inspector.gui.main_window import MainWindow
    from uv_cache_inspector.gui.style import app_icon

    tune_interpreter()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "uvci"])
    assert isinstance(app, QApplication)
    app.setApplicationName("uv Cache Inspector")
    app.setOrganizationName("uv-cache-inspector")
    app.setDesktopFileName("io.github.uvci.UvCacheInspector")
    app.setWindowIcon(app_icon())
    sys.excepthook = _excepthook
    settings = None
    if scratch_settings:
        import tempfile

        from PySide6.QtCore import QSettings

        scratch = tempfile.mkdtemp(prefix="uvci-shot-")
        settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)
    return app, MainWindow(cache_dir, settings=settings)


def screenshot(
    app: Any, window: Any, path: str, *, timeout: float = 300, inspected: bool = False
) -> int:
    """Save a PNG of `window` once it has inspected its cache (at once when `inspected`) and
    the live watch has started; 0 when the file was written."""
    from PySide6.QtCore import QTimer

    code = {"value": 1}

    def shoot() -> None:
        ok = window.grab().save(path)
        code["value"] = 0 if ok else 1
        app.quit()

    def when_settled(waited: int = 0) -> None:
        # The live watch starts just after the first paint: show it started, as a user sees.
        if window.status_watch.text().startswith("starting") and waited < 3000:
            QTimer.singleShot(100, lambda: when_settled(waited + 100))
        else:
            QTimer.singleShot(200, shoot)

    if inspected:
        QTimer.singleShot(0, when_settled)
    else:
        window.inspected.connect(when_settled)
    QTimer.singleShot(int(timeout * 1000), app.quit)
    app.exec()
    if code["value"] != 0:
        print(f"uv-cache-inspector: could not save {path}", file=sys.stderr)
    return code["value"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0].startswith("--uvci-"):  # a child of this program (core/selfexec.py)
        from uv_cache_inspector.entry import run_child

        child = run_child(argv)
        if child is not None:
            return child
        from uv_cache_inspector.cli import main as cli_main

        return cli_main(argv[1:])  # CLI_FLAG: the command line (the elevated helper, a frozen app)
    args = _parse(argv)
    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    # A picture for the README or a smoke test is not a session of the user's: keep their
    # window geometry and recent caches out of it.
    app, window = open_window(args.cache_dir, scratch_settings=bool(args.screenshot))
    if args.screenshot:
        w, _, h = args.size.partition("x")
        window.resize(int(w), int(h))
        window.show()
        code = screenshot(app, window, args.screenshot, timeout=args.timeout)
        window.close()
        return code
    window.show()
    return int(app.exec())
