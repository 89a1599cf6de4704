"""The cache as rows, a tree and treemap groups: what any user interface lists.

Built from a scan and its findings in a worker thread (so the app only displays it), and updated
row by row from watch events. Rows are plain objects; the app's models wrap them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.model import (
    Archive,
    ArchiveKind,
    Entry,
    Finding,
    LinkState,
    Owner,
    Snapshot,
    TmpDir,
)
from uv_cache_inspector.core.platform.access import user_name

# Row states, with the severity the app colours them by.
STATES = {
    "used": "ok",
    "unused": "muted",  # no current link: `uv cache prune` removes it
    "environment": "muted",
    "stale link": "muted",
    "incomplete": "error",
    "modified": "error",  # changed after uv unpacked it (`uvci verify`)
    "foreign owner": "warning",
    "ok": "ok",
    "dangling": "error",
    "moved": "warning",
    "outside": "warning",
    "corrupt": "error",
    "in progress": "info",
    "left behind": "warning",
    "orphaned": "warning",
    "new": "info",
}


@dataclass(slots=True)
class Row:
    key: str  # the path
    kind: str  # "archive" | "entry" | "tmp"
    package: str
    version: str
    bytes: int
    files: int
    owner: str
    last_used: float | None
    state: str
    bucket: str
    group: str  # tree node key the row belongs to (bucket or bucket/index)
    archive_id: str | None = None
    shared_bytes: int = 0
    referrers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    owner_detail: Owner | None = None
    source: str = ""  # where uv got it: "wheel", "built from sdist", "git", ...

    @property
    def severity(self) -> str:
        return STATES.get(self.state, "info")


@dataclass(slots=True)
class Node:
    key: str
    label: str
    bytes: int = 0
    files: int = 0
    status: str = ""
    note: str = ""
    children: list[Node] = field(default_factory=list)
    rows: int = 0


@dataclass(slots=True)
class Inventory:
    root: str
    rows: list[Row]
    tree: Node
    groups: dict[str, dict[str, int]]  # treemap: bucket -> package -> bytes
    findings_by_path: dict[str, list[Finding]]

    def findings_for(self, path: str) -> list[Finding]:
        """Findings about this path, or about a place above it (an owner change covers all)."""
        out: list[Finding] = []
        p = path
        while True:
            out.extend(self.findings_by_path.get(p, []))
            parent = os.path.dirname(p)
            if parent == p or len(parent) < len(self.root):
                break
            p = parent
        return out


def _owner_label(o: Owner | None) -> str:
    return user_name(o.uid) if o else ""


# The bucket kind (and the sub-folder) of the entry that points at an archive says how uv got it
# (docs/uv-cache-format.md §2: wheels-v*/{index,url,path}, sdists-v*/{index,url,path,git},
# builds-v*).
_SOURCES = {
    ("wheels", "index"): "wheel",
    ("wheels", "url"): "wheel from a URL",
    ("wheels", "path"): "local wheel",
    ("sdists", "index"): "built from sdist",
    ("sdists", "url"): "built from a URL",
    ("sdists", "path"): "built from a folder",
    ("sdists", "editable"): "built (editable)",
    ("sdists", "git"): "built from git",
    ("git", ""): "built from git",
    ("environments", ""): "environment",
}


def source_of(root: str, referrer: str) -> str:
    """'wheel', 'built from sdist', ... for the entry at `referrer` (a path under `root`)."""
    rel = os.path.relpath(referrer, root).split(os.sep)
    kind = rel[0].rsplit("-v", 1)[0] if rel else ""
    sub = rel[1] if len(rel) > 1 else ""
    return _SOURCES.get((kind, sub)) or _SOURCES.get((kind, "")) or kind


def _under_finding(path: str, root: str, code: str, findings: dict[str, list[Finding]]) -> bool:
    """A finding about `path` or a folder above it inside the root (an owner change covers all)."""
    p = path
    while len(p) >= len(root):
        if any(f.code == code for f in findings.get(p, [])):
            return True
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return False


def archive_row(a: Archive, findings: dict[str, list[Finding]], root: str = "") -> Row:
    if any(p.startswith(("incomplete", "empty", "not a dir")) for p in a.problems):
        state = "incomplete"
    elif any(f.code == F.MODIFIED_ARCHIVE for f in findings.get(a.path, [])):
        state = "modified"
    elif _under_finding(a.path, root or os.path.dirname(a.path), F.FOREIGN_OWNER, findings):
        state = "foreign owner"
    elif a.kind is ArchiveKind.ENVIRONMENT:
        state = "environment"
    elif a.referenced:
        state = "used"
    elif a.stale_referrers:
        state = "stale link"
    else:
        state = "unused"
    package = a.package or (
        "(cached environment)" if a.kind is ArchiveKind.ENVIRONMENT else "(unknown)"
    )
    return Row(
        key=a.path,
        kind="archive",
        package=package,
        version=a.version or "",
        bytes=a.bytes,
        files=a.files,
        owner=_owner_label(a.owner),
        last_used=a.last_used,
        state=state,
        bucket="archive-v0",
        group="archive-v0",
        archive_id=a.id,
        shared_bytes=a.shared_bytes,
        referrers=a.referrers + a.stale_referrers + a.environment_referrers,
        problems=a.problems,
        owner_detail=a.owner,
        source=(
            "environment"
            if a.kind is ArchiveKind.ENVIRONMENT
            else source_of(root, (a.referrers + a.stale_referrers)[0])
            if root and (a.referrers or a.stale_referrers)
            else ""
        ),
    )


_ENTRY_STATE = {
    LinkState.OK: "ok",
    LinkState.DANGLING: "dangling",
    LinkState.MOVED: "moved",
    LinkState.OUTSIDE: "outside",
    LinkState.CORRUPT: "corrupt",
    LinkState.STALE_VERSION: "dangling",
}


def entry_row(e: Entry, archives: dict[str, Archive], root: str = "") -> Row:
    a = archives.get(e.archive_id or "")
    group = f"{e.bucket}/{e.index}" if e.index else e.bucket
    return Row(
        key=e.path,
        kind="entry",
        package=e.package or (a.package if a else "") or "",
        version=e.version or (a.version if a else "") or "",
        bytes=a.bytes if a else 0,
        files=a.files if a else 0,
        owner=_owner_label(a.owner if a else None),
        last_used=a.last_used if a else None,
        state=_ENTRY_STATE[e.state],
        bucket=e.bucket,
        group=group,
        archive_id=e.archive_id,
        referrers=(),
        problems=(),
        source=source_of(root, e.path) if root else "",
    )


def tmp_row(t: TmpDir, orphaned: set[str], lock_held: bool) -> Row:
    if t.path in orphaned:
        state = "orphaned"
    elif lock_held:
        state = "in progress"
    else:
        state = "left behind"
    group = "tmp"
    return Row(
        key=t.path,
        kind="tmp",
        package=os.path.basename(t.path),
        version="",
        bytes=t.bytes,
        files=t.files,
        owner=_owner_label(t.owner),
        last_used=None,
        state=state,
        bucket=t.location,
        group=group,
        owner_detail=t.owner,
    )


def build(snap: Snapshot, findings: Sequence[Finding], lock_held: bool = False) -> Inventory:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        for p in f.details.get("paths") or ([f.path] if f.path else []):
            by_path.setdefault(p, []).append(f)
    archives = {a.id: a for a in snap.archives}
    orphaned = {f.path for f in findings if f.code == F.ORPHANED_TMP and f.path}
    root = snap.real_root
    rows = [archive_row(a, by_path, root) for a in snap.archives]
    rows += [entry_row(e, archives, root) for e in snap.entries]
    rows += [tmp_row(t, orphaned, lock_held) for t in snap.tmp_dirs]
    return Inventory(snap.real_root, rows, _tree(snap, rows), _groups(snap), by_path)


def _tree(snap: Snapshot, rows: Iterable[Row]) -> Node:
    root = Node(
        "", os.path.basename(snap.real_root) or snap.real_root, snap.total_bytes, snap.total_files
    )
    counts: dict[str, int] = {}
    group_sizes: dict[str, int] = {}
    for r in rows:
        counts[r.group] = counts.get(r.group, 0) + 1
        if r.kind == "entry":
            group_sizes[r.group] = group_sizes.get(r.group, 0) + r.bytes
    for b in sorted(snap.buckets, key=lambda b: -b.bytes):
        node = Node(
            b.name, b.name, b.bytes, b.files, b.status.value, b.note, rows=counts.get(b.name, 0)
        )
        subgroups = sorted({g for g in counts if g.startswith(b.name + "/")})
        for g in subgroups:
            node.children.append(
                Node(g, g.split("/", 1)[1], group_sizes.get(g, 0), 0, "", "", rows=counts[g])
            )
            node.rows += counts[g]
        root.children.append(node)
    if counts.get("tmp"):
        tmp_bytes = sum(t.bytes for t in snap.tmp_dirs)
        root.children.append(
            Node(
                "tmp",
                "Temporary folders",
                tmp_bytes,
                sum(t.files for t in snap.tmp_dirs),
                "",
                "",
                rows=counts["tmp"],
            )
        )
    root.rows = sum(counts.values())
    return root


def _groups(snap: Snapshot) -> dict[str, dict[str, int]]:
    """Treemap groups: archive-v0 by package; every other bucket as itself."""
    groups: dict[str, dict[str, int]] = {}
    by_pkg: dict[str, int] = {}
    for a in snap.archives:
        name = a.package or ("environments" if a.kind is ArchiveKind.ENVIRONMENT else "other")
        by_pkg[name] = by_pkg.get(name, 0) + a.bytes
    archive = next((b for b in snap.buckets if b.name == "archive-v0"), None)
    if archive is not None:
        # The bucket's own folders (and anything not an archive) so the group adds up to the
        # size the bucket tree shows.
        rest = archive.bytes - sum(by_pkg.values())
        if rest > 0:
            by_pkg["(folders)"] = by_pkg.get("(folders)", 0) + rest
    if by_pkg:
        groups["archive-v0"] = by_pkg
    for b in snap.buckets:
        if b.name != "archive-v0" and b.bytes > 0:
            groups[b.name] = {b.name: b.bytes}
    tmp = sum(t.bytes for t in snap.tmp_dirs)
    if tmp:
        groups["temporary"] = {"temporary folders": tmp}
    return groups
