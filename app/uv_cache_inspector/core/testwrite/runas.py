"""The test-write as the user who runs uv.

Run as root, every step passes: root is not refused by permission bits. When the user who runs
uv is someone else (the cache's owner, SUDO_UID, --owner), the test-write is re-run as that
user in a child process (testwrite/child.py), whose steps are streamed back as JSON lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Generator

from uv_cache_inspector.core.errors import InspectorError
from uv_cache_inspector.core.model import Owner, TraceStep
from uv_cache_inspector.core.platform.access import UvUser, resolve_user
from uv_cache_inspector.core.testwrite.common import ProbeResult, owner_of


def runs_as_someone_else(root: str, owner: str | None = None) -> UvUser | None:
    """The user to re-run the test-write as, when we are root and uv is not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    user = resolve_user(owner_of(os.path.realpath(root)), owner)
    return user if user.uid != 0 else None


def _runnable_by(path: str, user: UvUser) -> bool:
    """Can `user` execute `path` (search on every directory above it, execute on it)?"""
    from uv_cache_inspector.core.platform.access import may

    real = os.path.realpath(path)
    try:
        if not may(Owner.from_stat(os.stat(real)), user, "x"):
            return False
        parent = os.path.dirname(real)
        while True:
            if not may(Owner.from_stat(os.stat(parent)), user, "x"):
                return False
            up = os.path.dirname(parent)
            if up == parent:
                return True
            parent = up
    except OSError:
        return False


def child_command(user: UvUser) -> list[str]:
    """How to start the test-write's child as `user`: an interpreter of this Python version that
    `user` may execute (a venv under /root is not); the caller passes our import path."""
    from uv_cache_inspector.core.selfexec import TESTWRITE_FLAG, TESTWRITE_MODULE, python_child

    if getattr(sys, "frozen", False):
        return python_child(TESTWRITE_MODULE, TESTWRITE_FLAG)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        sys.executable,
        getattr(sys, "_base_executable", ""),
        shutil.which(f"python{version}") or "",
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ]
    python = next((c for c in candidates if c and _runnable_by(c, user)), sys.executable)
    return python_child(TESTWRITE_MODULE, TESTWRITE_FLAG, python)


def as_user(
    root: str,
    user: UvUser,
    *,
    bucket: str = "root",
    keep: bool = False,
    uv: str | None = None,
    use_strace: bool = True,
) -> Generator[TraceStep, None, ProbeResult]:
    """The test-write (and, with `uv`, the real uv) run as `user` in a child process."""
    import json
    import signal

    from uv_cache_inspector.core.testwrite.child import request

    cmd = [
        *child_command(user),
        request(root, bucket=bucket, keep=keep, uv=uv, use_strace=use_strace),
    ]
    try:
        import pwd

        home = pwd.getpwuid(user.uid).pw_dir
    except (ImportError, KeyError):
        home = "/"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    how = f"as {user.describe()}"
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
            env=env,
            user=user.uid,
            group=user.gid,
            extra_groups=sorted(user.groups),
        )
    except OSError as exc:
        raise InspectorError(
            f"The test-write could not start {how}: {exc.strerror or exc}. Run it as that "
            f"user: `sudo -u {user.name} uvci test-write`."
        ) from exc
    steps: list[TraceStep] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                step = TraceStep(**json.loads(line))
            except (ValueError, TypeError):
                continue
            steps.append(step)
            yield step
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the child cleans up on KeyboardInterrupt
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    if not steps:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise InspectorError(
            f"The test-write could not run {how}: {last}. Run it as that user: "
            f"`sudo -u {user.name} uvci test-write`."
        )
    if proc.returncode != 0:
        # The child stopped before its last step: never report the steps it did as the whole.
        last = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        step = TraceStep("child", ok=False, error=f"the test-write {how} stopped: {last}")
        steps.append(step)
        yield step
    return ProbeResult(all(s.ok for s in steps), steps, [])
