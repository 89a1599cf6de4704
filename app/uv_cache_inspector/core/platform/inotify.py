"""Linux inotify through ctypes: one instance, many non-recursive directory watches, one thread.

Why not watchdog here: its Linux observer opens one inotify instance (and one thread) per
scheduled directory. A cache with 3,000 packages needs 3,000 directory watches; the default limit
is 128 instances per user (fs.inotify.max_user_instances), so most of those watches would die
silently in their threads. One instance holds thousands of watches (fs.inotify.max_user_watches)
and costs one file descriptor and one thread.

Events reach a callback as (kind, path, is_dir) with kind one of "created", "deleted",
"opened", "closed" and "overflow"; a rename arrives as "deleted" (old name) then "created" (new
name), which is all the cache watcher needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import threading
from collections.abc import Callable

IN_ACCESS = 0x001
IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_CLOSE_NOWRITE = 0x010
IN_OPEN = 0x020
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

STRUCTURE = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
OPEN_CLOSE = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len

Callback = Callable[[str, str, bool], None]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
        lib.inotify_init1  # noqa: B018 (present on every glibc/musl since 2.9)
    except (OSError, AttributeError):
        return None
    return lib


def parse_events(buf: bytes) -> list[tuple[int, int, bytes]]:
    """The (wd, mask, name) records in one read() of an inotify descriptor; a truncated tail
    is dropped."""
    out = []
    i = 0
    n = len(buf)
    while i + _HEADER.size <= n:
        wd, mask, _cookie, length = _HEADER.unpack_from(buf, i)
        start = i + _HEADER.size
        end = start + length
        if end > n:
            break
        out.append((wd, mask, buf[start:end].split(b"\0", 1)[0]))
        i = end
    return out


class Inotify:
    """A single inotify instance. add() and remove() may be called from any thread."""

    def __init__(self, callback: Callback) -> None:
        lib = _libc()
        if lib is None:
            raise OSError(errno.ENOSYS, "inotify is not available")
        self._lib = lib
        fd = lib.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"inotify_init1: {os.strerror(e)}")
        self._fd = fd
        self._callback = callback
        self._paths: dict[int, str] = {}
        self._wds: dict[str, int] = {}
        self._mutex = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None

    def add(self, path: str, mask: int = STRUCTURE) -> None:
        """Watch one directory (not what is below it); raises OSError (ENOSPC when the user's
        watch limit is reached, EACCES, ENOENT, ...)."""
        raw = os.fsencode(path)
        wd = self._lib.inotify_add_watch(self._fd, raw, mask | IN_ONLYDIR | IN_DONT_FOLLOW)
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), path)
        with self._mutex:
            self._paths[wd] = path
            self._wds[path] = wd

    def remove(self, path: str) -> None:
        with self._mutex:
            wd = self._wds.pop(path, None)
            if wd is not None:
                self._paths.pop(wd, None)
        if wd is not None:
            self._lib.inotify_rm_watch(self._fd, wd)

    def __len__(self) -> int:
        with self._mutex:
            return len(self._wds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="uvci-inotify")
        self._thread.start()

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        for fd in (self._fd, self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _loop(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._fd, self._stop_r], [], [])
            except OSError:
                return
            if self._stop_r in ready:
                return
            try:
                buf = os.read(self._fd, 256 * 1024)
            except BlockingIOError:
                continue
            except OSError:
                return
            self._dispatch(parse_events(buf))

    def _dispatch(self, records: list[tuple[int, int, bytes]]) -> None:
        for wd, mask, name in records:
            if mask & IN_Q_OVERFLOW:
                self._callback("overflow", "", False)  # noqa: FBT003 (positional callback)
                continue
            with self._mutex:
                base = self._paths.get(wd)
                if mask & IN_IGNORED and base is not None:
                    # The directory went away (or was unwatched): forget it.
                    self._paths.pop(wd, None)
                    self._wds.pop(base, None)
            if base is None or not name:
                continue
            path = os.path.join(base, os.fsdecode(name))
            is_dir = bool(mask & IN_ISDIR)
            if mask & (IN_CREATE | IN_MOVED_TO):
                self._callback("created", path, is_dir)
            elif mask & (IN_DELETE | IN_MOVED_FROM):
                self._callback("deleted", path, is_dir)
            elif mask & IN_OPEN:
                self._callback("opened", path, is_dir)
            elif mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE):
                self._callback("closed", path, is_dir)
