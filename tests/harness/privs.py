"""Run commands as an unprivileged user (uid 65534), because CI runs as root and root never
gets EACCES: a permission test run as root proves nothing.

`setpriv` drops uid, gid, supplementary groups and every capability. The inspector itself is run
from a world-readable copy of its package and its pure dependencies (made once per session), with
an interpreter that uid 65534 can actually run: the checkout may live under a 0700 home, and a
pyenv Python under /root cannot find its own standard library as another user.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY_UID = 65534
NOBODY_GID = 65534

# What `uvci` needs at run time, without the GUI (PySide6 is not copied).
RUNTIME_PACKAGES = (
    "uv_cache_inspector",
    "msgpack",
    "psutil",
    "platformdirs",
    "humanize",
    "watchdog",
    "tomli",
)


def setpriv_prefix(uid: int = NOBODY_UID, gid: int = NOBODY_GID) -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("setpriv (util-linux) is needed to run tests as an unprivileged user")
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ]


def _probe(python: str) -> bool:
    """Can uid 65534 run this interpreter, with its standard library and our Python version?"""
    code = (
        "import os, sys, json, zlib, ssl, sqlite3;"
        "assert os.path.exists(os.path.realpath(sys.executable));"
        f"assert sys.version_info[:2] == {tuple(sys.version_info[:2])!r};"
        "assert json.__file__ and not sys.flags.no_site;"
        "print(sys.prefix)"
    )
    try:
        proc = subprocess.run(
            [*setpriv_prefix(), python, "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    prefix = proc.stdout.strip()
    # A pyenv interpreter under /root falls back to Debian's /usr/lib stdlib as another user:
    # it "works" by accident; prefer an interpreter whose own prefix is readable.
    return (
        proc.returncode == 0
        and bool(prefix)
        and os.access(prefix, os.R_OK)
        and (not prefix.startswith("/root"))
    )


def find_unprivileged_python() -> str:
    candidates = [
        os.path.realpath(sys.executable),
        getattr(sys, "_base_executable", ""),
        f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}",
        f"/usr/local/bin/python{sys.version_info.major}.{sys.version_info.minor}",
    ]
    for c in candidates:
        if c and os.path.isfile(c) and _probe(c):
            return c
    raise RuntimeError(
        "no Python interpreter that uid 65534 can run was found; on Debian install "
        f"python{sys.version_info.major}.{sys.version_info.minor} (apt) — .ci/run does this"
    )


@dataclass
class Unprivileged:
    """A ready-to-use unprivileged side: interpreter, a copy of the tool, a copy of uv."""

    base: Path
    python: str
    site: Path
    uv: str
    home: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": f"{self.base / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONPATH": str(self.site),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
        }
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        timeout: float = 300,
        input: str | None = None,  # noqa: A002
        uid: int = NOBODY_UID,
        gid: int = NOBODY_GID,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*setpriv_prefix(uid, gid), *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env(env),
            cwd=str(cwd) if cwd else str(self.home),
            input=input,
        )

    def uvci(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run([self.python, "-m", "uv_cache_inspector", *args], **kw)  # type: ignore[arg-type]

    def uv_cmd(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run([self.uv, *args], **kw)  # type: ignore[arg-type]

    def pip_install(
        self, cache: Path, venv: Path, index_url: str, *args: str
    ) -> subprocess.CompletedProcess[str]:
        """`uv pip install` as this user into `venv` from `cache`, by hard links (uv's way)."""
        return self.uv_cmd(
            "pip",
            "install",
            "--cache-dir",
            str(cache),
            "--python",
            str(venv / "bin" / "python"),
            "--index-url",
            index_url,
            "--link-mode",
            "hardlink",
            *args,
        )


def make_unprivileged(uv_binary: str) -> Unprivileged:
    base = Path(tempfile.mkdtemp(prefix="uvci-nobody-", dir="/tmp"))
    base.chmod(0o755)
    site = base / "site"
    site.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            src = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(
                src, site / src.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        elif spec.origin:
            shutil.copy2(spec.origin, site / Path(spec.origin).name)
    bindir = base / "bin"
    bindir.mkdir()
    uv_copy = bindir / "uv"
    shutil.copy2(uv_binary, uv_copy)
    home = base / "home"
    home.mkdir()
    os.chown(home, NOBODY_UID, NOBODY_GID)
    for dirpath, dirnames, filenames in os.walk(base):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)
    home.chmod(0o755)
    return Unprivileged(base, find_unprivileged_python(), site, str(uv_copy), home)
