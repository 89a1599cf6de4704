"""Make real caches by running the real uv binary against the loopback index.

Every cache a test reads was written by uv itself (the `uv` PyPI package, or an older release for
the fixture caches); nothing here imitates uv's layout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def clean_env(extra: dict[str, str] | None = None, home: str | None = None) -> dict[str, str]:
    """The environment for uv in tests: no user config, no downloads of Pythons, no colours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(
        {
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            "NO_COLOR": "1",
            "UV_LINK_MODE": "hardlink",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    if home is not None:
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    if extra:
        env.update(extra)
    return env


@dataclass
class UvRun:
    uv: str
    index_url: str
    python: str  # the interpreter the venvs are made from

    def run(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.uv, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(env),
            cwd=str(cwd) if cwd else None,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"uv {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def venv(self, path: Path, cache: Path) -> Path:
        self.run(["venv", "--python", self.python, "--cache-dir", str(cache), str(path)])
        return path

    def pip_install(
        self,
        cache: Path,
        venv: Path,
        requirements: Sequence[str],
        *extra: str,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            [
                "pip",
                "install",
                "--cache-dir",
                str(cache),
                "--python",
                str(venv / "bin" / "python"),
                "--index-url",
                self.index_url,
                *extra,
                *requirements,
            ],
            check=check,
            env=env,
        )

    def run_with(
        self, cache: Path, requirement: str, code: str, cwd: Path
    ) -> subprocess.CompletedProcess[str]:
        """`uv run --with REQUIREMENT python -c CODE`: a cached environment in `archive-v0`."""
        return self.run(
            [
                "run",
                "--no-project",
                "--cache-dir",
                str(cache),
                "--python",
                self.python,
                "--index-url",
                self.index_url,
                "--with",
                requirement,
                "--",
                "python",
                "-c",
                code,
            ],
            cwd=cwd,
        )

    def cache_size(self, cache: Path) -> int:
        proc = self.run(
            ["cache", "size", "--cache-dir", str(cache), "--preview-features", "cache-size"]
        )
        return int(proc.stdout.strip().splitlines()[-1])

    def prune(self, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(["cache", "prune", "--cache-dir", str(cache), "-v", *extra])


def make_cache(
    uvr: UvRun,
    cache: Path,
    requirements: Sequence[str],
    *,
    venv: Path | None = None,
    keep_venv: bool = False,
    extra: Sequence[str] = (),
) -> Path:
    """A cache written by real uv installing `requirements` into a throwaway venv."""
    venv = venv or cache.parent / (cache.name + "-venv")
    uvr.venv(venv, cache)
    uvr.pip_install(cache, venv, requirements, *extra)
    if not keep_venv:
        shutil.rmtree(venv)
    return cache


def installed_by_inode(venv: Path, cache: Path) -> dict[str, tuple[str, str]]:
    """archive id -> (name, version) of what uv installed from it, found by inode.

    uv installs by hardlink here (UV_LINK_MODE=hardlink), so a venv's `*.dist-info/METADATA`
    and the archive's copy are one inode (RECORD is always copied, docs/uv-cache-format.md §7). This is
    uv's own record of what it installed from where, independent of the inspector's reader.
    """
    site = next(venv.glob("lib/python*/site-packages"))
    installed = {}
    for info in site.glob("*.dist-info"):
        meta = info / "METADATA"
        if meta.exists():
            name, _, version = info.name[: -len(".dist-info")].rpartition("-")
            installed[os.stat(meta).st_ino] = (name, version)
    out = {}
    for archive in (cache / "archive-v0").iterdir():
        for meta in archive.glob("*.dist-info/METADATA"):
            hit = installed.get(os.stat(meta).st_ino)
            if hit:
                out[archive.name] = hit
    return out


def copy_cache(src: Path, dst: Path) -> Path:
    """An exact copy: symlinks stay symlinks, hard links inside the tree stay hard links
    (a cached environment shares inodes with other archives), owners and modes kept."""
    subprocess.run(["cp", "-a", "--", str(src), str(dst)], check=True)
    return dst


def tree_state(root: Path) -> dict[str, tuple[str, int, int, int, int | str]]:
    """Names, types, owners, modes and sizes (or link targets) of everything below `root`."""
    out: dict[str, tuple[str, int, int, int, int | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = ("link", st.st_uid, st.st_gid, 0, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_uid, st.st_gid, st.st_mode & 0o7777, 0)
            else:
                out[rel] = ("file", st.st_uid, st.st_gid, st.st_mode & 0o7777, st.st_size)
    return out
