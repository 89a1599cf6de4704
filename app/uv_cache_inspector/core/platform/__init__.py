"""Facts about the machine the cache lives on: filesystems, mounts, WSL, limits, locking.

One API (`gather`, `fs_facts`) over per-platform modules: `posix.py` (Linux, macOS, BSD) and
`windows.py`. Everything that decides something from raw data (mountinfo text, volume flags,
/proc/version) is a pure function there, tested on every platform; the small parts that ask the
OS are isolated and say so (Windows and macOS code paths are not exercised on Linux CI).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

# Filesystems that are not local disks (uv-format §8, docs/failure-modes.md F7): locks may not
# exclude, entries may vanish, hardlinks may be missing.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "coda",
        "lustre",
        "gpfs",
        "beegfs",
        "ceph",
        "cephfs",
        "glusterfs",
        "ocfs2",
        "gfs2",
        "9p",
        "v9fs",
        "davfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.glusterfs",
        "fuse.cephfs",
        "panfs",
        "pvfs2",
        "orangefs",
        "quobyte",
    }
)
# WSL1's own filesystems (WSL1 has known EACCES-on-rename bugs, docs/failure-modes.md F3).
WSL1_FS = frozenset({"lxfs", "wslfs", "drvfs"})
# Filesystems without hard links: uv falls back to copying every file.
NO_HARDLINK_FS = frozenset({"vfat", "msdos", "exfat", "fat", "fat32", "fuseblk.exfat"})


@dataclass(frozen=True, slots=True)
class FsFacts:
    """The filesystem a path lives on."""

    path: str
    exists: bool
    device: int | None = None
    mount_point: str | None = None
    fstype: str | None = None
    source: str | None = None
    options: tuple[str, ...] = ()
    read_only: bool = False
    free_bytes: int | None = None
    total_bytes: int | None = None
    free_inodes: int | None = None
    total_inodes: int | None = None
    error: str | None = None
    remote: bool = False  # the platform says it is a network drive (Windows DRIVE_REMOTE)

    @property
    def network(self) -> bool:
        t = (self.fstype or "").lower()
        return self.remote or t in NETWORK_FS or (t.startswith("fuse.") and t != "fuse.portal")

    @property
    def wsl1(self) -> bool:
        return (self.fstype or "").lower() in WSL1_FS

    @property
    def no_hardlinks(self) -> bool:
        return (self.fstype or "").lower() in NO_HARDLINK_FS


@dataclass(frozen=True, slots=True)
class LimitFacts:
    nofile_soft: int | None
    nofile_hard: int | None


@dataclass(frozen=True, slots=True)
class EnvFacts:
    os_name: str  # sys.platform
    kernel: str
    wsl: int | None  # 1, 2, or None when not WSL
    cache: FsFacts
    tmpdir: FsFacts
    venv: FsFacts | None
    limits: LimitFacts
    extra: dict[str, str] = field(default_factory=dict)
    mounts_inside: list[str] = field(default_factory=list)  # mount points inside the cache


def fs_facts(path: str) -> FsFacts:
    """Facts for the filesystem holding `path` (or its nearest existing ancestor)."""
    if sys.platform == "win32":
        from uv_cache_inspector.core.platform import windows

        return windows.fs_facts(path)
    from uv_cache_inspector.core.platform import posix

    return posix.fs_facts(path)


def mounts_below(path: str) -> list[str]:
    """Filesystems mounted somewhere inside `path` (Linux; elsewhere none are reported).

    A deletion must not go through one: what is mounted there is not the cache's."""
    if not sys.platform.startswith("linux"):
        return []
    from uv_cache_inspector.core.platform import posix

    return posix.mounts_inside(os.path.realpath(path))


class MountWatch:
    """`mounts_below()` for many paths in a row (a prune's deletions): the mount table is read
    once and again only when the kernel says it changed. Linux makes /proc/self/mountinfo
    pollable for exactly this (proc(5): a mount or unmount in this namespace marks it with
    POLLPRI until the next poll), so every answer is as fresh as a new read would have been at
    that instant, for one poll() instead of a read and a parse of the whole table. Where the
    file cannot be polled, each call reads it again, as `mounts_below()` does."""

    def __init__(self) -> None:
        self._fd = -1
        self._mounts: list[Any] = []
        if not sys.platform.startswith("linux"):
            return
        import select

        try:
            self._fd = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLPRI | select.POLLERR)
        self._changed = select.POLLPRI | select.POLLERR
        self._read()

    def _read(self) -> None:
        from uv_cache_inspector.core.platform import posix

        chunks = []
        os.lseek(self._fd, 0, os.SEEK_SET)
        while chunk := os.read(self._fd, 1 << 16):
            chunks.append(chunk)
        self._mounts = posix.parse_mountinfo(b"".join(chunks).decode("utf-8", "replace"))

    def below(self, path: str) -> list[str]:
        if not sys.platform.startswith("linux"):
            return []
        if self._fd < 0:
            return mounts_below(path)
        from uv_cache_inspector.core.platform import posix

        if any(ev & self._changed for _, ev in self._poll.poll(0)):
            self._read()
        return posix.mount_points_below(os.path.realpath(path), self._mounts)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def tmpdir() -> str:
    import tempfile

    return tempfile.gettempdir()


def gather(cache_root: str, venv: str | None = None) -> EnvFacts:
    from uv_cache_inspector.core.platform import posix

    if sys.platform == "win32":
        from uv_cache_inspector.core.platform import windows

        kernel = windows.kernel_text()
        wsl = None
        limits = LimitFacts(None, None)
    else:
        kernel = posix.kernel_text()
        wsl = posix.wsl_version(posix.read_text("/proc/version"), os.environ)
        limits = posix.limits()
    return EnvFacts(
        os_name=sys.platform,
        kernel=kernel,
        wsl=wsl,
        cache=fs_facts(cache_root),
        tmpdir=fs_facts(tmpdir()),
        venv=fs_facts(venv) if venv else None,
        limits=limits,
        mounts_inside=mounts_below(cache_root),
    )
