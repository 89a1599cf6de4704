"""The test-write with the real uv: a generated tiny wheel installed into a throwaway venv against
the cache, offline and verbose, under `strace -f` on Linux when it can; uv's own failure is
explained like any uv error (`diagnosis.explain`), and the first syscall the kernel refused under
the cache is shown. Afterwards exactly what uv added for the uniquely named probe package goes.
"""

from __future__ import annotations

import errno as errnos
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from dataclasses import dataclass, field

from uv_cache_inspector.core.model import TraceStep
from uv_cache_inspector.core.platform.access import UvUser, resolve_user
from uv_cache_inspector.core.platform.subproc import NO_WINDOW
from uv_cache_inspector.core.testwrite.common import PROBE_PACKAGE, ProbeResult, owner_of, payload

STRACE_CALLS = (
    "rename,renameat,renameat2,mkdir,mkdirat,openat,open,creat,flock,unlink,"
    "unlinkat,rmdir,link,linkat,symlink,symlinkat"
)
_STRACE_FAIL = re.compile(
    r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(?P<call>\w+)\((?P<args>.*)\)\s+=\s+-1\s+(?P<err>E[A-Z]+)"
    r"\s+\((?P<msg>[^)]*)\)"
)
_INTERESTING = {
    "EACCES",
    "EPERM",
    "EROFS",
    "ENOSPC",
    "EDQUOT",
    "EXDEV",
    "EMFILE",
    "ENFILE",
    "ENOLCK",
    "EBADF",
}


def failing_syscalls(trace: str, root: str) -> list[dict[str, str]]:
    """The syscalls in an `strace -f` log that failed under the cache root for a reason that
    matters (ENOENT on probing opens is uv's normal business)."""
    out = []
    for line in trace.splitlines():
        m = _STRACE_FAIL.match(line.strip())
        if not m or m.group("err") not in _INTERESTING:
            continue
        paths = re.findall(r'"([^"]*)"', m.group("args"))
        if not any(p.startswith(root) for p in paths):
            continue
        out.append(
            {
                "call": m.group("call"),
                "paths": ", ".join(paths),
                "errno": m.group("err"),
                "message": m.group("msg"),
                "line": line.strip()[:400],
            }
        )
    return out


