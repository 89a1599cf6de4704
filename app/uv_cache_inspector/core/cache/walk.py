"""The walker: one subtree in, one aggregate out. Never follows a symlink. Also the scan worker.

Speed matters here (the scan is benchmarked against `uv cache size`, docs/uv-cache-format.md §6):
the inner loop stats each entry once through a directory file descriptor (`fstatat`, one path
component for the kernel to resolve), keeps sums instead of per-file objects, and stores the inode
numbers of hard-linked files in flat `array('Q')` buffers, so memory grows with the number of units,
not files.

Two walkers give the same results (tests/core/test_walker_parity.py): the compiled one (_walker.c
beside this file, built where a C compiler was found at install time), which walks whole lists of
units without the GIL, so the scan runs it in threads; and the Python one below, the reference, the
fallback, and the only one on Windows, which the scan runs in spawned worker processes that import
only this module (see `worker_main`).

Ownership and permissions are recorded as *marks* at the points where they change (a directory
whose owner, group or mode differs from its parent's, a file whose owner differs from its
directory's or that its owner cannot read, a directory that cannot be opened), with the count and
size of what lies below: a root-owned tree of 100k files is one mark.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Any

_IFMT = 0o170000
_IFDIR = 0o040000
_IFREG = 0o100000
_IFLNK = 0o120000

MAX_DEPTH = 200
MAX_MARKS = 2000
MAX_TOP_NAMES = 256

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_USE_FD = os.scandir in os.supports_fd and os.stat in os.supports_dir_fd and _NOFOLLOW != 0
_HAS_BLOCKS = hasattr(os.stat_result, "st_blocks")

# The compiled walker (_walker.c beside this file), built by the project's build where a C
# compiler is found (hatch_build.py); without it, or with UVCI_WALKER=python, the Python walker
# below runs. Both give identical results (tests/core/test_walker_parity.py).
_WALKER_API = 3  # must equal WALKER_API in _walker.c
WALKER_ENV = "UVCI_WALKER"
_compiled: Any = None
_compiled_missing = ""
try:
    import uv_cache_inspector.core.cache._walker as _compiled
except ModuleNotFoundError:  # no compiler at install time, or Windows
    _compiled_missing = "is not built"
except ImportError as _exc:
    _compiled_missing = f"cannot be loaded: {_exc}"
else:
    if getattr(_compiled, "API", None) != _WALKER_API:  # a stale build from other sources
        _compiled_missing = f"was built from other sources (API {getattr(_compiled, 'API', '?')})"
        _compiled = None


def compiled_available() -> bool:
    return _compiled is not None and _USE_FD


def use_compiled() -> bool:
    """Whether walk_unit runs the compiled walker (unless told otherwise per call)."""
    return compiled_available() and os.environ.get(WALKER_ENV, "").lower() != "python"


def walker_description() -> str:
    """Which walker runs, for `uvci --version` and the report."""
    if use_compiled():
        return "compiled walker"
    if compiled_available():
        return f"Python walker: {WALKER_ENV}=python"
    if not _USE_FD:
        return "Python walker: no directory descriptors on this platform"
    return f"Python walker: the compiled one {_compiled_missing}"


class UnitResult:
    """The aggregate of one walked subtree (an archive, a temporary directory, a bucket part).

    A plain slotted class, not a dataclass: scan workers import this module and nothing heavy,
    and thousands of these cross a pipe per scan (pickled as one tuple each).
    """

    __slots__ = (
        "bytes",
        "dev",
        "dirs",
        "dist_info",
        "exists",
        "files",
        "gid",
        "ino",
        "is_dir",
        "kind",
        "linked_bytes",
        "linked_ino",
        "marks",
        "marks_dropped",
        "max_atime",
        "max_mtime",
        "mode",
        "other_devices",
        "others",
        "path",
        "problems",
        "shared_bytes",
        "symlinks",
        "top",
        "top_truncated",
        "uid",
        "vanished",
    )

    def __init__(self, path: str, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.exists = True
        self.is_dir = True
        self.uid = self.gid = -1
        self.mode = 0  # full st_mode of the unit root
        self.ino = self.dev = 0
        self.bytes = 0  # allocated bytes of everything, the unit root included, links in full
        self.files = self.dirs = self.symlinks = self.others = 0
        self.max_atime = 0.0  # regular files only (directory atimes move when anyone lists them)
        self.max_mtime = 0.0
        self.linked_ino = b""  # array('Q') of inode numbers of files with st_nlink > 1
        self.linked_bytes = b""  # array('Q') of their allocated bytes, same order
        self.shared_bytes = 0
        self.top: list[str] = []  # names directly below the unit root (archives only)
        self.top_truncated = False
        self.dist_info: list[tuple[str, bool]] = []  # (name, has RECORD)
        # (relative path, reason, uid, gid, mode, is_dir, files below, bytes below, detail)
        self.marks: list[tuple[str, str, int, int, int, bool, int, int, str]] = []
        self.marks_dropped = 0
        self.problems: list[tuple[str, str, str]] = []  # (kind, relative path, detail)
        self.vanished = 0
        self.other_devices: list[int] = []

    def __getstate__(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


def _alloc(st: os.stat_result) -> int:
    if _HAS_BLOCKS:
        return st.st_blocks * 512
    return st.st_size


class _Marks:
    """Change points, with totals below each; nested marks roll up into their ancestors."""

    __slots__ = ("bytes", "dropped", "files", "items", "parents")

    def __init__(self) -> None:
        self.items: list[list[object]] = []
        self.parents: list[int] = []
        self.files: list[int] = []
        self.bytes: list[int] = []
        self.dropped = 0

    def add(
        self,
        rel: str,
        reason: str,
        st: os.stat_result,
        parent: int,
        detail: str = "",
    ) -> int:
        if len(self.items) >= MAX_MARKS:
            self.dropped += 1
            return parent
        is_dir = (st.st_mode & _IFMT) == _IFDIR
        self.items.append([rel, reason, st.st_uid, st.st_gid, st.st_mode & 0o7777, is_dir, detail])
        self.parents.append(parent)
        self.files.append(0 if is_dir else 1)
        self.bytes.append(0 if is_dir else _alloc(st))
        return len(self.items) - 1

    def finish(self) -> list[tuple[str, str, int, int, int, bool, int, int, str]]:
        # Children are always created after their parents (depth-first), so one reverse pass
        # adds every subtree into its nearest marked ancestor.
        for i in range(len(self.items) - 1, -1, -1):
            p = self.parents[i]
            if p >= 0:
                self.files[p] += self.files[i]
                self.bytes[p] += self.bytes[i]
        out = []
        for i, (rel, reason, uid, gid, mode, is_dir, detail) in enumerate(self.items):
            out.append(
                (
                    str(rel),
                    str(reason),
                    int(uid),  # type: ignore[call-overload]
                    int(gid),  # type: ignore[call-overload]
                    int(mode),  # type: ignore[call-overload]
                    bool(is_dir),
                    self.files[i],
                    self.bytes[i],
                    str(detail),
                )
            )
        return out


def walk_unit(
    path: str,
    kind: str = "tree",
    parent_owner: tuple[int, int, int] | None = None,
    *,
    compiled: bool | None = None,
) -> UnitResult:
    """Walk `path` (not following symlinks) and return its aggregate. Never raises for I/O.

    `parent_owner` is (uid, gid, mode) of the directory that holds `path`: a unit whose own
    owner or mode differs from it is itself a mark. `compiled` picks the walker (default:
    `use_compiled()`); the result is the same either way.
    """
    if use_compiled() if compiled is None else (compiled and compiled_available()):
        return _walk_compiled([(path, kind, parent_owner)])[0]
    res = UnitResult(path, kind)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        res.exists = False
        res.vanished = 1
        return res
    except OSError as exc:
        res.exists = False
        res.problems.append(("unreadable", "", _err(exc)))
        return res
    res.uid, res.gid, res.mode, res.ino, res.dev = (
        st.st_uid,
        st.st_gid,
        st.st_mode,
        st.st_ino,
        st.st_dev,
    )
    res.bytes = _alloc(st)
    res.max_mtime = st.st_mtime_ns / 1e9
    marks = _Marks()
    root_mark = -1
    if parent_owner is not None:
        puid, pgid, pmode = parent_owner
        if st.st_uid != puid or st.st_gid != pgid:
            root_mark = marks.add("", "owner", st, -1)
        elif (st.st_mode & _IFMT) == _IFDIR and (st.st_mode & 0o7777) != pmode:
            root_mark = marks.add("", "mode", st, -1)
    fmt = st.st_mode & _IFMT
    if fmt != _IFDIR:
        res.is_dir = False
        if fmt == _IFREG:
            res.files = 1
            res.max_atime = st.st_atime_ns / 1e9
            if st.st_nlink > 1:
                res.linked_ino = array("Q", [st.st_ino]).tobytes()
                res.linked_bytes = array("Q", [res.bytes]).tobytes()
                res.shared_bytes = res.bytes
        elif fmt == _IFLNK:
            res.symlinks = 1
        else:
            res.others = 1
        res.marks = marks.finish()
        return res
    if _USE_FD:
        _walk_fd(path, st, res, marks, root_mark)
    else:
        _walk_paths(path, res, marks, root_mark)
    res.marks = marks.finish()
    res.marks_dropped = marks.dropped
    return res


def _walk_compiled(units: list[tuple[str, str, tuple[int, int, int] | None]]) -> list[UnitResult]:
    """`walk_unit` of each unit by the compiled walker (core/cache/_walker.c), which walks them all
    without the GIL and hands back plain tuples."""
    assert _compiled is not None
    out = []
    for fields, problems, devices in _compiled.walk_units(
        units, MAX_MARKS, MAX_DEPTH, MAX_TOP_NAMES
    ):
        res = UnitResult(fields[0], fields[1])
        (
            _path,
            _kind,
            res.exists,
            res.is_dir,
            res.uid,
            res.gid,
            res.mode,
            res.ino,
            res.dev,
            root_bytes,
            below_bytes,
            res.files,
            res.dirs,
            res.symlinks,
            res.others,
            max_atime_ns,
            max_mtime_ns,
            res.linked_ino,
            res.linked_bytes,
            res.shared_bytes,
            res.top,
            res.top_truncated,
            dist_info,
            res.marks,
            res.marks_dropped,
            res.vanished,
        ) = fields
        res.exists, res.is_dir = bool(res.exists), bool(res.is_dir)
        res.bytes = root_bytes + below_bytes
        res.max_atime = max_atime_ns / 1e9
        res.max_mtime = max_mtime_ns / 1e9
        res.dist_info = sorted(dist_info)
        res.problems = problems
        res.other_devices = devices
        out.append(res)
    return out


# One entry of a directory as `list_dir` gives it: (name, kind as os.DirEntry tells it ("link",
# "dir", "file"), st_mode, st_ino, st_nlink, st_uid, st_gid, st_size, st_blocks, errno of its
# lstat (0: the fields are valid), a link's target (None: not a link, or unreadable), errno of
# reading the link).
Listed = tuple[str, str, int, int, int, int, int, int, int, int, "str | None", int]


def list_dir(path: str, *, compiled: bool | None = None) -> list[Listed]:
    """The entries of the directory `path` (not followed if it is a link), each lstat-ed once,
    links read; OSError for the directory itself. The scan's link walk lists with it."""
    if use_compiled() if compiled is None else (compiled and compiled_available()):
        assert _compiled is not None
        return _compiled.list_dir(path)  # type: ignore[no-any-return]
    return _list_dir_python(path)


