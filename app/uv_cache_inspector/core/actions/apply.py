"""Execute a plan, and never lose what should stay.

Guarantees (each a test: tests/core/test_plan_apply.py and tests/e2e/, listed in the README's
Safety table):

- Only a uv cache: a directory with uv's evidence (cache/layout.py, `not_a_cache_reason`); never
  the filesystem root, a home directory or a system directory, whatever path was typed.
- Only while uv is not running: uv's exclusive cache lock is taken without waiting
  (docs/uv-cache-format.md §5); if uv holds it, nothing is done and the holders are named (exit
  3). `force` is the user's explicit override. A cache without `.lock` (no uv >= 0.8.19 ever
  ran) is refused while any uv runs.
- Only inside the root, never through a symlink: every path is reached from a file descriptor
  of the root, one component at a time with O_NOFOLLOW; the target is checked again (same type,
  inode, device) the moment its action runs; a link is removed as a link, wherever it points;
  chmod goes through an O_PATH descriptor, chown with AT_SYMLINK_NOFOLLOW.
- A usable cache at every instant, even when killed: the plan's order puts links and pointers
  before the archives they name; a directory is first renamed aside into a `.tmpXXXXXX` at the
  root (atomic; uv's own prune removes such leftovers), then removed. A `.tmp*` directory at the
  root is removed where it is: it already is such a leftover, so the rename would change nothing.
- Never through a mount: before a directory is removed, the mount table says nothing is mounted
  inside it. The table is read again only when the kernel says it changed (MountWatch), so each
  check is as fresh as a new read at that instant.
- A journal (JSON lines) in the user's log directory: each line reaches the operating system as
  its action starts and ends (a killed process loses none of it); it is forced to disk (fsync)
  at the start, at most every JOURNAL_SYNC_SECONDS while actions run, and at the end, so a power
  cut or an operating-system crash can lose at most the last 0.1 s of lines. (An fsync per line
  made 10,000 small deletions take seconds of waiting for the disk.)

Windows has no directory descriptors in Python: there each action re-checks with lstat just
before acting (not verified on Windows).
"""

from __future__ import annotations

import contextlib
import errno as errnos
import json
import os
import secrets
import stat
import string
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from uv_cache_inspector.core.actions.model import Action, Plan
from uv_cache_inspector.core.cache.layout import CACHEDIR_TAG_SIGNATURE, not_a_cache_reason
from uv_cache_inspector.core.cache.treewalk import linked_elsewhere, shared_inodes, walk
from uv_cache_inspector.core.errors import (
    CacheInUseError,
    CancelledError,
    NotACacheError,
    ReadOnlyCacheError,
    UnsafeTargetError,
)
from uv_cache_inspector.core.model import CancelToken, Progress

if TYPE_CHECKING:
    from uv_cache_inspector.core.actions.inuse import Guard
    from uv_cache_inspector.core.platform import MountWatch

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_PATH = getattr(os, "O_PATH", 0)
FD_SAFE = os.unlink in os.supports_dir_fd and os.scandir in os.supports_fd and _NOFOLLOW != 0
_TMP_CHARS = string.ascii_letters + string.digits

SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/tmp",
        "/Users",
        "/Library",
        "/System",
        "/Applications",
        "/private",
        "/private/tmp",
    }
)


@dataclass
class ActionResult:
    action: Action
    done: bool = False
    error: str | None = None
    freed: int = 0
    skipped: bool = False
    replaced: int = 0  # files shared with other places, replaced by the cache's own copies

    def to_json(self) -> dict[str, Any]:
        out = self.action.to_json()
        out.update(
            done=self.done, error=self.error, bytes=self.freed if self.done else self.action.bytes
        )
        if self.replaced:
            out["replaced_files"] = self.replaced
        if self.skipped:
            out["skipped"] = True
        return out


@dataclass
class ApplyResult:
    results: list[ActionResult] = field(default_factory=list)
    journal: str | None = None
    forced: bool = False
    journal_error: str | None = None  # the journal stopped (a full disk): the work went on
    while_in_use: str | None = None  # why it went on while uv runs (None: under the lock)

    @property
    def freed_bytes(self) -> int:
        return sum(r.freed for r in self.results if r.done)

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if not r.done]


# -- is this a uv cache we may act on? -------------------------------------------------------


