"""The GUI thread's worst stall while the window reads the large real cache.

    uv run python tests/benchmarks/bench_gui_stall.py [--packages 3000] [--files 100] [--rounds 3]

A 5 ms QTimer runs in the GUI thread from the moment the window is created until its inspection
has finished and the models are filled (plus one second); every tick records how late it came.
A late tick is a frozen window: the goal is no stall over 50 ms. Each round is a full inspection
(locate, stream the diagnosis, deep scan, inventory) as F5 does it; the first round includes
building the window. Runs offscreen, as the README screenshots do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import build_cache, count_files, save

TICK_MS = 5
GOAL_MS = 50


class Sampler:
    """--trace: where the GUI thread is, every millisecond, to name what a stall was doing.

    (A sample needs the GIL, so a stall spent in C++ holding it shows as the frame after.)"""

    MACHINERY = frozenset({"feature.py", "inspect.py", "linecache.py", "tokenize.py"})

    def __init__(self) -> None:
        import sys
        import threading

        self.samples: list[tuple[float, str]] = []
        self.wall_offset = time.time() - time.perf_counter()
        gui = threading.get_ident()
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.wait(0.001):
                frame = sys._current_frames().get(gui)
                if frame is None:
                    continue
                parts = []
                skipped = False
                while frame is not None and len(parts) < 8:
                    code = frame.f_code
                    name = os.path.basename(code.co_filename)
                    if name.startswith("<frozen importlib") or name in self.MACHINERY:
                        skipped = True  # import machinery: the caller is what to fix
                    else:
                        parts.append(f"{name}:{frame.f_lineno} {code.co_name}")
                    frame = frame.f_back
                if skipped:
                    parts.insert(0, "(importing)")
                self.samples.append((time.perf_counter(), " < ".join(parts)))

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        # Garbage collections: a full one holds the interpreter for as long as it takes.
        import gc

        self.collections: list[tuple[float, float, int]] = []  # (start, end, generation)
        started = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                self.collections.append((started[0], time.perf_counter(), info["generation"]))

        gc.callbacks.append(on_gc)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()

    def report(self, stalls: list[tuple[float, float, float]]) -> None:
        from collections import Counter

        for start, end, late in stalls:
            seen = Counter(w for t, w in self.samples if start <= t <= end)
            before = [w for t, w in self.samples if start - 0.01 <= t < start][-1:]
            after = [w for t, w in self.samples if t > end][:1]
            wall = time.strftime("%H:%M:%S", time.localtime(start + self.wall_offset))
            frac = f"{(start + self.wall_offset) % 1:.3f}"[1:]
            print(f"  stall {late:.1f} ms at {wall}{frac}: after {before}, then {after}")
            for a, b, gen in self.collections:
                if a <= end and b >= start and b - a > 0.002:
                    print(f"    garbage collection of generation {gen}: {(b - a) * 1000:.1f} ms")
            for where, n in seen.most_common(4):
                print(f"    {n:3} x {where}")


class StallMeter:
    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.late: list[float] = []  # ms beyond the tick, per tick
        self.worst_at = ""
        self.phase = "start"
        self.stalls: list[tuple[float, float, float]] = []  # (from, to, ms late)
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, (now - self._last) * 1000 - TICK_MS)
        if late > GOAL_MS * 0.6:
            self.stalls.append((self._last, now, late))
        self._last = now
        if not self.late or late > max(self.late):
            self.worst_at = self.phase
        self.late.append(late)

    def reset(self, phase: str) -> None:
        self.late = []
        self.worst_at = ""
        self.phase = phase
        self._last = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=3000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trace", action="store_true", help="name where each long stall was")
    args = ap.parse_args()
    cache = build_cache(args.packages, args.files)
    n = count_files(cache)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from uv_cache_inspector.gui.app import tune_interpreter
    from uv_cache_inspector.gui.main_window import MainWindow

    tune_interpreter()  # as the app's main() does
    app = QApplication([])
    settings = QSettings(str(cache.parent / "bench-settings.ini"), QSettings.Format.IniFormat)
    meter = StallMeter()
    sampler = Sampler() if args.trace else None
    rounds = []
    window = None
    for r in range(args.rounds):
        meter.reset("inspect")
        loop = QEventLoop()
        started = time.perf_counter()
        if window is None:
            window = MainWindow(str(cache), settings=settings)
            window.resize(1280, 820)
            window.show()
        else:
            window.rescan()
        window.inspected.connect(loop.quit)
        loop.exec()
        window.inspected.disconnect(loop.quit)
        took = time.perf_counter() - started
        meter.phase = "after"
        settle = QEventLoop()
        QTimer.singleShot(1000, settle.quit)
        settle.exec()
        late = list(meter.late)
        rows = len(window.entries.rows())  # all rows (the table shows one group of them)
        rounds.append(
            {
                "round": r,
                "inspection_seconds": round(took, 3),
                "ticks": len(late),
                "worst_stall_ms": round(max(late), 1),
                "p99_stall_ms": round(statistics.quantiles(late, n=100)[98], 1),
                "ticks_over_goal": sum(1 for x in late if x > GOAL_MS),
                "worst_during": meter.worst_at,
                "rows": rows,
            }
        )
        print(
            f"round {r}: inspection {took:.2f} s, {len(late)} ticks, worst stall "
            f"{max(late):.1f} ms (during {meter.worst_at}), p99 "
            f"{rounds[-1]['p99_stall_ms']} ms, {rounds[-1]['ticks_over_goal']} over {GOAL_MS} ms,"
            f" {rows:,} rows"
        )
    if sampler is not None:
        sampler.stop()
        sampler.report(meter.stalls)
    assert window is not None
    window.close()
    meter.timer.stop()
    app.processEvents()
    del window, meter
    worst = max(x["worst_stall_ms"] for x in rounds)
    print(f"cache: {cache} ({n:,} files); worst GUI stall {worst} ms (goal <= {GOAL_MS} ms)")
    path = save(
        f"gui-stall-{args.packages}x{args.files}",
        {"cache_files": n, "tick_ms": TICK_MS, "goal_ms": GOAL_MS, "rounds": rounds},
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