def _list_dir_python(path: str) -> list[Listed]:
    """`list_dir` in Python: the reference of the compiled one, and its fallback."""
    dfd = os.open(path, _DIR_FLAGS | _NOFOLLOW) if _USE_FD else None
    try:
        with os.scandir(path if dfd is None else dfd) as it:
            entries = list(it)
        out: list[Listed] = []
        for e in entries:
            try:
                kind = (
                    "link"
                    if e.is_symlink()
                    else "dir"
                    if e.is_dir(follow_symlinks=False)
                    else "file"
                )
            except OSError:  # its type unknown to the listing, and it cannot be lstat-ed
                kind = "file"
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                out.append((e.name, kind, 0, 0, 0, 0, 0, 0, 0, exc.errno or 5, None, 0))
                continue
            target, link_err = None, 0
            if (st.st_mode & _IFMT) == _IFLNK:
                try:
                    target = os.readlink(e.path if dfd is None else e.name, dir_fd=dfd)
                except OSError as exc:
                    link_err = exc.errno or 5
            out.append(
                (
                    e.name,
                    kind,
                    st.st_mode,
                    st.st_ino,
                    st.st_nlink,
                    st.st_uid,
                    st.st_gid,
                    st.st_size,
                    getattr(st, "st_blocks", 0),
                    0,
                    target,
                    link_err,
                )
            )
        return out
    finally:
        if dfd is not None:
            os.close(dfd)


