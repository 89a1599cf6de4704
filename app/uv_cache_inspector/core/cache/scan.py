"""One pass over a uv cache: a `Snapshot` of buckets, archives, entries, temporary dirs, owners.

The work splits in two and runs concurrently:

- *units* (each archive in archive-v0, each temporary directory, each first-level part of the
  buckets without links) go to a pool of walkers (`core.workers`, `core.walk`): threads running
  the compiled walker, or processes running the Python one;
- the *link buckets* (wheels, sdists, environments) are walked by a thread here, reading every
  link as uv's prune does (uv-cache-format §6, "Archive garbage collection"): symlinks and
  Windows link files both, and which of them uv counts is decided by what the cache holds (a
  Windows cache read from WSL or Linux has link files and no symlinks), not by the OS.

Sizes are allocated bytes with every inode counted once, so `total_bytes` equals
`uv cache size` (uv-cache-format §6). Archives are referenced when a link in a *current* wheels or
sdists bucket resolves to them: links in stale buckets do not count, because prune removes those
buckets before it collects references. Nothing raises for what is found inside the cache:
unreadable directories, odd names, vanishing files are recorded in the snapshot.

`scan()` is a generator: it yields `Progress` and returns the `Snapshot` (StopIteration.value);
`run_scan()` drives it to the end.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from array import array
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace

from uv_cache_inspector.core.cache import links
from uv_cache_inspector.core.cache.inodes import InodeSet
from uv_cache_inspector.core.cache.layout import (
    CACHEDIR_TAG_SIGNATURE,
    LINK_BUCKET_KINDS,
    NEWEST_KNOWN,
    ROOT_CONTROL_FILES,
    BucketSet,
    buckets_for,
    classify,
    format_version,
    parse_bucket,
)
from uv_cache_inspector.core.cache.refs import dangling_revisions, is_reference
from uv_cache_inspector.core.cache.walk import Listed, UnitResult, list_dir, walk_unit
from uv_cache_inspector.core.cache.workers import (
    POOL_MIN_UNITS,
    ThreadPool,
    Unit,
    WorkerPool,
    chunked,
    default_worker_count,
    start_pool,
)
from uv_cache_inspector.core.errors import (
    CacheNotFoundError,
    CacheUnreadableError,
    CancelledError,
    NotACacheError,
)
from uv_cache_inspector.core.model import (
    Archive,
    ArchiveKind,
    Bucket,
    BucketStatus,
    CancelToken,
    Entry,
    LinkState,
    Mark,
    Owner,
    Problem,
    Progress,
    RevisionDir,
    RootItem,
    SdistShard,
    Snapshot,
    TmpDir,
)

_HAS_BLOCKS = hasattr(os.stat_result, "st_blocks")
# Names and extensions uv's reference walk skips (uv-cache-format §6).
_SKIP_NAMES = frozenset({"src", ".lock", ".gitignore"})
_SKIP_EXTS = frozenset({"lock", "whl", "http", "rev", "msgpack"})
_INDEX_WITH_DIGEST = frozenset({"index", "url", "path", "git", "editable"})


def _alloc(st: os.stat_result) -> int:
    return st.st_blocks * 512 if _HAS_BLOCKS else st.st_size


def _ext(name: str) -> str:
    # Rust's Path::extension: after the last dot, and a leading dot does not count.
    base = name.removeprefix(".")
    return base.rpartition(".")[2].lower() if "." in base else ""


def _is_tmp(name: str) -> bool:
    return name.startswith(".tmp")


def _owner_tuple(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@dataclass
class _Tally:
    bytes: int = 0
    files: int = 0
    dirs: int = 0


@dataclass
class _LinkWalk:
    """What the link-bucket thread found."""

    entries: list[Entry] = field(default_factory=list)
    # Link files that did not parse: entries only if the cache turns out to be Windows-written.
    corrupt_files: list[Entry] = field(default_factory=list)
    symlinks: int = 0  # evidence of the layout: symlinks into archive-v*
    link_files: int = 0  # ... and link files naming archive-v*
    shards: list[SdistShard] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    units: list[tuple[UnitResult, str, str]] = field(default_factory=list)  # (result, bucket, role)
    tallies: dict[str, _Tally] = field(default_factory=dict)
    linked_ino: array[int] = field(default_factory=lambda: array("Q"))
    linked_bytes: array[int] = field(default_factory=lambda: array("Q"))
    dev: int = 0
    vanished: int = 0
    error: BaseException | None = None
    own: dict[str, list[int]] = field(default_factory=dict)  # dir -> [bytes, shared] (own)
    top: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    revision_dirs: list[RevisionDir] = field(default_factory=list)

    def sizes(self) -> dict[str, tuple[int, int]]:
        """Cumulative sizes: every directory's own bytes plus everything below it."""
        total = {p: [b, s] for p, (b, s) in self.own.items()}
        for path in sorted(total, key=lambda p: -p.count(os.sep)):
            parent = os.path.dirname(path)
            if parent in total and parent != path:
                total[parent][0] += total[path][0]
                total[parent][1] += total[path][1]
        return {p: (b, s) for p, (b, s) in total.items()}


