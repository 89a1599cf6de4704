"""Watch latency: how long after uv puts a package into the cache the watch reports it, and the
window shows it, during a burst of real installs.

    uv run python tests/benchmarks/bench_watch.py [--installs 40] [--batch 40]

A cache real uv wrote (the large benchmark cache if built, else a small one) is watched by:
  - the core watcher (what `uvci watch` prints), with its default 0.25 s batching;
  - the app's window (offscreen), whose table gets the row.
Real uv then installs generated packages: first `--installs` separate `uv pip install` runs back to
back, then one run installing `--batch` packages at once. For every new archive the latency is
measured from the moment uv renamed it into archive-v0 (its ctime) to the moment it was reported
(core) or its row was in the table (app); and from the end of the uv process that installed it
(a row may appear before uv exits: then 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import WORK, save, uv_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.harness.dists import write_wheel
from tests.harness.index import PackageIndex
from tests.harness.uvcache import UvRun, clean_env


def _summary(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {}
    xs = sorted(xs)
    return {
        "n": len(xs),
        "median_ms": round(statistics.median(xs) * 1000, 1),
        "p90_ms": round(xs[int(0.9 * (len(xs) - 1))] * 1000, 1),
        "max_ms": round(xs[-1] * 1000, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--installs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=40)
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from uv_cache_inspector.core.watch import CacheWatcher
    from uv_cache_inspector.gui.app import tune_interpreter
    from uv_cache_inspector.gui.main_window import MainWindow

    work = WORK / "watch"
    shutil.rmtree(work, ignore_errors=True)
    dists = work / "dists"
    names = [f"watched{i:04d}" for i in range(args.installs + args.batch)]
    for name in [*names, "watchedwarm"]:
        write_wheel(dists, name, "1.0", n_modules=20, payload=400)
    python = shutil.which(f"python{sys.version_info[0]}.{sys.version_info[1]}") or sys.executable
    cache = work / "cache"

    tune_interpreter()
    app = QApplication([])
    core_seen: dict[str, float] = {}
    gui_seen: dict[str, float] = {}

    def on_batch(batch: list) -> None:
        now = time.time()
        for ev in batch:
            if ev.event == "archive-added":
                core_seen.setdefault(ev.path, now)

    with PackageIndex(dists) as index:
        uvr = UvRun(uv_binary(), index.url, python)
        venv = work / "venv"
        uvr.venv(venv, cache)
        uvr.pip_install(cache, venv, ["watchedwarm"])  # makes the buckets
        watcher = CacheWatcher(str(cache), on_batch)
        watcher.start()
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(str(cache), settings=settings)
        window.resize(1280, 820)
        window.show()
        loop = QEventLoop()
        window.inspected.connect(loop.quit)
        loop.exec()
        # The window's watch is set up just after the first paint: wait until it says so.
        deadline = time.monotonic() + 20
        while not window.status_watch.text().startswith("watching"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the window's watch did not start: {window.status_watch.text()}")
            ready = QEventLoop()
            QTimer.singleShot(50, ready.quit)
            ready.exec()

        def on_rows(_parent: object, first: int, last: int) -> None:
            now = time.time()
            for i in range(first, last + 1):
                row = window.entries.row_at(i)
                if row is not None and row.kind == "archive":
                    gui_seen.setdefault(row.key, now)

        window.entries.rowsInserted.connect(on_rows)
        uv_end: dict[str, float] = {}  # package -> when its uv process exited

        def run_uv(pkgs: list[str]) -> None:
            cmd = [
                uvr.uv,
                "pip",
                "install",
                "--cache-dir",
                str(cache),
                "--python",
                str(venv / "bin" / "python"),
                "--index-url",
                uvr.index_url,
                *pkgs,
            ]
            proc = subprocess.Popen(
                cmd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            while proc.poll() is None:  # keep the window's event loop turning meanwhile
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
                time.sleep(0.002)
            end = time.time()
            if proc.returncode != 0:
                raise SystemExit(proc.stderr.read().decode() if proc.stderr else "uv failed")
            for p in pkgs:
                uv_end[p] = end

        started = time.time()
        for name in names[: args.installs]:
            run_uv([name])
        run_uv(names[args.installs :])
        settle = QEventLoop()
        QTimer.singleShot(3000, settle.quit)
        settle.exec()
        burst_seconds = time.time() - started
        watcher.stop()
        window.close()

    archives = {}
    for entry in os.scandir(cache / "archive-v0"):
        for n in os.listdir(entry.path):
            if n.endswith(".dist-info"):
                pkg = n.split("-")[0]
                if pkg in uv_end:
                    archives[entry.path] = (pkg, os.stat(entry.path).st_ctime)
    core_fs, gui_fs, gui_uv, missing_core, missing_gui = [], [], [], [], []
    for path, (pkg, ctime) in archives.items():
        if path in core_seen:
            core_fs.append(max(0.0, core_seen[path] - ctime))
        else:
            missing_core.append(pkg)
        if path in gui_seen:
            gui_fs.append(max(0.0, gui_seen[path] - ctime))
            gui_uv.append(max(0.0, gui_seen[path] - uv_end[pkg]))
        else:
            missing_gui.append(pkg)
    result = {
        "packages": len(archives),
        "burst_seconds": round(burst_seconds, 2),
        "core_watch_after_rename": _summary(core_fs),
        "window_row_after_rename": _summary(gui_fs),
        "window_row_after_uv_exit": _summary(gui_uv),
        "missed_by_core_watch": missing_core,
        "missed_by_window": missing_gui,
    }
    for k, v in result.items():
        print(f"{k}: {v}")
    print(f"saved {save('watch-latency', result)}")
    app.quit()


if __name__ == "__main__":
    main()