def _err(exc: OSError) -> str:
    return f"{exc.strerror or exc} (os error {exc.errno})" if exc.errno else str(exc)


def _walk_fd(
    path: str,
    root_st: os.stat_result,
    res: UnitResult,
    marks: _Marks,
    root_mark: int,
) -> None:
    """The POSIX walk: the unit root opened once (never through a symlink), everything below
    reached from its descriptor."""
    try:
        rootfd = os.open(path, _DIR_FLAGS | _NOFOLLOW)
    except FileNotFoundError:
        res.vanished += 1
        return
    except OSError as exc:
        marks.add("", "unreadable", root_st, root_mark, _err(exc))
        return
    try:
        _walk_fd_python(rootfd, root_st, res, marks, root_mark)
    finally:
        os.close(rootfd)


def _walk_fd_python(
    rootfd: int,
    root_st: os.stat_result,
    res: UnitResult,
    marks: _Marks,
    root_mark: int,
) -> None:
    """The reference walk: scandir on a directory fd, fstatat per entry, no symlink followed.

    The per-entry loop is the scan's hot path (300k iterations on the benchmark cache): it does
    only what every entry needs. Work that depends on names (an archive's top level, its
    .dist-info) happens in the few directories that need it; file mtimes are tracked only for
    temporary directories (their age decides whether they are orphans), because a file's
    creation already moves its directory's mtime. Times are compared as integer nanoseconds
    (as the compiled walker does) and turned into floats once, at the end.
    """
    ifmt, ifreg, ifdir, iflnk = _IFMT, _IFREG, _IFDIR, _IFLNK
    dir_flags = _DIR_FLAGS | _NOFOLLOW
    lino = array("Q")
    lblk = array("Q")
    ino_append, blk_append = lino.append, lblk.append
    mark_add = marks.add
    mark_files, mark_bytes = marks.files, marks.bytes
    blocks = files = dirs = symlinks = others = vanished = 0
    max_atime = 0
    max_mtime = root_st.st_mtime_ns
    track_file_mtime = res.kind != "archive"
    unit_dev = root_st.st_dev
    seen_dirs: set[int | tuple[int, int]] = {root_st.st_ino}
    top: list[str] = []
    dist_info_dirs: dict[str, bool] = {}
    is_archive = res.kind == "archive"
    problems = res.problems
    # Stack items: (relative path, depth, nearest mark, dir uid, dir gid, dir mode)
    stack: list[tuple[str, int, int, int, int, int]] = [
        ("", 0, root_mark, root_st.st_uid, root_st.st_gid, root_st.st_mode & 0o7777)
    ]
    while stack:
        rel, depth, mk, duid, dgid, dmode = stack.pop()
        if rel:
            try:
                dfd = os.open(rel, dir_flags, dir_fd=rootfd)
            except FileNotFoundError:
                vanished += 1
                continue
            except PermissionError as exc:
                try:
                    dst = os.stat(rel, dir_fd=rootfd, follow_symlinks=False)
                    mark_add(rel, "unreadable", dst, mk, _err(exc))
                except OSError:
                    problems.append(("unreadable", rel, _err(exc)))
                continue
            except OSError as exc:
                problems.append(("unreadable", rel, _err(exc)))
                continue
            prefix = rel + "/"
        else:
            dfd = rootfd
            prefix = ""
        named = is_archive and (depth == 0 or (depth == 1 and rel in dist_info_dirs))
        subdirs: list[tuple[str, os.stat_result]] = []
        try:
            with os.scandir(dfd) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        vanished += 1
                        continue
                    except OSError as exc:
                        problems.append(("unreadable", prefix + e.name, _err(exc)))
                        continue
                    blocks += st.st_blocks
                    m = st.st_mode
                    fmt = m & ifmt
                    if fmt == ifreg:
                        files += 1
                        if st.st_nlink > 1:
                            ino_append(st.st_ino)
                            blk_append(st.st_blocks * 512)
                        t = st.st_atime_ns
                        if t > max_atime:
                            max_atime = t
                        if track_file_mtime:
                            t = st.st_mtime_ns
                            if t > max_mtime:
                                max_mtime = t
                        if st.st_uid != duid or st.st_gid != dgid:
                            mark_add(prefix + e.name, "owner", st, mk)
                        elif not m & 0o400:
                            mark_add(prefix + e.name, "mode", st, mk)
                        elif mk >= 0:
                            mark_files[mk] += 1
                            mark_bytes[mk] += st.st_blocks * 512
                    elif fmt == ifdir:
                        subdirs.append((e.name, st))
                    elif fmt == iflnk:
                        symlinks += 1
                        if st.st_uid != duid:
                            mark_add(prefix + e.name, "owner", st, mk)
                    else:
                        others += 1
                        mark_add(prefix + e.name, "special", st, mk, "not a file or directory")
                    if named:
                        if depth == 0:
                            if len(top) < MAX_TOP_NAMES:
                                top.append(e.name)
                            else:
                                res.top_truncated = True
                        elif e.name == "RECORD":
                            dist_info_dirs[rel] = True
        except FileNotFoundError:
            vanished += 1
        except OSError as exc:
            problems.append(("unreadable", rel, _err(exc)))
        finally:
            if dfd != rootfd:
                os.close(dfd)
        for name, st in subdirs:
            dirs += 1
            t = st.st_mtime_ns
            if t > max_mtime:
                max_mtime = t
            child = prefix + name
            if is_archive and depth == 0 and name.endswith(".dist-info"):
                dist_info_dirs[child] = False
            cmk = mk
            if st.st_dev != unit_dev:
                key: int | tuple[int, int] = (st.st_dev, st.st_ino)
                if st.st_dev not in res.other_devices:
                    res.other_devices.append(st.st_dev)
                    cmk = mark_add(child, "mount", st, mk, "another filesystem")
            else:
                key = st.st_ino
            if key in seen_dirs:
                mark_add(child, "loop", st, mk, "directory seen twice")
                continue
            seen_dirs.add(key)
            if depth + 1 >= MAX_DEPTH:
                mark_add(child, "too-deep", st, mk, f"deeper than {MAX_DEPTH}")
                continue
            cmode = st.st_mode & 0o7777
            if st.st_uid != duid or st.st_gid != dgid:
                cmk = mark_add(child, "owner", st, mk)
            elif cmode != dmode:
                cmk = mark_add(child, "mode", st, mk)
            stack.append((child, depth + 1, cmk, st.st_uid, st.st_gid, cmode))
    res.bytes += blocks * 512
    res.files, res.dirs, res.symlinks, res.others = files, dirs, symlinks, others
    res.vanished += vanished
    res.max_atime = max_atime / 1e9
    res.max_mtime = max_mtime / 1e9
    res.top = top
    res.dist_info = sorted(dist_info_dirs.items())
    res.shared_bytes = sum(lblk)
    res.linked_ino = lino.tobytes()
    res.linked_bytes = lblk.tobytes()


