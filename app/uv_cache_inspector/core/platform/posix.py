"""Linux, macOS and BSD facts: mountinfo, statvfs, WSL, resource limits.

`parse_mountinfo`, `mount_for` and `wsl_version` are pure (tested with recorded inputs); the rest
reads /proc or asks the kernel. On macOS there is no /proc: the mount is found with `os.statvfs`
alone (type unknown) unless `mount` output is available.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from uv_cache_inspector.core.platform import FsFacts, LimitFacts

_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    mount_id: int
    parent_id: int
    device: str  # "major:minor"
    root: str
    mount_point: str
    options: tuple[str, ...]
    fstype: str
    source: str
    super_options: tuple[str, ...]


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134.
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse /proc/self/mountinfo (proc(5)); malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        a = left.split()
        b = right.split()
        if len(a) < 6 or len(b) < 2:
            continue
        try:
            mounts.append(
                Mount(
                    mount_id=int(a[0]),
                    parent_id=int(a[1]),
                    device=a[2],
                    root=_unescape(a[3]),
                    mount_point=_unescape(a[4]),
                    options=tuple(a[5].split(",")),
                    fstype=b[0],
                    source=_unescape(b[1]),
                    super_options=tuple(b[2].split(",")) if len(b) > 2 else (),
                )
            )
        except ValueError:
            continue
    return mounts


def mount_for(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount a real (symlink-free, absolute) path is on: the last, longest match."""
    best: Mount | None = None
    for m in mounts:
        mp = m.mount_point
        inside = path == mp or path.startswith(mp.rstrip("/") + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mount_point)):
            best = m
    return best


def wsl_version(proc_version: str, env: Mapping[str, str]) -> int | None:
    """1 for WSL1, 2 for WSL2, None otherwise (from /proc/version and WSL's env vars)."""
    text = proc_version.lower()
    if "microsoft" not in text and "wsl" not in text:
        return None
    if "wsl2" in text or "microsoft-standard" in text:
        return 2
    if "Microsoft" in proc_version:  # WSL1 kernels say "Microsoft" with a capital M
        return 1
    return 2 if env.get("WSL_INTEROP") else 1


TMPFILES_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/lib/tmpfiles.d")


def parse_tmpfiles(texts: list[str]) -> list[tuple[str, str, str]]:
    """tmpfiles.d(5) lines -> [(type, path, age)] for the types that clean directories."""
    rules = []
    for text in texts:
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 2 or parts[0].startswith("#"):
                continue
            kind = parts[0].rstrip("!=-+~^")
            age = parts[5] if len(parts) > 5 else "-"  # Type Path Mode User Group Age Arg
            if kind in {"d", "D", "e", "q", "Q", "v", "x", "X"}:
                rules.append((kind, parts[1], age))
    return rules


def tmpfiles_rules() -> list[tuple[str, str, str]]:
    """The system's tmpfiles.d rules (a file in /etc overrides one of that name in /usr/lib)."""
    chosen: dict[str, str] = {}
    for d in TMPFILES_DIRS:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(d, name)
    return parse_tmpfiles([read_text(p) for p in chosen.values()])


def cleaning_rule(path: str, rules: list[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """The rule that cleans `path` (the most specific containing directory), unless excluded."""
    best: tuple[str, str, str] | None = None
    for kind, rpath, age in rules:
        if "%" in rpath or "*" in rpath:
            continue
        inside = path == rpath or path.startswith(rpath.rstrip("/") + "/")
        if not inside:
            continue
        if kind in {"x", "X"}:
            return None
        if best is None or len(rpath) > len(best[1]):
            best = (kind, rpath, age)
    return best


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def kernel_text() -> str:
    u = os.uname()
    return f"{u.sysname} {u.release} {u.machine}"


def limits() -> LimitFacts:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return LimitFacts(None, None)
    inf = getattr(resource, "RLIM_INFINITY", -1)
    return LimitFacts(None if soft == inf else soft, None if hard == inf else hard)


def _existing(path: str) -> str:
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def _mounts() -> list[Mount]:
    return parse_mountinfo(read_text("/proc/self/mountinfo"))


def mounts_inside(path: str) -> list[str]:
    """Mount points inside the real path `path`, from this process's mount table."""
    return mount_points_below(path, _mounts())


def mount_points_below(path: str, mounts: list[Mount]) -> list[str]:
    """Mount points strictly inside the real path `path` (a bind mount of the same filesystem
    has the same st_dev, so only the mount table tells)."""
    top = path.rstrip("/") + "/"
    return sorted({m.mount_point for m in mounts if m.mount_point.startswith(top)})


def _macos_mount(path: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(mount point, fstype, options) from `mount` on macOS/BSD; best effort."""
    try:
        out = subprocess.run(
            ["mount"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, None, ()
    best: tuple[str | None, str | None, tuple[str, ...]] = (None, None, ())
    for line in out.splitlines():
        m = re.match(r"^(?P<src>.+?) on (?P<mp>.+?) \((?P<opts>.+)\)$", line)
        if not m:
            continue
        mp = m.group("mp")
        if (path == mp or path.startswith(mp.rstrip("/") + "/") or mp == "/") and (
            best[0] is None or len(mp) > len(best[0])
        ):
            opts = tuple(o.strip() for o in m.group("opts").split(","))
            best = (mp, opts[0] if opts else None, opts[1:])
    return best


def fs_facts(path: str, mounts: list[Mount] | None = None) -> FsFacts:
    target = _existing(path)
    exists = os.path.exists(path)
    real = os.path.realpath(target)
    try:
        st = os.stat(real)
        vfs = os.statvfs(real)
    except OSError as exc:
        return FsFacts(path, exists, error=str(exc.strerror or exc))
    free_bytes = vfs.f_bavail * vfs.f_frsize
    total_bytes = vfs.f_blocks * vfs.f_frsize
    read_only = bool(vfs.f_flag & getattr(os, "ST_RDONLY", 1))
    mount_point = fstype = source = None
    options: tuple[str, ...] = ()
    if sys.platform.startswith("linux"):
        m = mount_for(real, _mounts() if mounts is None else mounts)
        if m is not None:
            mount_point, fstype, source = m.mount_point, m.fstype, m.source
            options = tuple(dict.fromkeys(m.options + m.super_options))
            read_only = read_only or "ro" in m.options
    elif sys.platform == "darwin" or "bsd" in sys.platform:
        mount_point, fstype, options = _macos_mount(real)
        read_only = read_only or "read-only" in options
    return FsFacts(
        path=path,
        exists=exists,
        device=st.st_dev if stat.S_ISDIR(st.st_mode) or exists else None,
        mount_point=mount_point,
        fstype=fstype,
        source=source,
        options=options,
        read_only=read_only,
        free_bytes=free_bytes,
        total_bytes=total_bytes,
        free_inodes=vfs.f_favail if vfs.f_files else None,
        total_inodes=vfs.f_files or None,
    )
