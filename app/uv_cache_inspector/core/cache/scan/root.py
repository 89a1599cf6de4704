"""The scan's first part: the cache's root and its buckets, listed in this thread.

It opens the root (the errors that stop a scan are raised here), records what sits at the top,
counts the buckets' own directories, and cuts the rest of the cache into *units* for the
walkers: each archive, each temporary folder, each first-level part of a bucket without links.
The link buckets are left to the link walk (linkwalk.py).
"""

from __future__ import annotations

import os
import stat

from uv_cache_inspector.core.cache import links
from uv_cache_inspector.core.cache.inodes import InodeSet
from uv_cache_inspector.core.cache.layout import (
    CACHEDIR_TAG_SIGNATURE,
    LINK_BUCKET_KINDS,
    ROOT_CONTROL_FILES,
    parse_bucket,
)
from uv_cache_inspector.core.cache.scan.common import Tally, UnitInfo, alloc, is_tmp, owner_tuple
from uv_cache_inspector.core.cache.workers import Unit
from uv_cache_inspector.core.errors import CacheNotFoundError, CacheUnreadableError, NotACacheError
from uv_cache_inspector.core.model import Mark, Owner, Problem, RootItem, Snapshot


class RootListing:
    """Phase 1. Fills `snap` with the root's facts and items; keeps the units, the buckets and
    the archive names the later parts need."""

    def __init__(self, root: str, snap: Snapshot, inodes: InodeSet) -> None:
        self.root = root
        self.snap = snap
        self.inodes = inodes
        self.units: list[Unit] = []
        self.unit_info: dict[str, UnitInfo] = {}
        self.tallies: dict[str, Tally] = {}
        # name -> (path, stat, kind, reached through a symlink)
        self.bucket_paths: dict[str, tuple[str, os.stat_result, str, bool]] = {}
        self.archive_names: set[str] = set()
        self.archive_dir = ""
        self.archive_dir_real = ""
        self.pending_root_marks: list[tuple[str, str, os.stat_result]] = []

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
        snap.total_bytes = alloc(st)
        snap.total_dirs = 1
        self.root_st = st

    def list_root(self) -> None:
        snap = self.snap
        real = snap.real_root
        root_owner = owner_tuple(self.root_st)
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
            if is_tmp(name):
                snap.root_items.append(RootItem(name, "tmp", owner))
                self._add_unit(path, "tmp", root_owner, UnitInfo("", "tmp", "root"))
                continue
            parsed = parse_bucket(name) if is_dir else None
            if parsed is not None:
                snap.root_items.append(RootItem(name, "bucket", owner))
                self._bucket(name, path, st, parsed[0])
                continue
            kind = "dir" if is_dir else ("file" if stat.S_ISREG(st.st_mode) else "other")
            snap.root_items.append(RootItem(name, kind, owner))
            if is_dir:
                self._add_unit(path, "tree", root_owner, UnitInfo("", "dir", "root"))
            else:
                self._count_file(st)
        for path, reason, st in self.pending_root_marks:
            snap.marks.append(Mark(path, reason, Owner.from_stat(st)))

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
        b = alloc(st)
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
        tally = self.tallies.setdefault(name, Tally())
        tally.bytes += alloc(st)
        tally.dirs += 1
        if not is_symlink:
            self.snap.total_bytes += alloc(st)
            self.snap.total_dirs += 1
        self.bucket_paths[name] = (path, st, kind, is_symlink)
        if kind in LINK_BUCKET_KINDS or kind == "environments":
            return  # walked by the link thread
        owner = owner_tuple(st)
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
            if is_tmp(child_name):
                self._add_unit(child_path, "tmp", owner, UnitInfo(name, "tmp", name))
            elif kind == "archive":
                self._add_unit(child_path, "archive", owner, UnitInfo(name, "archive", name))
            else:
                self._add_unit(child_path, "tree", owner, UnitInfo(name, "tree", name))

    def _add_unit(
        self, path: str, kind: str, parent_owner: tuple[int, int, int], info: UnitInfo
    ) -> None:
        self.units.append((path, kind, parent_owner))
        self.unit_info[path] = info