def _walk_paths(
    path: str,
    res: UnitResult,
    marks: _Marks,
    root_mark: int,
) -> None:
    """The portable walk (Windows): path-based scandir; sizes are logical, not allocated."""
    lino = array("Q")
    lblk = array("Q")
    is_archive = res.kind == "archive"
    dist_info_dirs: dict[str, bool] = {}
    stack: list[tuple[str, int, int]] = [("", 0, root_mark)]
    while stack:
        rel, depth, mk = stack.pop()
        full = os.path.join(path, rel) if rel else path
        try:
            it = os.scandir(full)
        except FileNotFoundError:
            res.vanished += 1
            continue
        except OSError as exc:
            try:
                marks.add(rel, "unreadable", os.lstat(full), mk, _err(exc))
            except OSError:
                res.problems.append(("unreadable", rel, _err(exc)))
            continue
        with it:
            for e in it:
                child = os.path.join(rel, e.name) if rel else e.name
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    res.vanished += 1
                    continue
                except OSError as exc:
                    res.problems.append(("unreadable", child, _err(exc)))
                    continue
                b = _alloc(st)
                res.bytes += b
                fmt = st.st_mode & _IFMT
                if is_archive and depth == 0 and len(res.top) < MAX_TOP_NAMES:
                    res.top.append(e.name)
                if fmt == _IFDIR and not e.is_symlink() and not _is_junction(e):
                    res.dirs += 1
                    res.max_mtime = max(res.max_mtime, st.st_mtime)
                    if is_archive and depth == 0 and e.name.endswith(".dist-info"):
                        dist_info_dirs[child] = False
                    if depth + 1 >= MAX_DEPTH:
                        marks.add(child, "too-deep", st, mk, f"deeper than {MAX_DEPTH}")
                        continue
                    stack.append((child, depth + 1, mk))
                elif fmt == _IFREG:
                    res.files += 1
                    res.max_atime = max(res.max_atime, st.st_atime)
                    res.max_mtime = max(res.max_mtime, st.st_mtime)
                    if st.st_nlink > 1:
                        lino.append(st.st_ino)
                        lblk.append(b)
                    if mk >= 0:
                        marks.files[mk] += 1
                        marks.bytes[mk] += b
                    if is_archive and depth == 1 and e.name == "RECORD" and rel in dist_info_dirs:
                        dist_info_dirs[rel] = True
                elif fmt == _IFLNK or e.is_symlink():
                    res.symlinks += 1
                else:
                    res.others += 1
    res.dist_info = sorted(dist_info_dirs.items())
    res.shared_bytes = sum(lblk)
    res.linked_ino = lino.tobytes()
    res.linked_bytes = lblk.tobytes()


