"""`uv-cache-inspector`: opens the desktop app."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="uv-cache-inspector", description="uv Cache Inspector")
    p.add_argument("--cache-dir", metavar="PATH", help="the cache to open")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window and exit")
    return p.parse_args(list(argv))


def _no_display() -> bool:
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from uv_cache_inspector.core.walk import WORKER_FLAG

    if argv[:1] == [WORKER_FLAG]:
        from uv_cache_inspector.core.walk import worker_main

        worker_main()
        return 0
    args = _parse(argv)
    if _no_display():
        print(
            "uv-cache-inspector: no display found. Use the command line instead "
            "(`uvci doctor`, `uvci scan`), or set QT_QPA_PLATFORM=offscreen to render "
            "without a screen (with --screenshot FILE).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel(f"uv Cache Inspector: {args.cache_dir or 'default cache'}")
    label.resize(480, 120)
    label.show()
    if args.screenshot:
        app.processEvents()
        label.grab().save(args.screenshot)
        return 0
    return app.exec()
