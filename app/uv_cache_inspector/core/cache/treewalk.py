"""Walk a directory tree through descriptors: never follow a link, hold one descriptor per level.

Used wherever the inspector changes or counts a tree it may later act on (repair's ownership and
mode fixes, the count of hard-linked files a plan shows). A walk that keeps every directory's
descriptor open until the end fails with EMFILE on a large `archive-v0` under the default
`ulimit -n 1024`; this one holds at most the depth of the tree.

Also: which files of a tree are hard-linked to places outside it. uv installs by hard-linking
files out of `archive-v0`, so such a file can be the very inode of a file in an environment that
root or another user runs (issue 20): its owner and mode are not the cache's to change.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from uv_cache_inspector.core.errors import CancelledError
from uv_cache_inspector.core.model import CancelToken

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

Visit = Callable[[int, str, os.stat_result], None]
Opener = Callable[[int, str], int]


def open_dir(pfd: int, name: str) -> int:
    return os.open(name, DIR_FLAGS, dir_fd=pfd)


def _entries(dfd: int) -> list[tuple[str, os.stat_result]]:
    # Listed in full before anything is visited: a visit may add or rename entries here.
    out = []
    with os.scandir(dfd) as it:
        for e in it:
            try:
                out.append((e.name, e.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
    return out


def walk(
    dfd: int,
    visit: Visit,
    *,
    opener: Opener = open_dir,
    token: CancelToken | None = None,
) -> None:
    """Call `visit(parent_fd, name, lstat)` for every entry below the open directory `dfd`,
    top-down (a directory is visited before it is entered). The caller keeps `dfd` open; the
    walk holds at most one more descriptor per level of depth."""

    def scan(fd: int) -> list[str]:
        subdirs = []
        for name, st in _entries(fd):
            visit(fd, name, st)
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(name)
        subdirs.reverse()
        return subdirs

    stack: list[tuple[int, list[str]]] = [(dfd, scan(dfd))]
    try:
        while stack:
            fd, pending = stack[-1]
            if not pending:
                stack.pop()
                if fd != dfd:
                    os.close(fd)
                continue
            if token is not None and token.cancelled():
                raise CancelledError("cancelled")
            child = opener(fd, pending.pop())
            try:
                below = scan(child)
            except BaseException:
                os.close(child)
                raise
            stack.append((child, below))
    finally:
        for fd, _ in stack:
            if fd != dfd:
                os.close(fd)


def shared_inodes(pfd: int, name: str | None) -> dict[tuple[int, int], int]:
    """How often each multiply-linked regular file occurs in the tree `name` of `pfd` (or in the
    directory `pfd` itself when `name` is None): {(dev, inode): links seen in the tree}. A file
    whose count here equals its link count has no link outside the tree."""
    seen: dict[tuple[int, int], int] = {}

    def count(_fd: int, _name: str, st: os.stat_result) -> None:
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            seen[key] = seen.get(key, 0) + 1

    if name is not None:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            count(pfd, name, st)
            return seen
        fd = open_dir(pfd, name)
        try:
            walk(fd, count)
        finally:
            os.close(fd)
    else:
        walk(pfd, count)
    return seen


def linked_elsewhere(st: os.stat_result, inside: dict[tuple[int, int], int]) -> bool:
    """A regular file with a hard link outside the tree that `inside` was counted over."""
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_nlink > 1
        and inside.get((st.st_dev, st.st_ino), 0) < st.st_nlink
    )


def count_linked_elsewhere(path: str, keep_uid: int | None) -> tuple[int, int]:
    """(files, bytes) in the tree at `path` that are hard-linked outside it and not owned by
    `keep_uid`: what a repair of that tree replaces with copies instead of changing in place.
    Best effort (for the plan's wording): unreadable parts are not counted."""
    parent, name = os.path.split(path)
    multi: list[os.stat_result] = []

    def collect(_fd: int, _name: str, st: os.stat_result) -> None:
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            multi.append(st)

    try:
        pfd = os.open(parent or ".", DIR_FLAGS)
    except OSError:
        return 0, 0
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            fd = open_dir(pfd, name)
            try:
                walk(fd, collect)
            finally:
                os.close(fd)
        else:
            collect(pfd, name, st)
    except OSError:
        pass
    finally:
        os.close(pfd)
    inside: dict[tuple[int, int], int] = {}
    for st in multi:
        key = (st.st_dev, st.st_ino)
        inside[key] = inside.get(key, 0) + 1
    files = nbytes = 0
    for st in multi:
        if st.st_uid != keep_uid and linked_elsewhere(st, inside):
            files += 1
            nbytes += st.st_size
    return files, nbytes