def _home_dirs() -> set[str]:
    homes = {os.path.expanduser("~")}
    try:
        import pwd

        homes |= {p.pw_dir for p in pwd.getpwall() if p.pw_dir}
    except ImportError:
        for var in ("USERPROFILE", "HOMEPATH"):
            if os.environ.get(var):
                homes.add(os.environ[var])
    return {os.path.realpath(h) for h in homes if h}


def check_target(root: str) -> str:
    """The real path of a directory we may act on, or UnsafeTargetError / NotACacheError."""
    real = os.path.realpath(root)
    norm = os.path.normcase(real)
    if norm in {os.path.normcase(d) for d in SYSTEM_DIRS} or os.path.dirname(norm) == norm:
        raise UnsafeTargetError(f"refusing to act on {real}: it is a system directory")
    if norm in {os.path.normcase(h) for h in _home_dirs()}:
        raise UnsafeTargetError(f"refusing to act on {real}: it is a home directory")
    if sys.platform == "win32" and len(real.rstrip("\\/")) <= 2:
        raise UnsafeTargetError(f"refusing to act on {real}: it is a drive root")
    if not os.path.isdir(real):
        raise NotACacheError(f"{root} is not a directory")
    tag = os.path.join(real, "CACHEDIR.TAG")
    tag_ok = False
    try:
        with open(tag, "rb") as fh:
            tag_ok = fh.read(64).startswith(CACHEDIR_TAG_SIGNATURE)
    except OSError:
        tag_ok = False
    try:
        with os.scandir(real) as it:
            names = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    except OSError as exc:
        raise NotACacheError(f"cannot list {real}: {exc.strerror}") from exc
    why = not_a_cache_reason(names, tag_ok)
    if why is not None:
        raise NotACacheError(f"{real} is not a uv cache ({why}); nothing was changed")
    return real


# -- walking to a target without following links ---------------------------------------------


class ChangedError(Exception):
    """The target is not what the plan saw (moved, replaced, turned into a link)."""