@dataclass
class _UnitInfo:
    bucket: str  # bucket name, or "" for root-level items
    role: str  # "archive" | "tmp" | "tree" | "dir"
    location: str  # for tmp: "root" or the bucket


class _Scanner:
    def __init__(
        self,
        root: str,
        bucket_set: BucketSet,
        uv_version: str | None,
        token: CancelToken,
        workers: int | None,
        link_style: str | None,
        read_pointers: bool,
    ) -> None:
        self.root = root
        self.bucket_set = bucket_set
        self.token = token
        self.workers = default_worker_count() if workers is None else workers
        self.read_pointers = read_pointers
        self.now = time.time()
        # None: decided from the links found (links.detect_style), once they are all read.
        self.requested_style = link_style
        self.snap = Snapshot(
            root=root,
            real_root=root,
            scanned_at=self.now,
            link_style=link_style or links.host_link_style(),
            layout_source="requested" if link_style else "default",
            uv_version=uv_version,
        )
        self.inodes = InodeSet()
        self.units: list[Unit] = []
        self.unit_info: dict[str, _UnitInfo] = {}
        self.tallies: dict[str, _Tally] = {}
        self.archive_names: set[str] = set()
        self.archive_dir = ""
        self.archive_dir_real = ""

    # -- phase 1: the root ------------------------------------------------------------------

    def open_root(self) -> None:
        root = self.root
        try:
            st = os.stat(root)
        except FileNotFoundError as exc:
            raise CacheNotFoundError(f"uv has not created a cache at {root}") from exc
        except NotADirectoryError as exc:
            raise NotACacheError(f"{root} is not a directory") from exc
        except PermissionError as exc:
            raise CacheUnreadableError(
                f"cannot open {root}: permission denied (os error {exc.errno})"
            ) from exc
        except OSError as exc:
            raise CacheUnreadableError(f"cannot open {root}: {exc.strerror or exc}") from exc
        if not stat.S_ISDIR(st.st_mode):
            raise NotACacheError(f"{root} is a file, not a cache directory")
        snap = self.snap
        snap.real_root = os.path.realpath(root)
        snap.root_is_symlink = os.path.islink(root)
        snap.root_owner = Owner.from_stat(st)
        snap.root_device = st.st_dev
        snap.total_bytes = _alloc(st)
        snap.total_dirs = 1
        self.root_st = st

    def list_root(self) -> None:
        snap = self.snap
        real = snap.real_root
        root_owner = _owner_tuple(self.root_st)
        try:
            with os.scandir(real) as it:
                items = list(it)
        except PermissionError as exc:
            raise CacheUnreadableError(
                f"cannot list {self.root}: permission denied (os error {exc.errno})"
            ) from exc
        except OSError as exc:
            raise CacheUnreadableError(f"cannot list {self.root}: {exc.strerror or exc}") from exc
        for e in sorted(items, key=lambda e: e.name):
            name = e.name
            path = os.path.join(real, name)
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                snap.vanished += 1
                continue
            except OSError as exc:
                snap.problems.append(Problem("unreadable", path, str(exc)))
                continue
            owner = Owner.from_stat(st)
            self._mark_root_item(path, st, root_owner)
            if stat.S_ISLNK(st.st_mode):
                self._root_symlink(name, path, st, owner)
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if name in ROOT_CONTROL_FILES and not is_dir:
                snap.root_items.append(RootItem(name, "control", owner))
                self._count_file(st)
                if name == "CACHEDIR.TAG":
                    snap.has_tag = True
                    data = links.read_small(path, 4096)
                    snap.tag_valid = isinstance(data, bytes) and data.startswith(
                        CACHEDIR_TAG_SIGNATURE
                    )
                continue
            if _is_tmp(name):
                snap.root_items.append(RootItem(name, "tmp", owner))
                self._add_unit(path, "tmp", root_owner, _UnitInfo("", "tmp", "root"))
                continue
            parsed = parse_bucket(name) if is_dir else None
            if parsed is not None:
                snap.root_items.append(RootItem(name, "bucket", owner))
                self._bucket(name, path, st, parsed[0])
                continue
            kind = "dir" if is_dir else ("file" if stat.S_ISREG(st.st_mode) else "other")
            snap.root_items.append(RootItem(name, kind, owner))
            if is_dir:
                self._add_unit(path, "tree", root_owner, _UnitInfo("", "dir", "root"))
            else:
                self._count_file(st)

    def _mark_root_item(
        self, path: str, st: os.stat_result, root_owner: tuple[int, int, int]
    ) -> None:
        # Buckets and files at the root are not units of their own, so their change points are
        # recorded here (a unit records its own root against the parent we pass it).
        uid, gid, mode = root_owner
        if stat.S_ISDIR(st.st_mode) and parse_bucket(os.path.basename(path)):
            if (st.st_uid, st.st_gid) != (uid, gid):
                self.pending_root_marks.append((path, "owner", st))
            elif stat.S_IMODE(st.st_mode) != mode:
                self.pending_root_marks.append((path, "mode", st))
        elif not stat.S_ISDIR(st.st_mode) and (st.st_uid, st.st_gid) != (uid, gid):
            self.pending_root_marks.append((path, "owner", st))

    pending_root_marks: list[tuple[str, str, os.stat_result]]

    def _root_symlink(self, name: str, path: str, st: os.stat_result, owner: Owner) -> None:
        # A symlinked bucket: uv follows it for its own reads and writes; `uv cache size` does
        # not (it counts the link). Record it; walk its target for entries, not for the total.
        try:
            target = os.readlink(path)
        except OSError:
            target = None
        self.snap.root_items.append(
            RootItem(name, "symlink", owner, is_symlink=True, target=target)
        )
        self._count_file(st)
        parsed = parse_bucket(name)
        if parsed is not None and os.path.isdir(path):
            self._bucket(name, path, os.stat(path), parsed[0], is_symlink=True)

    def _count_file(self, st: os.stat_result) -> None:
        b = _alloc(st)
        linked = stat.S_ISREG(st.st_mode) and st.st_nlink > 1
        if linked and not self.inodes.add_one(st.st_dev, st.st_ino, b):
            b = 0
        self.snap.total_bytes += b
        if stat.S_ISDIR(st.st_mode):
            self.snap.total_dirs += 1
        else:
            self.snap.total_files += 1

    def _bucket(
        self, name: str, path: str, st: os.stat_result, kind: str, *, is_symlink: bool = False
    ) -> None:
        tally = self.tallies.setdefault(name, _Tally())
        tally.bytes += _alloc(st)
        tally.dirs += 1
        if not is_symlink:
            self.snap.total_bytes += _alloc(st)
            self.snap.total_dirs += 1
        self.bucket_paths[name] = (path, st, kind, is_symlink)
        if kind in LINK_BUCKET_KINDS or kind == "environments":
            return  # walked by the link thread
        owner = _owner_tuple(st)
        try:
            with os.scandir(path) as it:
                listed = [
                    (
                        e.name,
                        e.path,
                        "link"
                        if e.is_symlink()
                        else "dir"
                        if e.is_dir(follow_symlinks=False)
                        else "file",
                    )
                    for e in it
                ]
                children = [(n, p) for n, p, _ in listed]
        except OSError as exc:
            self.snap.marks.append(
                Mark(path, "unreadable", Owner.from_stat(st), 0, 0, str(exc.strerror or exc))
            )
            return
        if kind != "archive":
            self.snap.top[name] = [(p, k) for _, p, k in sorted(listed)]
        if kind == "archive":
            self.archive_dir = path
            self.archive_dir_real = os.path.realpath(path)
            self.archive_names = {n for n, _ in children}
        for child_name, child_path in sorted(children):
            if _is_tmp(child_name):
                self._add_unit(child_path, "tmp", owner, _UnitInfo(name, "tmp", name))
            elif kind == "archive":
                self._add_unit(child_path, "archive", owner, _UnitInfo(name, "archive", name))
            else:
                self._add_unit(child_path, "tree", owner, _UnitInfo(name, "tree", name))

    bucket_paths: dict[str, tuple[str, os.stat_result, str, bool]]

    def _add_unit(
        self, path: str, kind: str, parent_owner: tuple[int, int, int], info: _UnitInfo
    ) -> None:
        self.units.append((path, kind, parent_owner))
        self.unit_info[path] = info

    # -- phase 2: the link buckets (a thread) ------------------------------------------------

    def walk_link_buckets(self, out: _LinkWalk) -> None:
        try:
            out.dev = self.snap.root_device or 0
            for name, (path, st, kind, _sym) in sorted(self.bucket_paths.items()):
                if self.token.cancelled():
                    return
                if kind in LINK_BUCKET_KINDS or kind == "environments":
                    self._walk_link_bucket(name, kind, path, st, out)
        except BaseException as exc:  # surfaced by the caller; never lost in a thread
            out.error = exc

    def _walk_link_bucket(
        self, bucket: str, kind: str, path: str, bst: os.stat_result, out: _LinkWalk
    ) -> None:
        real_bucket = os.path.realpath(path)
        tally = out.tallies.setdefault(bucket, _Tally())
        # (dir path, rel parts, owner of the dir)
        stack: list[tuple[str, tuple[str, ...], tuple[int, int, int]]] = [
            (path, (), _owner_tuple(bst))
        ]
        while stack:
            if self.token.cancelled():
                return
            dpath, parts, downer = stack.pop()
            try:
                listing = list_dir(dpath)
            except FileNotFoundError:
                out.vanished += 1
                continue
            except OSError as exc:
                try:
                    owner: Owner | None = Owner.from_stat(os.lstat(dpath))
                except OSError:
                    owner = None
                out.marks.append(Mark(dpath, "unreadable", owner, detail=str(exc.strerror)))
                continue
            self._link_dir(
                bucket, kind, dpath, parts, downer, listing, real_bucket, tally, stack, out
            )

    def _link_dir(
        self,
        bucket: str,
        kind: str,
        dpath: str,
        parts: tuple[str, ...],
        downer: tuple[int, int, int],
        listing: list[Listed],
        real_bucket: str,
        tally: _Tally,
        stack: list[tuple[str, tuple[str, ...], tuple[int, int, int]]],
        out: _LinkWalk,
    ) -> None:
        """One directory of a link bucket: account every entry, read every link."""
        real_dir = os.path.join(real_bucket, *parts)
        prefix = dpath + os.sep
        duid, dgid, dmode = downer
        revision_dirs: list[str] = []
        pointer = None
        # Link files are read unless the caller said the cache is Unix-written: whether it is a
        # Windows cache is known only from what is in it.
        file_links = self.requested_style != "symlink"
        nbytes = files = sub_blocks = 0
        top = out.top.setdefault(bucket, []) if not parts else None
        if any(e[0] == "metadata.msgpack" for e in listing):
            out.revision_dirs.append(self._revision_dir(dpath, listing))
        for name, _kind, mode, ino, nlink, uid, gid, size, blocks, err, target, link_err in listing:
            if err:
                if err == errno.ENOENT:
                    out.vanished += 1
                else:
                    out.problems.append(Problem("unreadable", prefix + name, os.strerror(err)))
                continue
            alloc = blocks * 512 if _HAS_BLOCKS else size
            fmt = mode & 0o170000
            if top is not None:
                top.append(
                    (
                        prefix + name,
                        "dir" if fmt == 0o040000 else "link" if fmt == 0o120000 else "file",
                    )
                )
            if fmt == 0o040000:
                full = prefix + name
                if _is_tmp(name):
                    self._walk_inline(full, "tmp", downer, bucket, out)
                    continue
                if (kind == "sdists" and name == "src") or (
                    kind == "environments" and os.path.exists(full + os.sep + "pyvenv.cfg")
                ):
                    self._walk_inline(full, "tree", downer, bucket, out)
                    continue
                nbytes += alloc
                sub_blocks += alloc
                out.own.setdefault(full, [0, 0])[0] += alloc  # a directory's own block
                tally.dirs += 1
                child_owner = (uid, gid, mode & 0o7777)
                if uid != duid or gid != dgid:
                    out.marks.append(Mark(full, "owner", Owner(*child_owner, is_dir=True)))
                elif child_owner[2] != dmode:
                    out.marks.append(Mark(full, "mode", Owner(*child_owner, is_dir=True)))
                revision_dirs.append(name)
                stack.append((full, (*parts, name), child_owner))
                continue
            nbytes += alloc
            files += 1
            if uid != duid or gid != dgid:
                owner = Owner(uid, gid, mode & 0o7777, is_dir=False)
                out.marks.append(Mark(prefix + name, "owner", owner, 1, alloc))
            if fmt == 0o120000:
                if name in _SKIP_NAMES or _ext(name) in _SKIP_EXTS:
                    continue
                if target is None:
                    out.problems.append(Problem("unreadable", prefix + name, os.strerror(link_err)))
                    continue
                self._symlink_entry(bucket, kind, prefix + name, parts, name, real_dir, target, out)
            elif fmt == 0o100000:
                if nlink > 1:
                    out.linked_ino.append(ino)
                    out.linked_bytes.append(alloc)
                if name in {"revision.http", "revision.rev"}:
                    pointer = name
                elif file_links and _could_be_link(name):
                    self._file_entry(bucket, kind, prefix + name, parts, name, size, out)
                elif self.read_pointers and _ext(name) in {"http", "rev", "msgpack"}:
                    names = {e[0] for e in listing}
                    self._check_side_file(kind, prefix + name, name, names, out)
        tally.bytes += nbytes
        tally.files += files
        own = out.own.setdefault(dpath, [0, 0])
        own[0] += nbytes - sub_blocks
        if pointer is not None and kind in {"sdists", "built-wheels"}:
            out.shards.append(self._shard(bucket, dpath, parts, pointer, sorted(revision_dirs)))

    @staticmethod
    def _revision_dir(dpath: str, listing: list[Listed]) -> RevisionDir:
        kinds = [(e[0], e[1]) for e in listing]  # as os.DirEntry tells them
        package = None
        data = links.read_small(os.path.join(dpath, "metadata.msgpack"))
        if not isinstance(data, links.Corrupt):
            value = links.decode_msgpack(data)
            if isinstance(value, list) and value and isinstance(value[0], str):
                package = links.normalize_name(value[0])
            elif isinstance(value, dict) and isinstance(value.get("name"), str):
                package = links.normalize_name(value["name"])
        return RevisionDir(dpath, package, tuple(sorted(kinds)))

    def _walk_inline(
        self,
        path: str,
        role: str,
        parent_owner: tuple[int, int, int],
        bucket: str,
        out: _LinkWalk,
    ) -> None:
        res = walk_unit(path, role, parent_owner)
        out.units.append((res, bucket, role))
        own = out.own.setdefault(path, [0, 0])
        own[0] += res.bytes
        own[1] += res.shared_bytes

    def _resolve(self, raw: str, real_dir: str) -> tuple[LinkState, str | None]:
        """Where a symlink lands, judged as uv's prune does: canonical path == an archive."""
        lt = links.parse_symlink_target(raw)
        target = os.path.normpath(os.path.join(real_dir, raw))
        parent, base = os.path.split(target)
        if parent in {self.archive_dir_real, self.archive_dir} and self.archive_dir:
            if base in self.archive_names:
                return LinkState.OK, base
            return LinkState.DANGLING, lt.archive_id
        # Through other symlinks or another spelling of the root: canonicalise, as uv does.
        real = os.path.realpath(target)
        parent, base = os.path.split(real)
        if self.archive_dir_real and parent == self.archive_dir_real:
            if base in self.archive_names:
                return LinkState.OK, base
            return LinkState.DANGLING, lt.archive_id
        if lt.archive_id is not None and lt.absolute:
            # An absolute link into some other cache's archive (uv < 0.11.17 wrote absolute
            # links; the cache was moved or shared with a container, uv-cache-format §8).
            return LinkState.MOVED, lt.archive_id
        if not os.path.exists(real):
            return LinkState.DANGLING, lt.archive_id
        return LinkState.OUTSIDE, None

    def _entry_fields(
        self, kind: str, parts: tuple[str, ...], name: str
    ) -> tuple[str, str, str | None, str | None]:
        """(entry kind, index, package, version) from where a link sits and its name."""
        index = ""
        if parts:
            index = parts[0]
            if parts[0] in _INDEX_WITH_DIGEST and len(parts) > 1:
                index = f"{parts[0]}/{parts[1]}"
        stem = links.wheel_stem_name_version(name)
        if kind == "environments":
            return "environment", index, None, None
        if kind in {"sdists", "built-wheels"}:
            if stem:
                return "sdist", index, links.normalize_name(stem[0]), stem[1]
            return "sdist", index, None, None
        # wheels: pypi/<pkg>/<key>, index|url/<digest>/<pkg>/<key>, git/<digest>/<sha>/<stem>
        if stem:
            return "wheel", index, links.normalize_name(stem[0]), stem[1]
        package = parts[-1] if len(parts) >= 2 and parts[0] != "git" else None
        version = links.wheel_key_version(package or "", name)
        return "wheel", index, links.normalize_name(package) if package else None, version

    def _symlink_entry(
        self,
        bucket: str,
        kind: str,
        full: str,
        parts: tuple[str, ...],
        name: str,
        real_dir: str,
        raw: str,
        out: _LinkWalk,
    ) -> None:
        state, aid = self._resolve(raw, real_dir)
        if aid is not None or state is LinkState.OK:
            out.symlinks += 1
        ekind, index, package, version = self._entry_fields(kind, parts, name)
        out.entries.append(
            Entry(bucket, full, ekind, index, package, version, aid, state, raw, "symlink")
        )

    def _file_entry(
        self,
        bucket: str,
        kind: str,
        full: str,
        parts: tuple[str, ...],
        name: str,
        size: int,
        out: _LinkWalk,
    ) -> None:
        """A Windows link file (uv-cache-format §3): `archive-v0/<id>` as UTF-8 text."""
        if size > 4096:
            return
        data = links.read_small(full, 4096)
        ekind, index, package, version = self._entry_fields(kind, parts, name)
        if isinstance(data, links.Corrupt):
            out.problems.append(Problem("unreadable", full, data.reason))
            return
        parsed = links.parse_link_file(data)
        if isinstance(parsed, links.Corrupt):
            if parts:  # where a link belongs; uv ignores it, the user should know
                out.corrupt_files.append(
                    Entry(
                        bucket,
                        full,
                        ekind,
                        index,
                        package,
                        version,
                        None,
                        LinkState.CORRUPT,
                        data[:80].decode("utf-8", "replace"),
                        "file",
                    )
                )
            return
        out.link_files += 1
        if parsed.archive_version != 0:
            state = LinkState.STALE_VERSION
        elif parsed.archive_id in self.archive_names:
            state = LinkState.OK
        else:
            state = LinkState.DANGLING
        out.entries.append(
            Entry(
                bucket,
                full,
                ekind,
                index,
                package,
                version,
                parsed.archive_id,
                state,
                parsed.raw,
                "file",
            )
        )

    def _check_side_file(
        self, kind: str, full: str, name: str, names: set[str], out: _LinkWalk
    ) -> None:
        """Deep check of one side file (uv-cache-format §3, "Side-file formats")."""
        data = links.read_small(full)
        if isinstance(data, links.Corrupt):
            out.problems.append(Problem("unreadable", full, data.reason))
            return
        ext = _ext(name)
        result: object
        if ext == "http":
            result = (
                links.parse_http_archive(data) if kind == "wheels" else links.http_payload(data)
            )
        elif ext == "rev":
            result = links.parse_rev(data) if kind == "wheels" else links.parse_revision_rev(data)
        elif kind == "wheels":  # <key>.msgpack: cached METADATA inside the .http container
            result = links.http_payload(data)
            if not isinstance(result, links.Corrupt) and not result:
                result = links.Corrupt("empty payload")
        else:  # sdist metadata.msgpack / hashes.msgpack: plain msgpack
            result = links.decode_msgpack(data)
        if isinstance(result, links.Corrupt):
            out.problems.append(Problem("corrupt", full, result.reason))
        elif isinstance(result, links.ArchivePointer):
            key = name.rsplit(".", 1)[0]
            if result.version == 0 and result.id not in self.archive_names and key in names:
                out.problems.append(
                    Problem("pointer-dangling", full, f"names archive {result.id}, which is gone")
                )

    def _shard(
        self,
        bucket: str,
        dpath: str,
        parts: tuple[str, ...],
        pointer: str,
        revisions: list[str],
    ) -> SdistShard:
        data = links.read_small(os.path.join(dpath, pointer))
        problem = None
        current: str | None = None
        if isinstance(data, links.Corrupt):
            problem = data.reason
        else:
            parsed = (
                links.parse_revision_http(data)
                if pointer.endswith(".http")
                else links.parse_revision_rev(data)
            )
            if isinstance(parsed, links.Corrupt):
                problem = parsed.reason
            else:
                current = parsed
        index = parts[0] if parts else ""
        package = version = None
        if parts and parts[0] in _INDEX_WITH_DIGEST and len(parts) > 1:
            index = f"{parts[0]}/{parts[1]}"
            rest = parts[2:]
        else:
            rest = parts[1:]
        if parts and parts[0] in {"pypi", "index"} and rest:
            package = links.normalize_name(rest[0])
            version = rest[1] if len(rest) > 1 else None
        return SdistShard(
            bucket, dpath, index, package, version, current, tuple(revisions), problem
        )

    # -- phase 3: merge ------------------------------------------------------------------------

    def merge_unit(self, res: UnitResult, bucket: str, role: str, location: str) -> None:
        snap = self.snap
        dup = self.inodes.add_many(res.dev, res.linked_ino, res.linked_bytes)
        effective = res.bytes - dup
        counted = not self.in_symlinked_bucket(bucket)
        if counted:
            snap.total_bytes += effective
            snap.total_files += res.files + res.symlinks + res.others
            snap.total_dirs += res.dirs + (1 if res.is_dir and res.exists else 0)
        snap.vanished += res.vanished
        if bucket:
            tally = self.tallies.setdefault(bucket, _Tally())
            tally.bytes += effective
            tally.files += res.files + res.symlinks + res.others
            tally.dirs += res.dirs + (1 if res.is_dir and res.exists else 0)
        for rel, reason, uid, gid, mode, is_dir, files, nbytes, detail in res.marks:
            path = os.path.join(res.path, rel) if rel else res.path
            snap.marks.append(
                Mark(path, reason, Owner(uid, gid, mode, is_dir), files, nbytes, detail)
            )
        if res.marks_dropped:
            snap.problems.append(
                Problem("error", res.path, f"{res.marks_dropped} more ownership changes not shown")
            )
        for kind, rel, detail in res.problems:
            snap.problems.append(
                Problem(kind, os.path.join(res.path, rel) if rel else res.path, detail)
            )
        if not res.exists:
            return
        snap.sizes[res.path] = (res.bytes, res.shared_bytes)
        owner = Owner(res.uid, res.gid, res.mode & 0o7777, res.is_dir)
        if role == "tmp":
            newest = max(res.max_mtime, res.max_atime if not res.is_dir else 0.0)
            snap.tmp_dirs.append(
                TmpDir(
                    res.path,
                    location,
                    res.bytes,
                    res.files,
                    max(0.0, self.now - newest),
                    owner,
                    res.is_dir,
                )
            )
        elif role == "archive":
            if self.refs_ready:
                self.build_archive(res)
            else:
                self.archive_results.append(res)
        elif role == "dir":
            self.root_sizes[os.path.basename(res.path)] = res.bytes

    archive_results: list[UnitResult]
    root_sizes: dict[str, int]
    refs_ready: bool = False

    def references_done(
        self, link_walk: _LinkWalk, bucket_set: BucketSet | Callable[[], BucketSet] | None
    ) -> None:
        """The link walk has finished: index references, build the archives waiting so far."""
        self.bucket_set = bucket_set() if callable(bucket_set) else (bucket_set or self.bucket_set)
        self.decide_layout(link_walk)
        self.prepare_references(link_walk)
        self.refs_ready = True
        for res in self.archive_results:
            self.build_archive(res)
        self.archive_results = []

    def in_symlinked_bucket(self, bucket: str) -> bool:
        info = self.bucket_paths.get(bucket)
        return bool(info and info[3])

    def decide_layout(self, link_walk: _LinkWalk) -> None:
        """Symlinks or link files: from the caller, else from what the link walk found."""
        snap = self.snap
        snap.layout_evidence = (link_walk.symlinks, link_walk.link_files)
        if self.requested_style is None:
            snap.link_style, snap.layout_source = links.detect_style(
                link_walk.symlinks, link_walk.link_files
            )
        if snap.counts_link("file"):
            link_walk.entries.extend(link_walk.corrupt_files)
        link_walk.corrupt_files = []

    def prepare_references(self, link_walk: _LinkWalk) -> None:
        """Index the links once the link walk is done; archives can then be built one by one."""
        snap = self.snap
        # One rule for scan and prune (core.refs): kept buckets, minus dangling revisions.
        dead = frozenset(dangling_revisions(link_walk.shards, self.bucket_set))
        refs: dict[str, list[Entry]] = {}
        stale_refs: dict[str, list[str]] = {}
        env_refs: dict[str, list[str]] = {}
        for e in link_walk.entries:
            # uv counts symlinks on Unix and link files on Windows, nothing else (§6).
            if e.state is not LinkState.OK or e.archive_id is None:
                continue
            if not snap.counts_link(e.link_kind):
                continue
            if is_reference(e, snap.link_style, self.bucket_set, dead):
                refs.setdefault(e.archive_id, []).append(e)
            elif e.kind == "environment":
                env_refs.setdefault(e.archive_id, []).append(e.path)
            else:
                stale_refs.setdefault(e.archive_id, []).append(e.path)
        self.refs, self.stale_refs, self.env_refs = refs, stale_refs, env_refs

    refs: dict[str, list[Entry]]
    stale_refs: dict[str, list[str]]
    env_refs: dict[str, list[str]]

    def build_archive(self, res: UnitResult) -> None:
        aid = os.path.basename(res.path)
        problems: list[str] = []
        package = version = None
        if not res.is_dir:
            kind = ArchiveKind.FILE
            problems.append("not a directory")
        elif "pyvenv.cfg" in res.top:
            kind = ArchiveKind.ENVIRONMENT
        elif res.dist_info:
            kind = ArchiveKind.WHEEL
            parsed = [p for p in (links.dist_info_name_version(n) for n, _ in res.dist_info) if p]
            if parsed:
                package, version = links.normalize_name(parsed[0][0]), parsed[0][1]
            if len(res.dist_info) > 1:
                problems.append("more than one .dist-info directory")
            if not all(has for _, has in res.dist_info):
                problems.append("incomplete: no RECORD in its .dist-info")
        else:
            kind = ArchiveKind.UNKNOWN
            problems.append("empty" if not res.top else "incomplete: no .dist-info")
        entries = self.refs.get(aid, ())
        for e in entries:
            if package and e.package and e.package != package:
                problems.append(f"linked as {e.package} but contains {package}")
                break
        if package is None and entries:
            package = entries[0].package
        self.snap.archives.append(
            Archive(
                id=aid,
                path=res.path,
                kind=kind,
                package=package,
                version=version,
                bytes=res.bytes,
                shared_bytes=res.shared_bytes,
                files=res.files,
                referenced=bool(entries),
                referrers=tuple(e.path for e in entries),
                owner=Owner(res.uid, res.gid, res.mode & 0o7777, res.is_dir),
                last_used=res.max_atime or None,
                modified=res.max_mtime or None,
                problems=tuple(problems),
                dist_info=tuple(n for n, _ in res.dist_info),
                stale_referrers=tuple(self.stale_refs.get(aid, ())),
                environment_referrers=tuple(self.env_refs.get(aid, ())),
            )
        )

    def build_buckets(self) -> None:
        snap = self.snap
        for name, (path, st, kind, is_symlink) in sorted(self.bucket_paths.items()):
            status, note = classify(name, self.bucket_set)
            parsed = parse_bucket(name)
            tally = self.tallies.get(name, _Tally())
            snap.buckets.append(
                Bucket(
                    name=name,
                    kind=kind,
                    version=parsed[1] if parsed else None,
                    status=status,
                    path=path,
                    bytes=tally.bytes,
                    files=tally.files,
                    dirs=tally.dirs,
                    owner=Owner.from_stat(st),
                    is_symlink=is_symlink,
                    device=st.st_dev,
                    note=note,
                )
            )


