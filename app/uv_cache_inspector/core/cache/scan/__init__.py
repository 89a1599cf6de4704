"""One pass over a uv cache: a `Snapshot` of buckets, archives, entries, temporary dirs, owners.

Three parts, the middle two concurrent:

1. the root and its buckets are listed here (root.py), and the rest is cut into *units*;
2. the units (each archive in archive-v0, each temporary directory, each first-level part of
   the buckets without links) go to a pool of walkers (`cache.workers`, `cache.walk`): threads
   running the compiled walker, or processes running the Python one; meanwhile a thread walks
   the *link buckets* and reads every link (linkwalk.py);
3. results are merged into the Snapshot as they come (merge.py), archives as soon as the link
   walk has said which are referenced.

Nothing raises for what is found inside the cache: unreadable directories, odd names, vanishing
files are recorded in the snapshot.

`scan()` is a generator: it yields `Progress` and returns the `Snapshot` (StopIteration.value);
`run_scan()` drives it to the end.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import replace

from uv_cache_inspector.core.cache import links
from uv_cache_inspector.core.cache.inodes import InodeSet
from uv_cache_inspector.core.cache.layout import (
    NEWEST_KNOWN,
    BucketSet,
    buckets_for,
    format_version,
)
from uv_cache_inspector.core.cache.scan.common import Tally
from uv_cache_inspector.core.cache.scan.linkwalk import LinkWalk, LinkWalker
from uv_cache_inspector.core.cache.scan.merge import Assembler
from uv_cache_inspector.core.cache.scan.root import RootListing
from uv_cache_inspector.core.cache.walk import UnitResult, walk_unit
from uv_cache_inspector.core.cache.workers import (
    POOL_MIN_UNITS,
    ThreadPool,
    WorkerPool,
    chunked,
    default_worker_count,
    start_pool,
)
from uv_cache_inspector.core.errors import CancelledError
from uv_cache_inspector.core.model import BucketStatus, CancelToken, Progress, Snapshot


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
    workers = default_worker_count() if workers is None else workers
    now = time.time()
    snap = Snapshot(
        root=root,
        real_root=root,
        scanned_at=now,
        # None: decided from the links found (links.detect_style), once they are all read.
        link_style=link_style or links.host_link_style(),
        layout_source="requested" if link_style else "default",
        uv_version=None,
    )
    listing = RootListing(root, snap, InodeSet())
    try:
        yield Progress("opening", message=root)
        listing.open_root()
        listing.list_root()
        if token.cancelled():
            raise CancelledError("scan cancelled")

        link_walk = LinkWalk()
        walker = LinkWalker(listing, token, link_style, read_pointers)
        thread = threading.Thread(
            target=walker.walk, args=(link_walk,), name="uvci-link-walk", daemon=True
        )
        thread.start()
        merger = Assembler(listing, buckets_for(NEWEST_KNOWN), link_style, now)
        total_units = len(listing.units)
        yield Progress("scanning", 0, total_units, snap.total_bytes, "reading the cache")
        if workers > 1 and total_units >= POOL_MIN_UNITS and pool is None:
            try:
                pool = start_pool(workers)
            except OSError:
                pool = None
        elif pool is not None and (workers <= 1 or total_units < POOL_MIN_UNITS):
            pool.close()
            pool = None
        yield from _walk_units(listing, merger, token, workers, pool, link_walk, thread, bucket_set)
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
    if not merger.refs_ready:
        merger.references_done(link_walk, bucket_set)

    # Link buckets: their own files, then the subtrees the thread walked inline.
    dup = merger.inodes.add_many(
        link_walk.dev, link_walk.linked_ino.tobytes(), link_walk.linked_bytes.tobytes()
    )
    for name, tally in link_walk.tallies.items():
        if not merger.in_symlinked_bucket(name):
            snap.total_bytes += tally.bytes
            snap.total_files += tally.files
            snap.total_dirs += tally.dirs
        t = merger.tallies.setdefault(name, Tally())
        t.bytes += tally.bytes
        t.files += tally.files
        t.dirs += tally.dirs
    snap.total_bytes -= dup
    for res, bucket, role in link_walk.units:
        merger.merge_unit(res, bucket, role, bucket)
    snap.entries = sorted(link_walk.entries, key=lambda e: e.path)
    snap.shards = link_walk.shards
    snap.sizes.update(link_walk.sizes())
    snap.top.update({b: sorted(c) for b, c in link_walk.top.items()})
    snap.revision_dirs = sorted(link_walk.revision_dirs, key=lambda r: r.path)
    snap.marks.extend(link_walk.marks)
    snap.problems.extend(link_walk.problems)
    snap.vanished += link_walk.vanished
    version = uv_version() if callable(uv_version) else uv_version
    snap.uv_version = version or format_version(merger.bucket_set.uv_version)
    snap.archives.sort(key=lambda a: (a.package or "~", a.version or "", a.id))
    merger.build_buckets()
    snap.tmp_dirs.sort(key=lambda t: t.path)
    tmp_sizes = {os.path.basename(t.path): t.bytes for t in snap.tmp_dirs if t.location == "root"}
    bucket_sizes = {b.name: b.bytes for b in snap.buckets}
    snap.root_items = [
        replace(
            item,
            bytes=merger.root_sizes.get(item.name)
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
    listing: RootListing,
    merger: Assembler,
    token: CancelToken,
    workers: int,
    pool: WorkerPool | ThreadPool | None,
    link_walk: LinkWalk,
    thread: threading.Thread,
    bucket_set: BucketSet | Callable[[], BucketSet] | None,
) -> Generator[Progress, None, None]:
    """Walk every unit (in the pool or here), merging results as they come; once the link
    thread is done, archives are built as they arrive instead of all at the end."""
    snap = listing.snap
    total = len(listing.units)
    done = 0

    def merge(results: list[UnitResult]) -> None:
        if not merger.refs_ready and not thread.is_alive():
            if link_walk.error is not None:
                raise link_walk.error
            merger.references_done(link_walk, bucket_set)
        for res in results:
            info = listing.unit_info.get(res.path)
            if info is None:
                # Handed to the pool early and not in the scan's own listing (uv removed it in
                # between): the listing is what the snapshot describes.
                continue
            merger.merge_unit(res, info.bucket, info.role, info.location)

    if pool is not None:
        rest = [u for u in listing.units if u[0] not in pool.early_paths]
        for results in pool.run(chunked(rest, workers)):
            merge(results)
            done += len(results)
            if token.cancelled():
                raise CancelledError("scan cancelled")
            yield Progress("scanning", done, total, snap.total_bytes)
        return
    last = time.perf_counter()
    for path, kind, owner in listing.units:
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