@contextlib.contextmanager
def _parent_fd(root_fd: int, real_root: str, path: str) -> Iterator[tuple[int, str]]:
    """(fd of the parent directory, entry name), reached from the root one component at a time
    without following any symlink."""
    rel = os.path.relpath(path, real_root)
    if rel in {".", ""} or rel.startswith(".."):
        raise ChangedError(f"{path} is not inside the cache")
    parts = rel.split(os.sep)
    fds: list[int] = []
    fd = root_fd
    try:
        for part in parts[:-1]:
            try:
                fd = os.open(part, _DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno in {errnos.ELOOP, errnos.ENOTDIR}:
                    raise ChangedError(
                        f"{part} on the way to {rel} is no longer a directory"
                    ) from exc
                raise
            fds.append(fd)
        yield fd, parts[-1]
    finally:
        for f in reversed(fds):
            os.close(f)


def _kind(st: os.stat_result) -> str:
    return "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"


def _verify(pfd: int, name: str, action: Action) -> os.stat_result:
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError as exc:
        raise ChangedError("it is gone already") from exc
    exp = action.expect
    if exp is not None and (_kind(st) != exp.kind or st.st_ino != exp.ino or st.st_dev != exp.dev):
        raise ChangedError(f"it changed since the plan was made (now a {_kind(st)})")
    return st


def _tmp_name(root_fd: int) -> str:
    for _ in range(100):
        name = ".tmp" + "".join(secrets.choice(_TMP_CHARS) for _ in range(6))
        try:
            os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        except FileNotFoundError:
            return name
    raise OSError(errnos.EEXIST, "no free temporary name")


# -- deleting ----------------------------------------------------------------------------------


def _ensure_rwx(pfd: int, name: str) -> None:
    """Give ourselves u+rwx on a directory we must empty (uv's clean does the same,
    docs/uv-cache-format.md §6)."""
    if _PATH and os.path.isdir("/proc/self/fd"):
        fd = os.open(name, _PATH | _NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(st.st_mode) | 0o700)
        finally:
            os.close(fd)
    else:
        with contextlib.suppress(NotImplementedError, OSError):
            os.chmod(name, 0o700, dir_fd=pfd, follow_symlinks=False)


def _open_dir(pfd: int, name: str) -> int:
    try:
        return os.open(name, _DIR, dir_fd=pfd)
    except PermissionError:
        _ensure_rwx(pfd, name)
        return os.open(name, _DIR, dir_fd=pfd)


def _blocks(st: os.stat_result) -> int:
    return st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size


def _rmtree_at(pfd: int, name: str, token: CancelToken | None) -> int:
    """Remove the directory `name` of `pfd` and everything below; never follows a link.
    Returns the physical bytes freed (files with no other hard link). Depth-first, holding one
    descriptor per level (a wide tree never runs out of descriptors)."""
    freed = 0

    def enter(parent: int, dname: str) -> tuple[int, list[str]]:
        nonlocal freed
        dfd = _open_dir(parent, dname)
        try:
            freed += _blocks(os.fstat(dfd))  # the directory's own block, freed with it
            subdirs = []
            with os.scandir(dfd) as it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append(e.name)
                    else:
                        os.unlink(e.name, dir_fd=dfd)
                        if not stat.S_ISREG(st.st_mode) or st.st_nlink == 1:
                            freed += _blocks(st)
        except BaseException:
            os.close(dfd)
            raise
        return dfd, subdirs

    # Each frame: (parent fd, name, fd of the directory, subdirectories still to remove)
    top_fd, top_subs = enter(pfd, name)
    stack: list[tuple[int, str, int, list[str]]] = [(pfd, name, top_fd, top_subs)]
    try:
        while stack:
            parent, dname, dfd, pending = stack[-1]
            if token is not None and token.cancelled():
                raise CancelledError("cancelled")
            if pending:
                sub = pending.pop()
                cfd, csubs = enter(dfd, sub)
                stack.append((dfd, sub, cfd, csubs))
                continue
            stack.pop()
            os.close(dfd)
            os.rmdir(dname, dir_fd=parent)
    finally:
        for _p, _n, f, _s in stack:
            os.close(f)
    return freed


def _delete(
    root_fd: int, real_root: str, action: Action, token: CancelToken | None, mounts: MountWatch
) -> int:
    with _parent_fd(root_fd, real_root, action.path) as (pfd, name):
        st = _verify(pfd, name, action)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=pfd)  # a link goes as a link, wherever it points
            return _blocks(st) if not stat.S_ISREG(st.st_mode) or st.st_nlink == 1 else 0
        mounted = mounts.below(action.path)
        if mounted:
            # A filesystem (often a bind mount of the same disk, same st_dev) is mounted inside:
            # removing the tree would delete what is mounted there, which is not the cache's.
            raise OSError(
                errnos.EBUSY,
                f"a filesystem is mounted inside it, at {mounted[0]}; unmount it first",
            )
        if pfd == root_fd and name.startswith(".tmp"):
            # Already a root .tmp*, what the rename below would make of it: uv's prune deletes
            # what a kill leaves of it, and no uv reads it as an entry.
            return _rmtree_at(root_fd, name, token)
        # Rename aside first: the tree leaves its place at once (atomic); if we are killed
        # while removing it, what is left is a root .tmp* that uv's prune deletes.
        aside = _tmp_name(root_fd)
        try:
            os.rename(name, aside, src_dir_fd=pfd, dst_dir_fd=root_fd)
        except OSError:
            return _rmtree_at(pfd, name, token)  # another filesystem, or a sticky parent
        return _rmtree_at(root_fd, aside, token)


# -- permissions -------------------------------------------------------------------------------
# uv installs by hard-linking files out of the cache, so a cache file can be the very inode of a
# file in an environment root or another user runs. Changing its owner or mode would change that
# file too (issue 20: a repair that handed root's code to a user). So a regular file with a link
# outside the tree being fixed, not owned by the user being served, is never changed in place:
# the cache gets its own copy (a new inode with the wanted owner and mode, renamed over the
# cache's name) and the other links keep the old inode untouched. The link count is read again
# for every file at the moment it is fixed, not taken from the plan.


