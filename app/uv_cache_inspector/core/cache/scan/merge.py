"""The scan's third part: merging what the walkers and the link walk found into the Snapshot.

Sizes are allocated bytes with every inode counted once, so `total_bytes` equals `uv cache size`
(docs/uv-cache-format.md §6). Archives are referenced when a link in a *current* wheels or sdists
bucket resolves to them (core.refs): links in stale buckets do not count, because prune removes
those buckets before it collects references. Archives are built as soon as the link walk is done;
those that arrive before wait.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from uv_cache_inspector.core.cache import links
from uv_cache_inspector.core.cache.layout import BucketSet, classify, parse_bucket
from uv_cache_inspector.core.cache.refs import dangling_revisions, is_reference
from uv_cache_inspector.core.cache.scan.common import Tally
from uv_cache_inspector.core.cache.scan.linkwalk import LinkWalk
from uv_cache_inspector.core.cache.scan.root import RootListing
from uv_cache_inspector.core.cache.walk import UnitResult
from uv_cache_inspector.core.model import (
    Archive,
    ArchiveKind,
    Bucket,
    Entry,
    LinkState,
    Mark,
    Owner,
    Problem,
    TmpDir,
)


class Assembler:
    """Phase 3. Owns the snapshot's totals from here on."""

    def __init__(
        self, listing: RootListing, bucket_set: BucketSet, requested_style: str | None, now: float
    ) -> None:
        self.snap = listing.snap
        self.inodes = listing.inodes
        self.tallies = listing.tallies
        self.bucket_paths = listing.bucket_paths
        self.bucket_set = bucket_set
        self.requested_style = requested_style
        self.now = now
        self.archive_results: list[UnitResult] = []  # archives waiting for the link walk
        self.root_sizes: dict[str, int] = {}
        self.refs_ready = False
        self.refs: dict[str, list[Entry]] = {}
        self.stale_refs: dict[str, list[str]] = {}
        self.env_refs: dict[str, list[str]] = {}

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
            tally = self.tallies.setdefault(bucket, Tally())
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

    def references_done(
        self, link_walk: LinkWalk, bucket_set: BucketSet | Callable[[], BucketSet] | None
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

    def decide_layout(self, link_walk: LinkWalk) -> None:
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

    def prepare_references(self, link_walk: LinkWalk) -> None:
        """Index the links once the link walk is done; archives can then be built one by one."""
        snap = self.snap
        # One rule for scan and prune (core.refs): kept buckets, minus dangling revisions.
        dead = frozenset(dangling_revisions(link_walk.shards, self.bucket_set))
        refs: dict[str, list[Entry]] = {}
        stale_refs: dict[str, list[str]] = {}
        env_refs: dict[str, list[str]] = {}
        for e in link_walk.entries:
            # uv counts symlinks on Unix and link files on Windows, nothing else
            # (docs/uv-cache-format.md §6).
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
            tally = self.tallies.get(name, Tally())
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
