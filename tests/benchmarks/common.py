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
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class Run:
    """One finished run of a command, from the kernel's own accounting of it (wait4)."""

    wall: float
    user: float
    sys: float
    peak_rss: int  # bytes, the largest single process (the command or a child it waited for)
    out: str

    @property
    def cpu(self) -> float:
        return self.user + self.sys


# Peak memory through /usr/bin/time: a process started straight from this one inherits this
# interpreter's memory as its starting high-water mark (Linux keeps it across exec); time(1)
# forks the command from its own small image. Without it, no peak is reported.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run(cmd: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run `cmd` to the end: wall time, user and system CPU, peak memory, stdout."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        full = [GNU_TIME, "-q", "-f", "%M", "-o", peak.name, *cmd] if GNU_TIME else list(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # time(1)'s figures include its command's
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
        kib = peak.read().strip().splitlines()[-1:] if GNU_TIME else []
        rss = int(kib[0]) * 1024 if kib and kib[0].isdigit() else 0
        return Run(wall, usage.ru_utime, usage.ru_stime, rss, out.read().decode())


def spread(xs: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def pair_ratios(a: Sequence[Run], b: Sequence[Run], attr: str = "wall") -> list[float]:
    """Round by round (the two ran next to each other): a's figure over b's."""
    return [getattr(x, attr) / getattr(y, attr) for x, y in zip(a, b, strict=True)]


def compile_bytecode() -> None:
    """Bytecode for the package and the venv, as any installation has after its first run:
    where PYTHONDONTWRITEBYTECODE is set (CI machines often do), every timed run would
    otherwise compile the inspector's modules from source again."""
    import compileall

    compileall.compile_dir(str(ROOT / "app"), quiet=1)
    compileall.compile_dir(str(VENV_BIN.parent / "lib"), quiet=2)  # PySide6 ships templates


def walker_line() -> str:
    """`uvci --version`: which walker the timed runs used."""
    return subprocess.run(
        [str(VENV_BIN / "uvci"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


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