def _is_junction(entry: os.DirEntry[str]) -> bool:
    is_junction = getattr(entry, "is_junction", None)
    return bool(is_junction()) if is_junction is not None else False


def walk_many(
    units: list[tuple[str, str, tuple[int, int, int] | None]], *, compiled: bool | None = None
) -> list[UnitResult]:
    if use_compiled() if compiled is None else (compiled and compiled_available()):
        return _walk_compiled(units)
    return [walk_unit(p, k, o, compiled=False) for p, k, o in units]


WORKER_NICENESS = 10


WORKER_NICE_ENV = "UVCI_WORKER_NICENESS"


# What a worker does with each list of units: "walk" (the scan) or "verify" (core/cache/record.py,
# hashing archives against their RECORD). Set by core.workers.WorkerPool.
WORKER_TASK_ENV = "UVCI_WORKER_TASK"


def worker_task() -> Callable[[list[Any]], list[Any]]:
    if os.environ.get(WORKER_TASK_ENV) == "verify":
        from uv_cache_inspector.core.cache.record import check_many

        return check_many
    return walk_many


def worker_niceness() -> int | None:
    """The niceness walkers run at: this process's own plus WORKER_NICENESS (None: no nice)."""
    getp = getattr(os, "getpriority", None)
    if getp is None:
        return None
    try:
        return int(min(19, getp(os.PRIO_PROCESS, 0) + WORKER_NICENESS))
    except OSError:
        return None


