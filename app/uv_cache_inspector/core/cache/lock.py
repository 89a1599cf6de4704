"""uv's cache lock, exactly as uv takes it (docs/uv-cache-format.md §5), and who holds it.

uv (>= 0.8.19) holds a *shared* flock on `<root>/.lock` for the whole life of every command;
`uv cache clean/prune` take it *exclusive*. We probe without waiting, hold the exclusive lock
only while acting, and never create, replace or delete `.lock` (two processes would then lock
different inodes). POSIX: flock(2), never fcntl/lockf (they do not exclude flock locks).
Windows: LockFileEx over the whole range, as Rust's std does (not verified on Windows).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from uv_cache_inspector.core.errors import CacheInUseError, LockFileError
from uv_cache_inspector.core.platform.processes import ProcInfo, info

LOCK_NAME = ".lock"
# errnos that mean "this filesystem cannot do flock" rather than "someone holds it".
_UNSUPPORTED = {
    errno.ENOLCK,
    errno.EOPNOTSUPP,
    errno.ENOSYS,
    errno.EINVAL,
    errno.EBADF,
    getattr(errno, "ENOTSUP", errno.EOPNOTSUPP),
    524,
}


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    mode: str  # "shared" | "exclusive" | "waiting"
    process: ProcInfo | None

    def label(self) -> str:
        who = self.process.label() if self.process else f"pid {self.pid}"
        return who if self.mode == "shared" else f"{who}, {self.mode}"


@dataclass(frozen=True, slots=True)
class LockState:
    path: str
    exists: bool
    held: bool | None  # someone holds it (None: could not tell)
    exclusive: bool | None  # someone holds it exclusively (uv cache clean/prune)
    supported: bool | None  # flock works on this filesystem
    openable_rw: bool | None  # we can open it read+write, as uv must
    holders: tuple[Holder, ...] = ()
    error: str | None = None

    @classmethod
    def absent(cls, path: str) -> LockState:
        return cls(path, exists=False, held=None, exclusive=None, supported=None, openable_rw=None)

    @classmethod
    def taken(cls, path: str, rw: bool) -> LockState:
        """We hold it (or just held it): nobody else did."""
        return cls(path, exists=True, held=False, exclusive=False, supported=True, openable_rw=rw)

    def describe(self) -> str:
        if not self.exists:
            return "no lock file (uv older than 0.8.19, or uv never ran here)"
        if self.supported is False:
            return f"locking does not work here ({self.error})"
        if self.held:
            who = ", ".join(h.label() for h in self.holders) or "a process we cannot see"
            kind = "cleaning or pruning" if self.exclusive else "in use"
            return f"{kind} by {who}"
        if self.held is None:
            return f"unknown ({self.error})"
        return "free"


def lock_path(root: str) -> str:
    return os.path.join(root, LOCK_NAME)


def _open(path: str) -> tuple[int, bool]:
    """Open an existing lock file (never create it): read+write like uv, else read-only (a
    read-only filesystem, a lock file we may not write). A `.lock` that is not a regular file
    (a directory, a FIFO) cannot be uv's lock: LockFileError says so."""
    flags = (
        getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    )
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise LockFileError(
            f"{path} is {kind}, so uv cannot lock this cache (uv fails too); move it away"
        )
    try:
        return os.open(path, os.O_RDWR | flags), True
    except OSError as exc:
        if exc.errno not in {errno.EACCES, errno.EPERM, errno.EROFS}:
            raise
        return os.open(path, os.O_RDONLY | flags), False


# -- POSIX -----------------------------------------------------------------------------------