def _probe_wheel(directory: str) -> tuple[str, str]:
    """A tiny wheel with a unique name, so uv has to unpack it into the cache."""
    import base64
    import hashlib
    import zipfile

    name = f"uvci_probe_{secrets.token_hex(4)}"
    files = {
        k.replace(PROBE_PACKAGE, name): v for k, v in payload().items() if not k.endswith("RECORD")
    }
    files = {k.replace("uvci-probe", name.replace("_", "-")): v for k, v in files.items()}
    files[f"{name}-0.0.0.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.0\n".encode()
    )
    info = f"{name}-0.0.0.dist-info"

    def h(data: bytes) -> str:
        return (
            "sha256="
            + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        )

    record = "".join(f"{p},{h(d)},{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    path = os.path.join(directory, f"{name}-0.0.0-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
    return name, path


def with_uv(
    root: str,
    uv: str,
    *,
    python: str | None = None,
    use_strace: bool = True,
    keep: bool = False,
    owner: str | None = None,
    env: dict[str, str] | None = None,
) -> Generator[TraceStep, None, ProbeResult]:
    """Install a generated tiny wheel with the real uv into a throwaway venv, against this
    cache, offline and verbose; under `strace -f` on Linux when available. The last step
    removes the venv and exactly what uv added for the (uniquely named) probe package."""
    root = os.path.realpath(root)
    state = _UvRun(
        root=root,
        uv=uv,
        python=python,
        use_strace=use_strace,
        user=resolve_user(owner_of(root), owner),
        env=env,
    )
    finished = False
    try:
        yield from state.steps_until_failure()
        finished = True
    finally:
        if not finished:
            state.clean()
    last = TraceStep("cleanup", ok=True, start_ms=state.elapsed_ms())
    t0 = time.perf_counter()
    if keep:
        last.skipped = True
        last.note = f"kept {state.work} and what uv added for {state.name}"
    else:
        n = len(state.clean())
        last.note = (
            f"removed the venv and {n} cache entr{'y' if n == 1 else 'ies'} uv made "
            f"for {state.name}"
        )
    last.duration_ms = (time.perf_counter() - t0) * 1000
    state.steps.append(last)
    yield last
    return ProbeResult(all(x.ok for x in state.steps), state.steps)


@dataclass
class _UvRun:
    root: str
    uv: str
    python: str | None
    use_strace: bool
    user: UvUser
    env: dict[str, str] | None
    steps: list[TraceStep] = field(default_factory=list)
    name: str = ""
    work: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="uvci-with-uv-"))
    t_begin: float = field(default_factory=time.perf_counter)
    before: set[str] = field(default_factory=set)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t_begin) * 1000

    def run_env(self) -> dict[str, str]:
        e = dict(os.environ if self.env is None else self.env)
        e.update({"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", "UV_NO_PROGRESS": "1"})
        return e

    before_dirs: set[str] = field(default_factory=set)
    before_files: set[str] = field(default_factory=set)

    def clean(self) -> list[str]:
        removed = _remove_probe_entries(self.root, self.name, self.before) if self.name else []
        removed += _remove_new_traces(
            self.root, self.before_dirs, self.before_files, self.work.encode()
        )
        shutil.rmtree(self.work, ignore_errors=True)
        return removed

    def steps_until_failure(self) -> Generator[TraceStep, None, None]:
        from uv_cache_inspector.core.diagnosis import explain

        root = self.root
        self.before = set(_listdir(os.path.join(root, "archive-v0")))
        self.before_dirs, self.before_files = _shallow_tree(root)
        self.name, wheel = _probe_wheel(self.work)
        venv = os.path.join(self.work, "venv")
        t0 = time.perf_counter()
        cmd = [self.uv, "venv", "--no-cache", venv]
        if self.python:
            cmd[2:2] = ["--python", self.python]
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env=self.run_env(),
                timeout=120,
                check=False,
                creationflags=NO_WINDOW,
            )
        except OSError as exc:  # this user may not run that uv (one under /root, as root's)
            s = TraceStep(
                "venv",
                ok=False,
                path=self.uv,
                errno=exc.errno,
                start_ms=(t0 - self.t_begin) * 1000,
                duration_ms=(time.perf_counter() - t0) * 1000,
                error=f"could not run {self.uv}: {exc.strerror or exc}",
                explanation=(
                    f"{self.user.name} (uid {self.user.uid}) cannot run this uv; give one that "
                    "user can run (--uv PATH)"
                ),
            )
            self.steps.append(s)
            yield s
            return
        s = TraceStep(
            "venv",
            ok=proc.returncode == 0,
            path=venv,
            start_ms=(t0 - self.t_begin) * 1000,
            duration_ms=(time.perf_counter() - t0) * 1000,
            note="throwaway venv (made without the cache)",
            error=None if proc.returncode == 0 else proc.stderr.strip()[-500:],
        )
        self.steps.append(s)
        yield s
        if not s.ok:
            return
        win = sys.platform == "win32"
        vpy = os.path.join(venv, "Scripts" if win else "bin", "python.exe" if win else "python")
        install = [
            self.uv,
            "-v",
            "pip",
            "install",
            "--cache-dir",
            root,
            "--python",
            vpy,
            "--no-index",
            "--offline",
            wheel,
        ]
        trace_file = os.path.join(self.work, "strace.log")
        strace = None
        if self.use_strace and sys.platform.startswith("linux"):
            strace = shutil.which("strace")
        if strace:
            install = [
                strace,
                "-f",
                "-qq",
                "-e",
                f"trace={STRACE_CALLS}",
                "-o",
                trace_file,
                *install,
            ]
        t0 = time.perf_counter()
        proc = subprocess.run(
            install,
            capture_output=True,
            text=True,
            env=self.run_env(),
            timeout=600,
            check=False,
            creationflags=NO_WINDOW,
        )
        lines = proc.stderr.splitlines()
        errors = [
            ln for ln in lines if ln.startswith(("error", "  cause", "  Caused by", "warning"))
        ]
        s = TraceStep(
            "uv",
            ok=proc.returncode == 0,
            path=root,
            start_ms=(t0 - self.t_begin) * 1000,
            duration_ms=(time.perf_counter() - t0) * 1000,
            note=f"uv -v pip install {os.path.basename(wheel)}"
            + (" under strace" if strace else ""),
        )
        if proc.returncode != 0:
            s.error = "\n".join(errors[-6:]) or proc.stderr.strip()[-600:]
            found = explain.explain_failures(explain.parse(proc.stderr), self.user, root)
            s.explanation = found[0].message if found else None
        s.attempts = [{"warning": ln.strip()[:300]} for ln in lines if "Retrying" in ln]
        self.steps.append(s)
        yield s
        if strace:
            yield self._syscall_step(_read(trace_file), proc.stderr, s.explanation)

    def _syscall_step(self, trace: str, stderr: str, explanation: str | None) -> TraceStep:
        s = TraceStep("syscall", ok=True, start_ms=self.elapsed_ms())
        if not trace:
            s.skipped = True
            s.note = "strace could not trace uv here (ptrace not permitted?)"
            if "ptrace" in stderr:
                s.note = "strace could not trace uv here (ptrace not permitted)"
        else:
            fails = failing_syscalls(trace, self.root)
            if fails:
                first = fails[0]
                s.ok = False
                s.path = first["paths"]
                s.error = first["line"]
                s.errno = getattr(errnos, first["errno"], None)
                s.explanation = (
                    f"the kernel refused {first['call']} with {first['errno']} ({first['message']})"
                )
                if explanation:
                    s.explanation += f": {explanation}"
            else:
                s.note = "no file or lock syscall under the cache failed"
        self.steps.append(s)
        return s


