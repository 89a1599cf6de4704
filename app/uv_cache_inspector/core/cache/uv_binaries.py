"""Find the uv executables on this machine and ask each for its version.

The newest one decides which buckets are current (docs/uv-cache-format.md §2, "Recommendation for
your tool"); several different ones writing one cache is itself a finding (mixed-uv-versions).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from uv_cache_inspector.core.cache.layout import Version, format_version, parse_version
from uv_cache_inspector.core.platform.subproc import NO_WINDOW


@dataclass(frozen=True, slots=True)
class UvBinary:
    path: str
    version: Version | None
    version_text: str
    how_found: str  # "--uv", "PATH", "well-known location"

    @property
    def version_str(self) -> str:
        return format_version(self.version) if self.version else "unknown"


_EXE = "uv.exe" if sys.platform == "win32" else "uv"
_version_cache: dict[tuple[str, int, int], tuple[Version | None, str]] = {}


def export_versions() -> list[dict[str, object]]:
    """The remembered `uv --version` answers, for saving between runs."""
    return [
        {
            "real": k[0],
            "size": k[1],
            "mtime": k[2],
            "version": list(v[0]) if v[0] else None,
            "text": v[1],
        }
        for k, v in _version_cache.items()
    ]


def import_versions(items: object) -> None:
    """Take back saved answers; anything malformed is ignored (they are only a speed-up)."""
    if not isinstance(items, list):
        return
    for item in items:
        try:
            key = (str(item["real"]), int(item["size"]), int(item["mtime"]))
            v = item["version"]
            version = (int(v[0]), int(v[1]), int(v[2])) if v else None
            _version_cache[key] = (version, str(item["text"]))
        except (KeyError, TypeError, ValueError, IndexError):
            continue


def well_known_locations(env: Mapping[str, str] | None = None) -> list[str]:
    """Install locations of the standalone installer, pipx, cargo, Homebrew, system packages."""
    env = os.environ if env is None else env
    home = env.get("USERPROFILE" if sys.platform == "win32" else "HOME") or str(Path.home())
    places = [
        os.path.join(home, ".local", "bin", _EXE),
        os.path.join(home, ".cargo", "bin", _EXE),
        os.path.join(home, ".local", "pipx", "venvs", "uv", "bin", _EXE),
        os.path.join(home, ".local", "share", "uv", "tools", "uv", "bin", _EXE),
    ]
    xdg_bin = env.get("XDG_BIN_HOME")
    if xdg_bin:
        places.append(os.path.join(xdg_bin, _EXE))
    if sys.platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        if local:
            places.append(os.path.join(local, "Microsoft", "WinGet", "Links", _EXE))
            places.append(os.path.join(local, "Programs", "uv", _EXE))
        places.append(os.path.join(home, "scoop", "shims", _EXE))
    else:
        places += ["/usr/local/bin/uv", "/usr/bin/uv", "/opt/homebrew/bin/uv", "/snap/bin/uv"]
    return places


def _on_path(env: Mapping[str, str]) -> list[str]:
    out = []
    for d in env.get("PATH", "").split(os.pathsep):
        if d:
            candidate = os.path.join(d, _EXE)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                out.append(candidate)
    return out


def ask_version(path: str, timeout: float = 10) -> tuple[Version | None, str]:
    """`uv --version` -> ((0, 13, 9), 'uv 0.13.9 (...)'); cached by path, size and mtime."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, f"cannot run: {exc.strerror or exc}"
    key = (os.path.realpath(path), st.st_size, int(st.st_mtime))
    if key in _version_cache:
        return _version_cache[key]
    try:
        proc = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
            creationflags=NO_WINDOW,
        )
        text = (proc.stdout or proc.stderr).strip()
        result = (parse_version(text) if proc.returncode == 0 else None), text
    except (OSError, subprocess.TimeoutExpired) as exc:
        result = None, f"cannot run: {exc}"
    _version_cache[key] = result
    return result


def find_uv_binaries(
    explicit: Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    include_well_known: bool = True,
) -> list[UvBinary]:
    """Every distinct uv executable: explicit ones, then PATH order, then well-known places."""
    env = os.environ if env is None else env
    seen: set[str] = set()
    found: list[UvBinary] = []

    def add(path: str, how: str) -> None:
        try:
            real = os.path.realpath(path)
        except OSError:
            return
        if real in seen or not os.path.isfile(real):
            return
        seen.add(real)
        version, text = ask_version(path)
        found.append(UvBinary(path, version, text, how))

    for p in explicit:
        add(p, "--uv")
    for p in _on_path(env):
        add(p, "PATH")
    if include_well_known:
        for p in well_known_locations(env):
            if os.path.isfile(p):
                add(p, "well-known location")
    return found


def newest(binaries: Iterable[UvBinary]) -> UvBinary | None:
    best = None
    for b in binaries:
        if b.version is not None and (best is None or b.version > (best.version or (0, 0, 0))):
            best = b
    return best
