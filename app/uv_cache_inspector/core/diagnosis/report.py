"""A Markdown report to paste into a bug tracker: everything a maintainer asks for first.

Platform, uv versions, where the cache is and how it was found, the filesystems of the cache,
the venv and TMPDIR with their mount options, the lock, a listing of the cache root with owners
and modes, and the findings. Paths under the home directory are shown as `~`.
"""

from __future__ import annotations

import os
import platform
import stat
import sys
import time

from uv_cache_inspector import __version__
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis.engine import Diagnosis
from uv_cache_inspector.core.platform import FsFacts
from uv_cache_inspector.core.platform.access import group_name, user_name


def _fs_row(label: str, fs: FsFacts | None) -> str:
    if fs is None:
        return f"| {label} | (not given) | | | |"
    free = f"{fmt.size(fs.free_bytes)} free" if fs.free_bytes is not None else ""
    if fs.free_inodes is not None:
        free += f", {fs.free_inodes:,} inodes"
    opts = ",".join(fs.options[:12]) + ("…" if len(fs.options) > 12 else "")
    return (
        f"| {label} | `{fmt.user_path(fs.path)}` | {fs.fstype or '?'} "
        f"{'(read-only)' if fs.read_only else ''} | `{opts}` | {free} |"
    )


def _ls(root: str) -> list[str]:
    rows = ["| name | type | owner | group | mode | size |", "|---|---|---|---|---|---|"]
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        return [f"(cannot list: {exc.strerror})"]
    for name in names[:60]:
        try:
            st = os.lstat(os.path.join(root, name))
        except OSError:
            continue
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
        rows.append(
            f"| `{name}` | {kind} | {user_name(st.st_uid)} | {group_name(st.st_gid)} | "
            f"{stat.filemode(st.st_mode)} | {st.st_size} |"
        )
    if len(names) > 60:
        rows.append(f"| … {len(names) - 60} more | | | | | |")
    return rows


def markdown(diag: Diagnosis) -> str:
    inp = diag.inputs
    f = inp.facts
    lines = [
        "## uv cache report",
        "",
        f"Made by uv Cache Inspector {__version__} on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
        "### Platform",
        "",
        f"- OS: {platform.platform()} ({f.kernel})" + (f", WSL{f.wsl}" if f.wsl else ""),
        f"- Python running the inspector: {platform.python_version()} ({sys.platform})",
        f"- uv runs as: {inp.user.describe()}",
    ]
    if f.limits.nofile_soft is not None:
        lines.append(f"- Open-file limit: {f.limits.nofile_soft} (hard {f.limits.nofile_hard})")
    lines += ["", "### uv", ""]
    if inp.binaries:
        for b in inp.binaries:
            lines.append(f"- `{fmt.user_path(b.path)}`: {b.version_text} ({b.how_found})")
    else:
        lines.append("- no uv executable found on PATH or in the usual places")
    lines += ["", "### Cache", ""]
    lines.append(f"- Path: `{fmt.user_path(diag.root)}`")
    if inp.location is not None:
        lines.append(f"- Found: {fmt.user_path(inp.location.detail)}")
        if inp.location.uv_reported:
            lines.append(f"- `uv cache dir` says: `{fmt.user_path(inp.location.uv_reported)}`")
    lines.append(f"- Lock: {inp.lock.describe()}")
    snap = diag.snapshot
    if snap is not None:
        unref = sum(1 for a in snap.archives if not a.referenced)
        lines.append(
            f"- Size: {fmt.size(snap.total_bytes)} in {snap.total_files:,} files; "
            f"{len(snap.archives):,} archives, {unref:,} unreferenced"
        )
        lines.append(
            "- Buckets: "
            + ", ".join(f"`{b.name}` ({b.status.value}, {fmt.size(b.bytes)})" for b in snap.buckets)
        )
    lines += [
        "",
        "### Filesystems",
        "",
        "| what | path | type | mount options | free |",
        "|---|---|---|---|---|",
        _fs_row("cache", f.cache),
        _fs_row("venv", f.venv),
        _fs_row("TMPDIR", f.tmpdir),
        "",
        "### Cache root",
        "",
        *_ls(inp.quick.real_root),
        "",
        "### Findings",
        "",
    ]
    if not diag.findings:
        lines.append("No problems found.")
    for item in diag.findings:
        where = f" `{fmt.user_path(item.path)}`" if item.path else ""
        lines.append(
            f"- **{item.severity.value}** `{item.code}`{where}: {fmt.user_path(item.message)}"
        )
        if item.fix:
            lines.append(f"  - fix: {item.fix}")
    text = "\n".join(lines) + "\n"
    home = os.path.expanduser("~")
    if home and home != "/":
        text = text.replace(home + os.sep, "~" + os.sep)
    return text
