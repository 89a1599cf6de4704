"""Which archives are in use: one rule for the scan, the table, the report and every plan.

An archive in `archive-v0` is referenced when a link of the cache's own link style (symlinks on
Unix, link files on Windows; docs/uv-cache-format.md §6) in a bucket that a prune keeps names it:

- a wheels/sdists bucket that the newest uv on the machine reads (current);
- any bucket of a uv this inspector does not know or that is newer than the uv found (unknown,
  cached environments included): its uv may still use it, and a prune leaves it whole, so what
  it names stays too (issue 12, item 2);
- never a stale bucket (prune removes it first), a cached environment (prune removes those), or
  a source revision that is no longer its shard's current one (prune removes it, as uv does:
  issue 12, item 4).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from uv_cache_inspector.core.cache.layout import (
    LINK_BUCKET_KINDS,
    BucketSet,
    classify,
    parse_bucket,
)
from uv_cache_inspector.core.model import BucketStatus, Entry, LinkState, SdistShard


def bucket_status(name: str, bs: BucketSet) -> BucketStatus:
    return classify(name, bs)[0]


def dangling_revisions(shards: Iterable[SdistShard], bs: BucketSet) -> list[str]:
    """Source revisions that are not their shard's current one, in sdists buckets that are
    current for this uv (uv's prune step 1; inside a bucket we keep whole, nothing is touched)."""
    out: list[str] = []
    for shard in shards:
        if shard.current_revision is None:
            continue
        if bucket_status(shard.bucket, bs) is not BucketStatus.CURRENT:
            continue
        out.extend(
            os.path.join(shard.path, rev)
            for rev in shard.revisions
            if rev != shard.current_revision
        )
    return out


def _under(path: str, removed: frozenset[str]) -> bool:
    """`path` or one of its parents is in `removed` (walks up: cost is the path's depth)."""
    while removed:
        if path in removed:
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return False


def is_reference(
    e: Entry, link_style: str, bs: BucketSet, removed: frozenset[str] = frozenset()
) -> bool:
    # The link kind the uv that wrote the cache counts (symlinks on Unix, link files on
    # Windows; both in a cache two platforms share: Snapshot.counts_link).
    if e.state is not LinkState.OK or e.archive_id is None:
        return False
    if link_style not in {e.link_kind, "mixed"}:
        return False
    if _under(e.path, removed):
        return False
    status = bucket_status(e.bucket, bs)
    if status is BucketStatus.UNKNOWN:
        return True  # a bucket we keep whole (a newer uv's): everything it links to stays
    parsed = parse_bucket(e.bucket)
    return (
        status is BucketStatus.CURRENT
        and e.kind != "environment"
        and parsed is not None
        and parsed[0] in LINK_BUCKET_KINDS
    )


def referenced_ids(
    entries: Iterable[Entry], link_style: str, bs: BucketSet, removed: Iterable[str] = ()
) -> set[str]:
    """Archive ids that stay referenced once the paths in `removed` are gone."""
    gone = frozenset(p.rstrip(os.sep) for p in removed)
    return {
        e.archive_id
        for e in entries
        if e.archive_id is not None and is_reference(e, link_style, bs, gone)
    }
