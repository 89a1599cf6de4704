"""JSON forms of the core's results, exactly the fields of the CLI contract (plus additions).

The contract (docs/cli-contract.md) lets us add fields but never rename or drop one. Paths go
through `display_path`, so undecodable bytes in names become `\\xNN` escapes instead of breaking
JSON.
"""

from __future__ import annotations

from typing import Any

from uv_cache_inspector.core.cache.links import STYLE_LAYOUTS
from uv_cache_inspector.core.cache.location import CacheLocation
from uv_cache_inspector.core.model import Owner, Snapshot, display_path


def owner_json(owner: Owner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    return {"uid": owner.uid, "gid": owner.gid, "mode": owner.mode_text()}


def layout_json(snap: Snapshot) -> dict[str, Any]:
    """How the links were read: `windows` (link files), `unix` (symlinks) or `mixed`, and why."""
    symlinks, link_files = snap.layout_evidence
    return {
        "layout": STYLE_LAYOUTS.get(snap.link_style, snap.link_style),
        "source": snap.layout_source,
        "symlinks": symlinks,
        "link_files": link_files,
    }


def snapshot_json(snap: Snapshot, location: CacheLocation | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cache_dir": display_path(snap.root),
        "uv_version": snap.uv_version,
        "total_bytes": snap.total_bytes,
        "total_files": snap.total_files,
        "total_dirs": snap.total_dirs,
        "complete": snap.complete,
        "duration_seconds": round(snap.duration, 4),
        "layout": layout_json(snap),
        "buckets": [
            {
                "name": b.name,
                "kind": b.kind,
                "version": b.version,
                "status": b.status.value,
                "bytes": b.bytes,
                "files": b.files,
                "note": b.note,
                "owner": owner_json(b.owner),
                "is_symlink": b.is_symlink,
            }
            for b in snap.buckets
        ],
        "archives": [
            {
                "id": a.id,
                "package": a.package,
                "version": a.version,
                "bytes": a.bytes,
                "reclaimable_bytes": a.reclaimable_bytes,
                "files": a.files,
                "kind": a.kind.value,
                "referenced": a.referenced,
                "referrers": [display_path(r) for r in a.referrers],
                "stale_referrers": [display_path(r) for r in a.stale_referrers],
                "environment_referrers": [display_path(r) for r in a.environment_referrers],
                "last_used": a.last_used,
                "problems": list(a.problems),
            }
            for a in snap.archives
        ],
        "tmp_dirs": [
            {
                "path": display_path(t.path),
                "bytes": t.bytes,
                "age_seconds": round(t.age_seconds, 3),
                "location": t.location,
                "owner": owner_json(t.owner),
            }
            for t in snap.tmp_dirs
        ],
        "entries": [
            {
                "path": display_path(e.path),
                "bucket": e.bucket,
                "kind": e.kind,
                "package": e.package,
                "version": e.version,
                "archive_id": e.archive_id,
                "state": e.state.value,
                "link_kind": e.link_kind,
            }
            for e in snap.entries
        ],
        "problems": [
            {"kind": p.kind, "path": display_path(p.path), "detail": p.detail}
            for p in snap.problems
        ],
        "marks": [
            {
                "path": display_path(m.path),
                "reason": m.reason,
                "owner": owner_json(m.owner),
                "files": m.files,
                "bytes": m.bytes,
                "detail": m.detail,
            }
            for m in snap.marks
        ],
    }
    if location is not None:
        out["location"] = location.to_json()
    return out