def _try_flock(fd: int, exclusive: bool) -> bool:
    """True if taken (and still held by fd), False if someone else holds a conflicting lock."""
    import fcntl

    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    try:
        fcntl.flock(fd, op)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}:
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        _win_unlock(fd)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def parse_proc_locks(text: str) -> list[tuple[int, str, str, str, int]]:
    """/proc/locks -> [(pid, kind, mode, "maj:min" in hex, inode)]; waiters get mode 'WAIT-'."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        waiting = parts[1] == "->"
        if waiting:
            parts = parts[:1] + parts[2:]
        try:
            kind, mode, pid = parts[1], parts[3], int(parts[4])
            major, minor, ino = parts[5].split(":")
            out.append(
                (pid, kind, ("WAIT-" if waiting else "") + mode, f"{major}:{minor}", int(ino))
            )
        except (ValueError, IndexError):
            continue
    return out


def holders(path: str) -> tuple[Holder, ...]:
    """Processes holding (or waiting for) the flock on `path` (Linux: /proc/locks)."""
    if not sys.platform.startswith("linux"):
        return ()
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return ()
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    seen: dict[int, Holder] = {}
    me = os.getpid()
    for pid, kind, mode, device, ino in parse_proc_locks(text):
        if ino != st.st_ino or device != dev or kind != "FLOCK" or pid == me:
            continue
        m = (
            "waiting"
            if mode.startswith("WAIT-")
            else ("exclusive" if mode == "WRITE" else "shared")
        )
        if pid not in seen or seen[pid].mode == "waiting":
            seen[pid] = Holder(pid, m, info(pid))
    return tuple(sorted(seen.values(), key=lambda h: h.pid))


# -- Windows (not verified on Windows; see module docstring) --------------------------------


def _win_lock(fd: int, exclusive: bool) -> bool:  # pragma: no cover - Windows only
    import ctypes
    import msvcrt
    from ctypes import wintypes

    class OVERLAPPED(ctypes.Structure):
        _fields_ = [
            ("Internal", ctypes.c_void_p),
            ("InternalHigh", ctypes.c_void_p),
            ("Offset", wintypes.DWORD),
            ("OffsetHigh", wintypes.DWORD),
            ("hEvent", wintypes.HANDLE),
        ]

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    flags = 0x1  # LOCKFILE_FAIL_IMMEDIATELY
    if exclusive:
        flags |= 0x2  # LOCKFILE_EXCLUSIVE_LOCK
    handle = msvcrt.get_osfhandle(fd)  # type: ignore[attr-defined]
    ok = k32.LockFileEx(handle, flags, 0, 0xFFFFFFFF, 0xFFFFFFFF, ctypes.byref(OVERLAPPED()))
    if ok:
        return True
    err = ctypes.get_last_error()  # type: ignore[attr-defined]
    if err in {33, 32}:  # ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION
        return False
    raise OSError(err, f"LockFileEx failed (winerror {err})")


def _win_unlock(fd: int) -> None:  # pragma: no cover - Windows only
    import ctypes
    import msvcrt

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.UnlockFile(msvcrt.get_osfhandle(fd), 0, 0, 0xFFFFFFFF, 0xFFFFFFFF)  # type: ignore[attr-defined]


def _lock(fd: int, exclusive: bool) -> bool:
    if sys.platform == "win32":
        return _win_lock(fd, exclusive)
    return _try_flock(fd, exclusive)


# -- public ----------------------------------------------------------------------------------


def probe(root: str) -> LockState:
    """Is uv using this cache? A non-blocking probe that holds nothing when it returns."""
    path = lock_path(root)
    if not os.path.lexists(path):
        return LockState.absent(path)
    try:
        fd, rw = _open(path)
    except (LockFileError, OSError) as exc:
        why = f"{exc.strerror} (os error {exc.errno})" if isinstance(exc, OSError) else str(exc)
        return LockState(
            path,
            exists=True,
            held=None,
            exclusive=None,
            supported=None,
            openable_rw=False,
            error=why,
        )
    try:
        try:
            if _lock(fd, exclusive=True):
                _unlock(fd)
                return LockState.taken(path, rw)
            # Someone holds it. Shared (uv running) or exclusive (clean/prune)?
            shared_ok = _lock(fd, exclusive=False)
            if shared_ok:
                _unlock(fd)
            return LockState(
                path,
                exists=True,
                held=True,
                exclusive=not shared_ok,
                supported=True,
                openable_rw=rw,
                holders=holders(path),
            )
        except OSError as exc:
            unsupported = exc.errno in _UNSUPPORTED
            return LockState(
                path,
                exists=True,
                held=None,
                exclusive=None,
                supported=False if unsupported else None,
                openable_rw=rw,
                error=f"{exc.strerror} (os error {exc.errno})",
            )
    finally:
        os.close(fd)


@contextmanager
def exclusive(root: str) -> Iterator[LockState]:
    """Hold uv's exclusive cache lock, or raise CacheInUseError at once (never wait).

    Hold it briefly: every uv that starts meanwhile blocks, and gives up after UV_LOCK_TIMEOUT.
    A cache without `.lock` (no uv >= 0.8.19 ever ran here) yields an unlocked state: callers
    decide whether running uv processes make that unsafe.
    """
    path = lock_path(root)
    if not os.path.lexists(path):
        yield LockState.absent(path)
        return
    fd, rw = _open(path)
    try:
        if not _lock(fd, exclusive=True):
            hs = holders(path)
            who = ", ".join(h.label() for h in hs) or "another uv process"
            raise CacheInUseError(
                f"uv is using this cache right now ({who}); nothing was changed",
                tuple(h.label() for h in hs),
                tuple(h.pid for h in hs),
            )
        try:
            yield LockState.taken(path, rw)
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def shared(root: str, timeout: float = 10.0) -> Iterator[LockState]:
    """Hold the shared lock like any uv command does, waiting up to `timeout` seconds."""
    path = lock_path(root)
    if not os.path.lexists(path):
        yield LockState.absent(path)
        return
    fd, rw = _open(path)
    try:
        deadline = time.monotonic() + timeout
        while not _lock(fd, exclusive=False):
            if time.monotonic() > deadline:
                hs = holders(path)
                raise CacheInUseError(
                    f"timed out after {timeout:.0f} s waiting for the cache lock "
                    f"({', '.join(h.label() for h in hs) or 'held exclusively'})",
                    tuple(h.label() for h in hs),
                    tuple(h.pid for h in hs),
                )
            time.sleep(0.05)
        try:
            yield LockState.taken(path, rw)
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
