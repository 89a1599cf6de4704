"""Which processes are uv, and which have files open (or their working directory) under a path.

Used to tell a live temporary directory from an orphan, and to name who holds the cache lock.
psutil does the per-platform work; processes we may not inspect are skipped (as a user we see our
own, which is where uv runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    name: str
    cmdline: str
    username: str | None = None
    started: float | None = None

    def label(self) -> str:
        """'uv sync (pid 4242)': the program and its first two non-option words."""
        words = (self.cmdline or self.name).split()
        if not words:
            return f"{self.name} (pid {self.pid})"
        short = [os.path.basename(words[0])]
        for w in words[1:]:
            if len(short) == 3 or w == "--":
                break
            if not w.startswith("-") and "/" not in w and "\\" not in w:
                short.append(w)
        return f"{' '.join(short)} (pid {self.pid})"


def info(pid: int) -> ProcInfo | None:
    import psutil

    try:
        p = psutil.Process(pid)
        with p.oneshot():
            cmdline = " ".join(p.cmdline())
            name = p.name()
            try:
                user = p.username()
            except (psutil.Error, KeyError):
                user = None
            started = p.create_time()
    except (psutil.Error, OSError):
        return None
    return ProcInfo(pid, name, cmdline, user, started)


def uv_processes() -> list[ProcInfo]:
    """Running uv / uvx processes (by executable name)."""
    import psutil

    out = []
    for p in psutil.process_iter(["pid", "name"]):
        name = (p.info.get("name") or "").lower()
        if name in {"uv", "uvx", "uv.exe", "uvx.exe"}:
            pi = info(p.info["pid"])
            if pi is not None:
                out.append(pi)
    return out


def using(paths: Iterable[str]) -> dict[str, list[ProcInfo]]:
    """For each path: processes with an open file or their working directory below it."""
    import psutil

    targets = {os.path.realpath(p).rstrip(os.sep) + os.sep: p for p in paths}
    found: dict[str, list[ProcInfo]] = {p: [] for p in targets.values()}
    if not targets:
        return found
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        pid = proc.info["pid"]
        if pid == me:
            continue
        try:
            opened = [f.path for f in proc.open_files()]
            try:
                opened.append(proc.cwd())
            except (psutil.Error, OSError):
                pass
        except (psutil.Error, OSError):
            continue
        for path in opened:
            p = path.rstrip(os.sep) + os.sep
            for prefix, original in targets.items():
                if p.startswith(prefix):
                    pi = info(pid)
                    if pi is not None and pi not in found[original]:
                        found[original].append(pi)
    return found