@dataclass
class _Fixer:
    """One chown or chmod action over a tree."""

    root_fd: int
    kind: str  # "chown" | "chmod"
    uid: int  # chown: the new owner (-1: keep)
    gid: int  # the new group (-1: keep)
    add_dir: int = 0  # chmod: bits added to directories
    add_file: int = 0  # chmod: bits added to files
    served_uid: int | None = None  # the user the repair is for: their own files change in place
    inside: dict[tuple[int, int], int] = field(default_factory=dict)
    replaced: int = 0

    def target(self, st: os.stat_result) -> tuple[int, int, int]:
        """(uid, gid, mode) the entry should have."""
        mode = stat.S_IMODE(st.st_mode)
        if self.kind == "chown":
            uid = st.st_uid if self.uid == -1 else self.uid
            gid = st.st_gid if self.gid == -1 else self.gid
            if uid != st.st_uid and not stat.S_ISDIR(st.st_mode):
                mode &= ~(stat.S_ISUID | stat.S_ISGID)  # as chown(2) does
            return uid, gid, mode
        add = self.add_dir if stat.S_ISDIR(st.st_mode) else self.add_file
        gid = st.st_gid if self.gid == -1 else self.gid
        return st.st_uid, gid, mode | add

    def __call__(self, dfd: int, name: str, st: os.stat_result | None = None) -> None:
        if st is None:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            if self.kind == "chown":  # the link itself; whatever it points to is not touched
                os.chown(name, self.uid, self.gid, dir_fd=dfd, follow_symlinks=False)
            return
        uid, gid, mode = self.target(st)
        if (uid, gid, mode) == (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)):
            return
        if stat.S_ISREG(st.st_mode):
            self._fix_file(dfd, name, st, uid, gid, mode)
        elif stat.S_ISDIR(st.st_mode):
            _set_owner_mode(dfd, name, st, uid, gid, mode)
        # sockets, fifos, devices: uv writes none; leave them as they are

    def _fix_file(
        self, dfd: int, name: str, st: os.stat_result, uid: int, gid: int, mode: int
    ) -> None:
        flags = os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        readable = True
        try:
            fd = os.open(name, flags, dir_fd=dfd)
        except PermissionError:
            if not (_PATH and os.path.isdir("/proc/self/fd")):
                raise
            # A file of the user's own that they cannot read (the mode is what we fix).
            fd = os.open(name, _PATH | _NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
            readable = False
        try:
            now = os.fstat(fd)  # the link count as it is now, on the inode we hold
            if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev) or not stat.S_ISREG(now.st_mode):
                raise ChangedError(f"{name} was replaced while being fixed")
            shared = now.st_uid != self.served_uid and linked_elsewhere(now, self.inside)
            if shared:
                if not readable:
                    raise PermissionError(
                        errnos.EACCES, f"{name} is hard-linked elsewhere and cannot be read to copy"
                    )
                _replace_with_copy(self.root_fd, dfd, name, fd, now, uid, gid, mode)
                self.replaced += 1
                return
            via = fd if readable else f"/proc/self/fd/{fd}"
            if (uid, gid) != (now.st_uid, now.st_gid):
                os.chown(via, uid, gid)
            if mode != stat.S_IMODE(os.fstat(fd).st_mode):
                os.chmod(via, mode)
        finally:
            os.close(fd)


