"""`uvci scan`: the whole cache read, bucket by bucket and package by package."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import EXIT_OK, add_command, cache_context
from uv_cache_inspector.cli.output import ProgressLine, drive, emit_json

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.cache.context import CacheContext
    from uv_cache_inspector.core.cache.workers import ThreadPool, WorkerPool
    from uv_cache_inspector.core.model import Archive, Snapshot


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(subparsers, "scan", "read the whole cache: buckets, entries, sizes, owners")
    p.add_argument("--top", type=int, default=20, help="packages to list (human output)")
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _early_pool(cache_dir: str | None, workers: int | None) -> WorkerPool | ThreadPool | None:
    """Start the scan's walker processes before anything else, when the cache is big enough to
    want them: their interpreters start while this one imports the rest of the inspector."""
    from uv_cache_inspector.core.cache.workers import (
        POOL_MIN_UNITS,
        default_worker_count,
        start_pool,
    )

    count = default_worker_count() if workers is None else workers
    if count <= 1:
        return None
    if cache_dir is None:
        from uv_cache_inspector.core.cache.location import locate

        cache_dir = locate().path
    # The scan keys its units by real path; so must we, or the early work is wasted.
    archive = os.path.join(os.path.realpath(cache_dir), "archive-v0")
    try:
        st = os.stat(archive)
        with os.scandir(archive) as it:
            names = [e.name for e in it]
    except OSError:
        return None
    if len(names) < POOL_MIN_UNITS:
        return None
    # The archives are the bulk of the work: hand them out now (the scan skips them later;
    # temporary directories among them are left to the scan, which knows what they are).
    owner = (st.st_uid, st.st_gid, st.st_mode & 0o7777)
    early = [
        (os.path.join(archive, n), "archive", owner)
        for n in sorted(names)
        if not n.startswith(".tmp")
    ]
    return start_pool(count, early)


def run(args: argparse.Namespace) -> int:
    pool = _early_pool(args.cache_dir, args.workers)
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.model import CancelToken

    ctx = cache_context(args)
    token = CancelToken()
    gen = scan(
        ctx.location.path,
        bucket_set=ctx.bucket_set,
        uv_version=ctx.uv_version_label,
        cancel=token,
        workers=args.workers,
        pool=pool,
        link_style=ctx.link_style,
    )
    snap = drive(gen, ProgressLine())
    if args.json:
        from uv_cache_inspector.core.cache.jsonout import snapshot_json

        emit_json(snapshot_json(snap, ctx.location))
        return EXIT_OK
    _print_scan(snap, ctx, args.top)
    return EXIT_OK


def _print_scan(snap: Snapshot, ctx: CacheContext, top: int) -> None:
    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.model import display_path

    loc = ctx.location
    newest = ctx.newest_uv
    print(f"Cache:     {display_path(snap.root)}")
    print(f"Found:     {loc.detail}")
    if loc.disagreement:
        print(f"Note:      {loc.disagreement}")
    uv_line = f"{newest.version_str} ({newest.path})" if newest else ctx.uv_version_label()
    print(f"uv:        {uv_line}")
    print(
        f"Size:      {fmt.size(snap.total_bytes)} in {snap.total_files:,} files "
        f"and {snap.total_dirs:,} directories (scanned in {snap.duration:.2f} s)"
    )
    print()
    rows = [
        [b.name, b.status.value, fmt.size(b.bytes), f"{b.files:,}", b.note]
        for b in sorted(snap.buckets, key=lambda b: -b.bytes)
    ]
    if rows:
        print(fmt.table(rows, ["bucket", "status", "size", "files", "note"], right={2, 3}))
        print()
    by_pkg: dict[str, list[Archive]] = {}
    for a in snap.archives:
        by_pkg.setdefault(a.package or f"({a.kind.value})", []).append(a)
    pkg_rows = sorted(by_pkg.items(), key=lambda kv: -sum(a.bytes for a in kv[1]))
    if pkg_rows:
        rows = []
        for pkg, archives in pkg_rows[:top]:
            versions = sorted({a.version or "?" for a in archives})
            used = max((a.last_used or 0) for a in archives) or None
            rows.append(
                [
                    pkg,
                    ", ".join(versions)[:30],
                    str(len(archives)),
                    fmt.size(sum(a.bytes for a in archives)),
                    f"{sum(a.files for a in archives):,}",
                    fmt.since(used),
                ]
            )
        header = ["package", "versions", "archives", "size", "files", "last used"]
        print(fmt.table(rows, header, right={2, 3, 4}))
        if len(pkg_rows) > top:
            print(f"... and {len(pkg_rows) - top} more packages (--top N to see more)")
        print()
    unref = [a for a in snap.archives if not a.referenced]
    print(
        f"Archives:  {len(snap.archives):,}, of which {len(unref):,} unreferenced "
        f"({fmt.size(sum(a.bytes for a in unref))}; `uvci prune` removes them)"
    )
    if snap.tmp_dirs:
        total = sum(t.bytes for t in snap.tmp_dirs)
        print(f"Temporary: {len(snap.tmp_dirs)} .tmp* entries ({fmt.size(total)})")
    if snap.problems:
        print(f"Problems:  {len(snap.problems)} (see `uvci doctor`)")
