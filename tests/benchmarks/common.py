"""Shared pieces of the benchmarks: a large real cache, timing, memory, results.

Benchmarks run on demand (`uv run python tests/benchmarks/bench_scan.py`), never as timed tests in
CI. The large caches are written by real uv from generated wheels served on 127.0.0.1 and kept in
tests/benchmarks/.work/ between runs (git-ignored).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "app"))

from tests.harness.dists import write_wheel  # noqa: E402
from tests.harness.index import PackageIndex  # noqa: E402
from tests.harness.uvcache import UvRun  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work"
RESULTS = Path(__file__).resolve().parent / "results"
VENV_BIN = Path(sys.executable).parent


def uv_binary() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def build_cache(packages: int, files_per_package: int, batch: int = 1000) -> Path:
    """A real uv cache of about packages * files_per_package files (made once, then reused).

    Each generated wheel holds `files_per_package - 4` modules plus METADATA, WHEEL, RECORD and
    __init__.py; uv installs them from the loopback index into a throwaway venv, in batches.
    """
    name = f"cache-{packages}x{files_per_package}"
    cache = WORK / name / "cache"
    done = WORK / name / "complete"
    if done.exists():
        return cache
    # A build of a million files takes most of an hour; one that stopped (a killed run, a
    # timeout) goes on from its last finished batch instead of starting again.
    dists = WORK / name / "dists"
    venv = WORK / name / "venv"
    progress = WORK / name / "batches-done"
    finished = int(progress.read_text()) if progress.exists() else 0
    if not finished:
        shutil.rmtree(WORK / name, ignore_errors=True)
    if not (dists / "wheels-written").exists():
        print(f"building {name}: writing {packages} wheels...", file=sys.stderr)
        for i in range(packages):
            write_wheel(dists, f"bench{i:05d}", "1.0", n_modules=files_per_package - 4, payload=200)
        (dists / "wheels-written").write_text("ok\n")
    python = shutil.which("python3.11") or sys.executable
    with PackageIndex(dists) as index:
        uvr = UvRun(uv_binary(), index.url, python)
        if not finished:
            uvr.venv(venv, cache)
        for start in range(finished, packages, batch):
            reqs = [f"bench{i:05d}" for i in range(start, min(packages, start + batch))]
            t = time.perf_counter()
            uvr.pip_install(cache, venv, reqs)
            progress.write_text(f"{start + len(reqs)}\n")
            print(
                f"  installed {start + len(reqs)}/{packages} ({time.perf_counter() - t:.0f} s)",
                file=sys.stderr,
            )
        shutil.rmtree(venv)
    shutil.rmtree(dists)
    done.write_text("ok\n")
    return cache


def peer(package: str, version: str, executable: str) -> str:
    """A peer tool from PyPI in its own venv under .work/peers (made once; needs PyPI)."""
    venv = WORK / "peers" / f"{package}-{version}"
    exe = venv / "bin" / executable
    if not exe.exists():
        subprocess.run([uv_binary(), "venv", "-q", str(venv)], check=True)
        subprocess.run(
            [
                uv_binary(),
                "pip",
                "install",
                "-q",
                "--python",
                str(venv / "bin" / "python"),
                f"{package}=={version}",
            ],
            check=True,
        )
    return str(exe)


def count_files(root: Path) -> int:
    n = 0
    for _dirpath, _dirnames, filenames in os.walk(root):
        n += len(filenames)
    return n


class PeakMemory:
    """Peak resident memory of a process and its children, sampled every few milliseconds."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak_total = 0
        self.peak_main = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                main = self.proc.memory_info().rss
                total = main
                for child in self.proc.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak_main = max(self.peak_main, main)
            self.peak_total = max(self.peak_total, total)
            time.sleep(0.003)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def timed(cmd: Sequence[str], measure_memory: bool = False) -> tuple[float, PeakMemory | None, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid) if measure_memory else None
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if mem:
        mem.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {err}")
    return elapsed, mem, out


def alternate(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each contender once per round, in alternating order, after one warm-up round."""
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(rounds):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            times[name].append(runs[name]())
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "uv": subprocess.run(
            [uv_binary(), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def save(name: str, data: dict[str, object]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