def _set_owner_mode(dfd: int, name: str, st: os.stat_result, uid: int, gid: int, mode: int) -> None:
    """chown/chmod a directory in place (directories are never hard-linked)."""
    if (uid, gid) != (st.st_uid, st.st_gid):
        os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
    if mode == stat.S_IMODE(st.st_mode):
        return
    if _PATH and os.path.isdir("/proc/self/fd"):
        fd = os.open(name, _PATH | _NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
        try:
            if os.fstat(fd).st_ino != st.st_ino:
                raise ChangedError(f"{name} was replaced while being fixed")
            os.chmod(f"/proc/self/fd/{fd}", mode)
        finally:
            os.close(fd)
    else:
        os.chmod(name, mode, dir_fd=dfd, follow_symlinks=False)


def _replace_with_copy(
    root_fd: int, dfd: int, name: str, src: int, st: os.stat_result, uid: int, gid: int, mode: int
) -> None:
    """Give the cache its own copy of the file `name` (open as `src`): a new inode with the
    wanted owner and mode, written as a `.tmp*` at the cache root (uv's prune removes one left
    by a kill) and renamed over the cache's name, which is atomic: uv sees the old file or the
    new one, never none. The other links keep the old inode, its owner and its mode."""
    tmp = _tmp_name(root_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    out = os.open(tmp, flags, 0o600, dir_fd=root_fd)
    try:
        try:
            offset = 0
            while True:
                if hasattr(os, "sendfile"):
                    n = os.sendfile(out, src, offset, 1 << 20)
                else:  # pragma: no cover - non-Linux
                    chunk = os.pread(src, 1 << 20, offset)
                    n = os.write(out, chunk) if chunk else 0
                if n == 0:
                    break
                offset += n
            os.fchown(out, uid, gid)
            os.fchmod(out, mode)
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
        _still(dfd, name, st)
        os.rename(tmp, name, src_dir_fd=root_fd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=root_fd)
        raise


def _still(dfd: int, name: str, st: os.stat_result) -> None:
    now = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
        raise ChangedError(f"{name} was replaced while being fixed")


def _fixer(root_fd: int, action: Action, served_uid: int | None) -> _Fixer:
    if action.kind == "chown":
        uid = -1 if action.uid is None else action.uid
        gid = -1 if action.gid is None else action.gid
        return _Fixer(root_fd, "chown", uid, gid, served_uid=uid if uid != -1 else served_uid)
    return _Fixer(
        root_fd,
        "chmod",
        -1,
        -1 if action.gid is None else action.gid,
        add_dir=action.add_mode or 0o700,
        add_file=action.add_file_mode or 0o600,
        served_uid=served_uid,
    )


def _fix_root(
    root_fd: int, action: Action, served_uid: int | None, token: CancelToken | None
) -> int:
    """chown/chmod of the cache root itself (through its descriptor) and, if recursive, of
    everything below it. Returns how many shared files were replaced."""
    st = os.fstat(root_fd)
    exp = action.expect
    if exp is not None and (st.st_ino, st.st_dev) != (exp.ino, exp.dev):
        raise ChangedError("the cache root changed since the plan was made")
    fixer = _fixer(root_fd, action, served_uid)
    uid, gid, mode = fixer.target(st)
    if (uid, gid) != (st.st_uid, st.st_gid):
        os.fchown(root_fd, uid, gid)
    if mode != stat.S_IMODE(st.st_mode):
        os.fchmod(root_fd, mode)
    if action.recursive:
        fixer.inside = shared_inodes(root_fd, None)
        walk(root_fd, fixer, opener=_open_dir, token=token)
    return fixer.replaced


def _fix(
    root_fd: int, real_root: str, action: Action, served_uid: int | None, token: CancelToken | None
) -> int:
    if os.path.realpath(action.path) == real_root:
        return _fix_root(root_fd, action, served_uid, token)
    with _parent_fd(root_fd, real_root, action.path) as (pfd, name):
        st = _verify(pfd, name, action)
        fixer = _fixer(root_fd, action, served_uid)
        recursive = action.recursive and stat.S_ISDIR(st.st_mode)
        fixer.inside = shared_inodes(pfd, name) if recursive or stat.S_ISREG(st.st_mode) else {}
        fixer(pfd, name, st)
        if recursive:
            dfd = _open_dir(pfd, name)
            try:
                walk(dfd, fixer, opener=_open_dir, token=token)
            finally:
                os.close(dfd)
        return fixer.replaced


# -- path-based fallback (Windows) ------------------------------------------------------------


def _act_by_path(real_root: str, action: Action) -> int:  # pragma: no cover - Windows only
    import shutil

    path = action.path
    if not os.path.realpath(os.path.dirname(path)).startswith(real_root):
        raise ChangedError("it is no longer inside the cache")
    st = os.lstat(path)
    exp = action.expect
    if exp is not None and (_kind(st) != exp.kind or st.st_ino != exp.ino):
        raise ChangedError("it changed since the plan was made")
    if action.kind != "delete":
        raise OSError(errnos.ENOTSUP, "ownership fixes are not supported on this platform")
    if _kind(st) == "dir" and not getattr(st, "st_file_attributes", 0) & 0x400:
        aside = os.path.join(real_root, ".tmp" + secrets.token_hex(3))
        os.rename(path, aside)
        shutil.rmtree(aside)
    else:
        os.unlink(path) if _kind(st) != "dir" else os.rmdir(path)
    return 0


# -- the journal ---------------------------------------------------------------------------------


def journal_dir() -> str:
    """Where journals go: $UVCI_JOURNAL_DIR, else the user's log directory (platformdirs)."""
    if os.environ.get("UVCI_JOURNAL_DIR"):
        return os.environ["UVCI_JOURNAL_DIR"]
    from platformdirs import user_log_dir

    return os.path.join(user_log_dir("uv-cache-inspector", appauthor=False), "journal")


JOURNAL_SYNC_SECONDS = 0.1


class Journal:
    """JSON lines: each written through to the operating system at once, forced to disk at the
    start, at most every JOURNAL_SYNC_SECONDS, and at the end (see the module's docstring)."""

    def __init__(self, directory: str | None, plan: Plan) -> None:
        self.fh: IO[str] | None = None
        self.path: str | None = None
        self.failed: str | None = None
        self._synced = float("-inf")
        if directory is None:
            return
        try:
            os.makedirs(directory, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.path = os.path.join(directory, f"{plan.kind}-{stamp}-{os.getpid()}.jsonl")
            self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError:
            self.fh = None
            self.path = None

    def write(self, *, sync: bool = False, **event: Any) -> None:
        if self.fh is None:
            return
        try:
            self.fh.write(json.dumps({"t": round(time.time(), 3), **event}) + "\n")
            self.fh.flush()
            now = time.monotonic()
            if sync or now - self._synced >= JOURNAL_SYNC_SECONDS:
                os.fsync(self.fh.fileno())
                self._synced = now
        except OSError as exc:
            # A full disk (the journal's, often the cache's too) must not stop the work half
            # way with a traceback: the journal ends here, and the result says so.
            self.failed = f"{exc.strerror or exc} (os error {exc.errno})"
            with contextlib.suppress(OSError):
                self.fh.close()
            self.fh = None

    def close(self) -> None:
        if self.fh is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fh.fileno())
            with contextlib.suppress(OSError):
                self.fh.close()
            self.fh = None


# -- apply ---------------------------------------------------------------------------------------


def _read_only(path: str) -> bool:
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    try:
        return bool(statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        return False


def _uv_running() -> list[str]:
    from uv_cache_inspector.core.platform import processes

    try:
        return [p.label() for p in processes.uv_processes()]
    except Exception:
        return []


def apply(
    plan: Plan,
    *,
    force: bool = False,
    cancel: CancelToken | None = None,
    journal: str | None = "",
    only: set[str] | None = None,
    while_in_use: bool = False,
    guard: Guard | None = None,
) -> Generator[Progress, None, ApplyResult]:
    """Execute `plan` (or only the actions whose paths are in `only`). Yields Progress.

    Normally under uv's exclusive cache lock: if uv holds it, CacheInUseError. When the only
    holders are this process's own launchers (`uv run uv-cache-inspector`), or `while_in_use`
    is asked for, it goes on under uv's shared lock instead (so no `uv cache clean/prune` runs
    meanwhile), and every deletion is checked against what running uv processes use, just
    before it happens (core.inuse): what may be in use is skipped, and the result says why."""

    token = cancel or CancelToken()
    real = check_target(plan.root)
    if _read_only(real) and plan.actions:
        raise ReadOnlyCacheError(
            f"{real} is on a read-only filesystem (a read-only mount or bind mount): nothing "
            "can be changed there, by the inspector or by uv; nothing was changed"
        )
    result = ApplyResult(forced=force)
    actions = [a for a in plan.ordered() if only is None or a.path in only]
    with contextlib.ExitStack() as stack:
        if not force:
            mode = _take_lock(stack, real, while_in_use)
            if mode is not None:
                result.while_in_use = mode
                if guard is None:
                    guard = _guard_without_snapshot(real)
        j = Journal(journal_dir() if journal == "" else journal, plan)
        stack.callback(j.close)  # forced to disk however this ends
        result.journal = j.path
        j.write(
            sync=True,
            event="begin",
            kind=plan.kind,
            root=real,
            actions=len(actions),
            force=force,
            while_in_use=result.while_in_use,
        )
        root_fd = os.open(real, _DIR) if FD_SAFE else -1
        if root_fd >= 0:
            stack.callback(os.close, root_fd)
            if os.fstat(root_fd).st_ino != os.stat(real).st_ino:
                raise UnsafeTargetError(f"{real} changed while being opened")
        from uv_cache_inspector.core.platform import MountWatch

        mounts = stack.enter_context(contextlib.closing(MountWatch()))
        total = len(actions)
        freed = 0  # result.freed_bytes, kept as we go (a sum per action made 10,000 quadratic)
        for i, action in enumerate(actions):
            if token.cancelled():
                j.write(sync=True, event="cancelled", at=i)
                raise CancelledError("cancelled; what was done so far is in the journal")
            yield Progress("applying", i, total, freed, action.path)
            r = ActionResult(action)
            j.write(event="doing", kind=action.kind, path=action.path)
            try:
                if result.while_in_use and guard is not None and action.kind == "delete":
                    _check_unused(guard, action)
                if root_fd < 0:
                    r.freed = _act_by_path(real, action)
                elif action.kind == "delete":
                    r.freed = _delete(root_fd, real, action, token, mounts)
                else:
                    r.replaced = _fix(root_fd, real, action, plan.for_uid, token)
                r.done = True
            except ChangedError as exc:
                r.skipped = True
                r.error = str(exc) if str(exc).startswith("kept:") else f"skipped: {exc}"
            except CancelledError:
                j.write(sync=True, event="cancelled", path=action.path)
                raise
            except OSError as exc:
                r.error = f"{exc.strerror or exc} (os error {exc.errno})"
            result.results.append(r)
            if r.done:
                freed += r.freed
            j.write(
                event="done" if r.done else "failed",
                kind=action.kind,
                path=action.path,
                freed=r.freed,
                error=r.error,
            )
        yield Progress("applying", total, total, freed, "done")
        j.write(sync=True, event="end", freed_bytes=freed, failed=len(result.failed))
        j.close()
        result.journal_error = j.failed
    return result


def _take_lock(stack: contextlib.ExitStack, real: str, while_in_use: bool) -> str | None:
    """Take uv's exclusive lock (None), or say why we go on while uv runs (a one-line notice),
    holding the shared lock; or raise CacheInUseError."""
    from uv_cache_inspector.core.actions import inuse
    from uv_cache_inspector.core.cache import lock

    try:
        state = stack.enter_context(lock.exclusive(real))
    except CacheInUseError as exc:
        own = inuse.only_own_launchers(exc.pids)
        if not (own or while_in_use):
            raise
        try:
            stack.enter_context(lock.shared(real, timeout=0))
        except CacheInUseError as busy:
            raise CacheInUseError(
                "uv is cleaning or pruning this cache right now; nothing was changed",
                busy.holders,
                busy.pids,
            ) from None
        if own:
            return (
                f"the cache lock is held only by the uv that started this program "
                f"({', '.join(exc.holders)}); going on, leaving alone what running uv "
                "processes use"
            )
        return (
            f"uv is running ({', '.join(exc.holders) or 'holders unknown'}); going on as asked, "
            "leaving alone what running uv processes use"
        )
    if state.exists:
        return None
    # No lock file: a uv older than 0.8.19 would not lock at all. Only uv processes that use
    # this very cache count (never ours, never one on another cache).
    users = inuse.uv_using(real)
    if not users:
        return None
    if not while_in_use:
        raise CacheInUseError(
            "this cache has no lock file (uv older than 0.8.19 does not lock), and uv is using "
            f"it ({', '.join(users)}); nothing was changed",
            tuple(users),
        )
    return f"uv is using this cache ({', '.join(users)}); leaving alone what it uses"


def _check_unused(guard: Guard, action: Action) -> None:
    """Just before a deletion while uv runs: ChangedError("kept: why") if it may be in use."""
    why = guard.why(action.path, environment=action.category == "environment")
    if why is None:
        why = _still_named(guard, action.path)
    if why is not None:
        raise ChangedError(f"kept: {why}")


def _guard_without_snapshot(real: str) -> Guard:
    from uv_cache_inspector.core.actions.inuse import Guard

    return Guard(real)


def _still_named(guard: Guard, path: str) -> str | None:
    """An archive about to go that a link on disk still names (a uv made one meanwhile, or its
    removal was skipped): it stays, or uv would find a link without its archive."""
    for entry, target in guard.link_targets.items():
        if target != path:
            continue
        try:
            now = os.readlink(entry)
        except OSError:
            continue
        if os.path.basename(now.rstrip("/\\")) == os.path.basename(path):
            return f"a link still names it ({os.path.relpath(entry, guard.root)})"
    return None
