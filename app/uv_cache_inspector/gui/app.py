"""`uv-cache-inspector [--cache-dir PATH] [--screenshot FILE]`: the desktop app.

--screenshot opens the window on the cache, waits for the first full scan and diagnosis, saves a
PNG of the window and exits (for the README and smoke tests). Without a display it says what to
do instead of failing inside Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from uv_cache_inspector.core.walk import WORKER_FLAG

    if argv[:1] == [WORKER_FLAG]:  # a frozen build's scan worker (core/workers.py)
        from uv_cache_inspector.core.walk import worker_main

        worker_main()
        return 0
    from uv_cache_inspector.core.probe import CLI_FLAG

    if argv[:1] == [CLI_FLAG]:  # a frozen build re-running its command line (core/probe.py)
        from uv_cache_inspector.cli import main as cli_main

        return cli_main(argv[1:])
    args = _parse(argv)
    if _no_display():
        print(
            "uv-cache-inspector: no display found. Use the command line instead "
            "(`uvci doctor`, `uvci scan`), or set QT_QPA_PLATFORM=offscreen to render "
            "without a screen (with --screenshot FILE).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtCore import QTimer
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
    if args.screenshot:
        # A picture for the README or a smoke test is not a session of the user's: keep their
        # window geometry and recent caches out of it.
        import tempfile

        from PySide6.QtCore import QSettings

        scratch = tempfile.mkdtemp(prefix="uvci-shot-")
        settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(args.cache_dir, settings=settings)
    if args.screenshot:
        w, _, h = args.size.partition("x")
        window.resize(int(w), int(h))
        window.show()
        code = {"value": 1}

        def shoot() -> None:
            ok = window.grab().save(args.screenshot)
            code["value"] = 0 if ok else 1
            app.quit()

        def when_settled(waited: int = 0) -> None:
            # The live watch starts just after the first paint: show it started, as a user sees.
            if window.status_watch.text().startswith("starting") and waited < 3000:
                QTimer.singleShot(100, lambda: when_settled(waited + 100))
            else:
                QTimer.singleShot(200, shoot)

        window.inspected.connect(when_settled)
        QTimer.singleShot(int(args.timeout * 1000), app.quit)
        app.exec()
        window.close()
        if code["value"] != 0:
            print(f"uv-cache-inspector: could not save {args.screenshot}", file=sys.stderr)
        return code["value"]
    window.show()
    return app.exec()