def _shallow_tree(root: str, depth: int = 4) -> tuple[set[str], set[str]]:
    """Directories up to `depth` levels down (archives excluded), and interpreter records."""
    dirs: set[str] = set()
    files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        level = 0 if rel == "." else rel.count(os.sep) + 1
        if rel.startswith("archive-v0") or level >= depth:
            dirnames[:] = []
        dirs.update(os.path.join(dirpath, d) for d in dirnames)
        if rel.startswith("interpreter-v"):
            files.update(os.path.join(dirpath, f) for f in filenames)
    return dirs, files


def _remove_new_traces(
    root: str, before_dirs: set[str], before_files: set[str], marker: bytes
) -> list[str]:
    """What uv made for the probe besides its entry: interpreter records that name the
    throwaway venv, and directories that are new and now empty. Nothing else is touched (a uv
    running meanwhile may have made other new things)."""
    removed: list[str] = []
    dirs_now, files_now = _shallow_tree(root)
    for f in sorted(files_now - before_files):
        try:
            with open(f, "rb") as fh:
                named = marker in fh.read(1 << 20)
        except OSError:
            continue
        if named and not os.path.islink(f):
            os.unlink(f)
            removed.append(f)
    for d in sorted(dirs_now - before_dirs, key=lambda p: -p.count(os.sep)):
        try:
            if not os.path.islink(d) and not os.listdir(d):
                os.rmdir(d)
                removed.append(d)
        except OSError:
            continue
    return removed


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _remove_probe_entries(root: str, name: str, before: set[str]) -> list[str]:
    """Only what uv made for our uniquely named probe package: its new archive(s) and the
    bucket entries named after it. Never follows links."""
    removed: list[str] = []
    archive_dir = os.path.join(root, "archive-v0")
    for aid in set(_listdir(archive_dir)) - before:
        path = os.path.join(archive_dir, aid)
        if os.path.isdir(os.path.join(path, f"{name}-0.0.0.dist-info")) and not os.path.islink(
            path
        ):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    dist = name.replace("_", "-")
    for dirpath, dirnames, _files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel.startswith("archive-v0"):
            dirnames[:] = []
            continue
        for d in list(dirnames):
            if d in {name, dist}:
                full = os.path.join(dirpath, d)
                if not os.path.islink(full):
                    shutil.rmtree(full, ignore_errors=True)
                    removed.append(full)
                dirnames.remove(d)
    return removed