def lower_priority(pid: int, niceness: int | None) -> None:
    """Set `pid` (0: this process) to `niceness` unless it is already that low. Absolute, so
    the parent (at spawn) and the worker (at start) can both call it without adding up."""
    setp = getattr(os, "setpriority", None)
    if setp is None or niceness is None:
        return
    try:
        if os.getpriority(os.PRIO_PROCESS, pid) < niceness:
            setp(os.PRIO_PROCESS, pid, niceness)
    except OSError:
        pass


def _yield_the_cpu() -> None:
    """Walkers run at a lower priority than the process that started them: on a machine with
    as many busy walkers as cores, the app's GUI thread (and the scan's own merging) would
    otherwise wait for the CPU behind them (stalls of 50-80 ms on 2 cores). When the cores are
    free, as usual, nothing changes. The parent lowers each worker's priority as soon as it is
    spawned (Windows: a lower priority class); the worker repeats it, in case the parent could
    not."""
    value = os.environ.get(WORKER_NICE_ENV, "")
    lower_priority(0, int(value) if value.lstrip("-").isdigit() else None)


def worker_main(_argv: Sequence[str] = ()) -> int:
    """A worker: reads length-prefixed pickled unit lists on stdin, answers on stdout; returns 0
    when its parent closes stdin.

    Started by cache/workers.py (core/selfexec.py says how); its input is trusted, from our own
    parent process, never from the cache.
    """
    import pickle

    _yield_the_cpu()
    task = worker_task()
    inp = sys.stdin.buffer
    out = sys.stdout.buffer
    while True:
        header = inp.read(8)
        if len(header) < 8:
            return 0
        size = int.from_bytes(header, "little")
        units = pickle.loads(inp.read(size))  # noqa: S301 - our own parent process
        data = pickle.dumps(task(units), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(8, "little"))
        out.write(data)
        out.flush()


if __name__ == "__main__":
    sys.exit(worker_main())