def _could_be_link(name: str) -> bool:
    return not name.startswith(".") and _ext(name) not in _SKIP_EXTS and name not in _SKIP_NAMES


def default_link_style() -> str:
    """The link style of this host's uv; a scan without `link_style` detects the cache's own."""
    return links.host_link_style()


def scan(
    root: str,
    *,
    bucket_set: BucketSet | Callable[[], BucketSet] | None = None,
    uv_version: str | Callable[[], str] | None = None,
    cancel: CancelToken | None = None,
    workers: int | None = None,
    link_style: str | None = None,
    read_pointers: bool = False,
    pool: WorkerPool | ThreadPool | None = None,
) -> Generator[Progress, None, Snapshot]:
    """Scan the cache at `root`. Yields Progress; returns the Snapshot.

    `bucket_set` and `uv_version` may be callables: they are needed only once the links are
    read, so finding uv binaries can run while the walk does. `pool` is a worker pool the caller
    started early (so the workers' start-up overlaps the caller's); the scan owns it from then
    on and closes it. `link_style` ("symlink" or "file") says how links are read; without it the
    cache's own links decide (`Snapshot.link_style`, `layout_source`, `layout_evidence`).

    Raises CacheNotFoundError / NotACacheError / CacheUnreadableError for the root itself and
    CancelledError when `cancel` fires; everything below the root is recorded, never raised.
    """
    t0 = time.perf_counter()
    token = cancel or CancelToken()
    s = _Scanner(
        root,
        buckets_for(NEWEST_KNOWN),
        None,
        token,
        workers,
        link_style,
        read_pointers,
    )
    s.pending_root_marks = []
    s.bucket_paths = {}
    s.archive_results = []
    s.root_sizes = {}
    try:
        yield Progress("opening", message=root)
        s.open_root()
        s.list_root()
        snap = s.snap
        for path, reason, st in s.pending_root_marks:
            snap.marks.append(Mark(path, reason, Owner.from_stat(st)))
        if token.cancelled():
            raise CancelledError("scan cancelled")

        link_walk = _LinkWalk()
        thread = threading.Thread(
            target=s.walk_link_buckets, args=(link_walk,), name="uvci-link-walk", daemon=True
        )
        thread.start()
        total_units = len(s.units)
        yield Progress("scanning", 0, total_units, snap.total_bytes, "reading the cache")
        if s.workers > 1 and total_units >= POOL_MIN_UNITS and pool is None:
            try:
                pool = start_pool(s.workers)
            except OSError:
                pool = None
        elif pool is not None and (s.workers <= 1 or total_units < POOL_MIN_UNITS):
            pool.close()
            pool = None
        yield from _walk_units(s, pool, link_walk, thread, bucket_set)
    finally:
        if pool is not None:
            pool.end(token.cancelled())

    while thread.is_alive():
        thread.join(0.05)
        if token.cancelled():
            thread.join()
            raise CancelledError("scan cancelled")
        yield Progress("scanning", total_units, total_units, snap.total_bytes, "reading links")
    if link_walk.error is not None:
        raise link_walk.error
    if not s.refs_ready:
        s.references_done(link_walk, bucket_set)

    # Link buckets: their own files, then the subtrees the thread walked inline.
    dup = s.inodes.add_many(
        link_walk.dev, link_walk.linked_ino.tobytes(), link_walk.linked_bytes.tobytes()
    )
    for name, tally in link_walk.tallies.items():
        if not s.in_symlinked_bucket(name):
            snap.total_bytes += tally.bytes
            snap.total_files += tally.files
            snap.total_dirs += tally.dirs
        t = s.tallies.setdefault(name, _Tally())
        t.bytes += tally.bytes
        t.files += tally.files
        t.dirs += tally.dirs
    snap.total_bytes -= dup
    for res, bucket, role in link_walk.units:
        s.merge_unit(res, bucket, role, bucket)
    snap.entries = sorted(link_walk.entries, key=lambda e: e.path)
    snap.shards = link_walk.shards
    snap.sizes.update(link_walk.sizes())
    snap.top.update({b: sorted(c) for b, c in link_walk.top.items()})
    snap.revision_dirs = sorted(link_walk.revision_dirs, key=lambda r: r.path)
    snap.marks.extend(link_walk.marks)
    snap.problems.extend(link_walk.problems)
    snap.vanished += link_walk.vanished
    version = uv_version() if callable(uv_version) else uv_version
    snap.uv_version = version or format_version(s.bucket_set.uv_version)
    snap.archives.sort(key=lambda a: (a.package or "~", a.version or "", a.id))
    s.build_buckets()
    snap.tmp_dirs.sort(key=lambda t: t.path)
    tmp_sizes = {os.path.basename(t.path): t.bytes for t in snap.tmp_dirs if t.location == "root"}
    bucket_sizes = {b.name: b.bytes for b in snap.buckets}
    snap.root_items = [
        replace(
            item,
            bytes=s.root_sizes.get(item.name)
            or tmp_sizes.get(item.name)
            or bucket_sizes.get(item.name, 0),
        )
        for item in snap.root_items
    ]
    snap.marks.sort(key=lambda m: m.path)
    snap.duration = time.perf_counter() - t0
    yield Progress("done", total_units, total_units, snap.total_bytes)
    return snap


def _walk_units(
    s: _Scanner,
    pool: WorkerPool | ThreadPool | None,
    link_walk: _LinkWalk,
    thread: threading.Thread,
    bucket_set: BucketSet | Callable[[], BucketSet] | None,
) -> Generator[Progress, None, None]:
    """Walk every unit (in the pool or here), merging results as they come; once the link
    thread is done, archives are built as they arrive instead of all at the end."""
    token = s.token
    snap = s.snap
    total = len(s.units)
    done = 0

    def merge(results: list[UnitResult]) -> None:
        if not s.refs_ready and not thread.is_alive():
            if link_walk.error is not None:
                raise link_walk.error
            s.references_done(link_walk, bucket_set)
        for res in results:
            info = s.unit_info.get(res.path)
            if info is None:
                # Handed to the pool early and not in the scan's own listing (uv removed it in
                # between): the listing is what the snapshot describes.
                continue
            s.merge_unit(res, info.bucket, info.role, info.location)

    if pool is not None:
        rest = [u for u in s.units if u[0] not in pool.early_paths]
        for results in pool.run(chunked(rest, s.workers)):
            merge(results)
            done += len(results)
            if token.cancelled():
                raise CancelledError("scan cancelled")
            yield Progress("scanning", done, total, snap.total_bytes)
        return
    last = time.perf_counter()
    for path, kind, owner in s.units:
        merge([walk_unit(path, kind, owner)])
        done += 1
        if token.cancelled():
            raise CancelledError("scan cancelled")
        now = time.perf_counter()
        if now - last > 0.05:
            last = now
            yield Progress("scanning", done, total, snap.total_bytes)


def run_scan(
    root: str,
    on_progress: Callable[[Progress], None] | None = None,
    **kwargs: object,
) -> Snapshot:
    """Drive `scan()` to the end (for callers that do not need to interleave work)."""
    gen = scan(root, **kwargs)  # type: ignore[arg-type]
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            result: Snapshot = stop.value
            return result
        if on_progress is not None:
            on_progress(p)


__all__ = ["BucketStatus", "default_link_style", "run_scan", "scan"]
