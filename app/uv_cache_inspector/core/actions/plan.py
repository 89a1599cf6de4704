"""Plans: what repair or prune would do, as typed actions, before anything is done.

A plan is computed from a scan (and, for repair, a diagnosis) without side effects, shown to
the user, saved as JSON (for the privileged helper, which checks it again), and executed by
`core.apply`. Every action records what its target must still be when it runs (type, inode,
device), the physical bytes it frees now (files still hard-linked from a venv or another entry
free nothing until those go: `shared_bytes` says how much), and whether it needs privilege.

Prune by default does exactly what `uv cache prune` of the newest uv here would do
(uv-cache-format §6): (1) sdist revisions that are not their shard's current one, (2) at the
root, every file but CACHEDIR.TAG/.gitignore/.git/.lock and every directory not in that uv's
bucket list (stale buckets, `.tmp*`), (3) everything in environments-vN, (4) everything in
builds-v0, (5) with --ci the unzipped wheels and sdist build trees, (6) every archive no current
link references once (1)-(5) are gone. One deliberate difference: buckets newer than that uv
("unknown") are kept, with a warning, because another uv uses them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.layout import (
    ROOT_CONTROL_FILES,
    BucketSet,
    is_known_bucket,
)
from uv_cache_inspector.core.cache.links import normalize_name
from uv_cache_inspector.core.cache.refs import dangling_revisions, referenced_ids
from uv_cache_inspector.core.cache.treewalk import count_linked_elsewhere
from uv_cache_inspector.core.model import (
    Archive,
    BucketStatus,
    Entry,
    Finding,
    Snapshot,
    display_path,
)

PLAN_VERSION = 1

# Execution order: links and pointers before the archives they name, so uv finds a usable cache
# at every instant (an entry without its archive is a broken cache; an archive without its entry
# is only unused). Permission fixes first: they can make the rest possible.
ORDER = {
    "chown": 0,
    "chmod": 1,
    "link": 10,  # a link or pointer file
    "entry": 20,  # a bucket entry directory (wheel shard dir, sdist revision)
    "environment": 30,
    "build": 30,
    "tmp": 40,
    "stale-bucket": 50,
    "other": 50,
    "archive": 60,
}

if TYPE_CHECKING:
    from uv_cache_inspector.core.diagnosis.verify import ModifiedArchive


@dataclass(frozen=True, slots=True)
class Expect:
    """What a path must still be when its action runs (checked again at that moment)."""

    kind: str  # "dir" | "file" | "link"
    ino: int
    dev: int


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "delete" | "chmod" | "chown"
    path: str
    bytes: int  # physical bytes freed now (0 for chmod/chown)
    needs_privilege: bool
    reason: str  # for people: "unreferenced archive of six 1.17.0"
    category: str  # "unreferenced" | "stale-bucket" | "orphaned-tmp" | "sdist-revision" | ...
    step: str  # ordering class, a key of ORDER
    expect: Expect | None = None
    shared_bytes: int = 0  # bytes in files hard-linked elsewhere: freed only when those go
    logical_bytes: int = 0  # allocated bytes of the whole tree
    uid: int | None = None  # chown target
    gid: int | None = None
    add_mode: int | None = None  # chmod: permission bits to add to directories
    add_file_mode: int | None = None  # chmod: permission bits to add to files
    recursive: bool = False
    package: str | None = None
    version: str | None = None
    shared_files: int = 0  # chown/chmod: files linked elsewhere, replaced by copies (issue 20)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "path": display_path(self.path),
            "bytes": self.bytes,
            "needs_privilege": self.needs_privilege,
            "done": False,
            "error": None,
            "reason": self.reason,
            "category": self.category,
        }
        if self.shared_bytes:
            out["shared_bytes"] = self.shared_bytes
        if self.kind == "chown":
            out["uid"], out["gid"] = self.uid, self.gid
        if self.kind == "chmod":
            out["add_mode"] = f"{self.add_mode or 0:04o}"
        if self.shared_files:
            out["shared_files"] = self.shared_files
        return out


@dataclass
class Plan:
    root: str
    kind: str  # "repair" | "prune"
    actions: list[Action]
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what uv would remove but we keep, and why
    created_at: float = field(default_factory=time.time)
    uv_version: str | None = None
    for_uid: int | None = None  # repair: the user who runs uv (chown target)
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def freed_bytes(self) -> int:
        return sum(a.bytes for a in self.actions if a.kind == "delete")

    @property
    def needs_privilege(self) -> bool:
        return any(a.needs_privilege for a in self.actions)

    def ordered(self) -> list[Action]:
        return sorted(self.actions, key=lambda a: (ORDER.get(a.step, 50), a.path))

    def summary(self) -> str:
        n = len(self.actions)
        if not n:
            return "Nothing to do."
        deletes = [a for a in self.actions if a.kind == "delete"]
        fixes = [a for a in self.actions if a.kind != "delete"]
        parts = []
        if deletes:
            parts.append(
                f"remove {len(deletes)} item{'s' if len(deletes) != 1 else ''} "
                f"({fmt.size(self.freed_bytes)} freed)"
            )
        if fixes:
            parts.append(
                f"fix ownership or permissions of {len(fixes)} place"
                f"{'s' if len(fixes) != 1 else ''}"
            )
        return "Plan: " + " and ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "kind": self.kind,
            "cache_dir": display_path(self.root),
            "actions": [a.to_json() for a in self.ordered()],
            "freed_bytes": self.freed_bytes,
            "warnings": self.warnings,
            "kept": self.kept,
            "uv_version": self.uv_version,
        }

    def dump(self) -> str:
        """The full plan, for the privileged helper (`uvci repair --plan FILE`)."""
        return json.dumps(
            {
                "version": PLAN_VERSION,
                "root": self.root,
                "kind": self.kind,
                "created_at": self.created_at,
                "uv_version": self.uv_version,
                "for_uid": self.for_uid,
                "policy": self.policy,
                "warnings": self.warnings,
                "actions": [
                    {**asdict(a), "expect": asdict(a.expect) if a.expect else None}
                    for a in self.actions
                ],
            },
            indent=1,
        )

    @classmethod
    def load(cls, text: str) -> Plan:
        from uv_cache_inspector.core.errors import UsageError

        try:
            data = json.loads(text)
            if data.get("version") != PLAN_VERSION:
                raise UsageError("this plan was made by another version of the inspector")
            actions = []
            for a in data["actions"]:
                exp = a.pop("expect")
                actions.append(Action(**a, expect=Expect(**exp) if exp else None))
            return cls(
                root=data["root"],
                kind=data["kind"],
                actions=actions,
                warnings=list(data.get("warnings", [])),
                created_at=float(data["created_at"]),
                uv_version=data.get("uv_version"),
                for_uid=data.get("for_uid"),
                policy=dict(data.get("policy", {})),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"not a plan file: {exc}") from exc


def _expect(path: str) -> Expect | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    import stat

    kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"
    return Expect(kind, st.st_ino, st.st_dev)


def _delete(
    snap: Snapshot,
    path: str,
    reason: str,
    category: str,
    step: str,
    *,
    archive: Archive | None = None,
    size: tuple[int, int] | None = None,
) -> Action | None:
    exp = _expect(path)
    if exp is None:
        return None  # gone already
    if archive is not None:
        logical, shared = archive.bytes, archive.shared_bytes
    else:
        logical, shared = size if size is not None else snap.size_of(path)
        if logical == 0 and exp.kind != "dir":
            try:
                logical = (
                    os.lstat(path).st_blocks * 512 if hasattr(os.stat_result, "st_blocks") else 0
                )
            except OSError:
                logical = 0
    return Action(
        kind="delete",
        path=path,
        bytes=max(0, logical - shared),
        needs_privilege=_needs_admin_to_remove(snap, path, exp.kind == "dir"),
        reason=reason,
        category=category,
        step=step,
        expect=exp,
        shared_bytes=shared,
        logical_bytes=logical,
        recursive=exp.kind == "dir",
        package=archive.package if archive else None,
        version=archive.version if archive else None,
    )


def _needs_admin_to_remove(snap: Snapshot, path: str, is_dir: bool) -> bool:
    """This process may not remove `path`: its folder is not writable for us, or (a folder)
    something below belongs to another user (we can open up only what we own). Root may."""
    euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if euid in (0, -1):
        return False
    parent = os.path.dirname(path)
    if not os.access(parent, os.W_OK | os.X_OK, follow_symlinks=False):
        return True
    if not is_dir:
        return False
    try:
        if os.lstat(path).st_uid != euid and not os.access(path, os.W_OK | os.X_OK):
            return True
    except OSError:
        return False
    # A folder below that is someone else's and closed to us cannot be emptied (another
    # user's file in a folder of ours can be unlinked: that needs only the folder).
    prefix = path.rstrip(os.sep) + os.sep
    return any(
        p.startswith(prefix) and not os.access(p, os.W_OK | os.X_OK)
        for p in _foreign_dirs(snap, euid)
    )


_FOREIGN_DIRS: dict[int, tuple[object, list[str]]] = {}


def _foreign_dirs(snap: Snapshot, euid: int) -> list[str]:
    """Folders of the snapshot owned by someone else (marks), listed once per snapshot: a plan
    asks for each of its thousands of deletions."""
    hit = _FOREIGN_DIRS.get(id(snap))
    if hit is None or hit[0] is not snap.marks:
        paths = [
            m.path
            for m in snap.marks
            if m.owner is not None and m.owner.is_dir and m.owner.uid != euid
        ]
        _FOREIGN_DIRS.clear()
        _FOREIGN_DIRS[id(snap)] = (snap.marks, paths)
        return paths
    return hit[1]


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _covered(path: str, done: set[str]) -> bool:
    """`_under(path, done)` for a set of planned paths, walking up from `path` (its depth)
    instead of along `done` (every action so far: 10,000 `.tmp*` folders made it quadratic)."""
    p = path.rstrip(os.sep) or path
    while True:
        if p in done:
            return True
        parent = os.path.dirname(p)
        if parent == p:
            return False
        p = parent


def _archive_label(a: Archive) -> str:
    if a.package:
        return f"{a.package} {a.version or ''}".strip()
    return a.kind.value


@dataclass(frozen=True, slots=True)
class PrunePolicy:
    ci: bool = False
    packages: tuple[str, ...] = ()
    older_than_days: float | None = None
    max_size: int | None = None
    venvs: tuple[str, ...] = ()  # environments to protect (symlink link-mode)
    link_mode: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "ci": self.ci,
                "packages": list(self.packages),
                "older_than_days": self.older_than_days,
                "max_size": self.max_size,
            }.items()
            if v
        }


def _current(snap: Snapshot, bs: BucketSet, kind: str) -> str | None:
    version = bs.current.get(kind)
    if version is None:
        return None
    path = os.path.join(snap.real_root, f"{kind}-v{version}")
    return path if snap.bucket(f"{kind}-v{version}") is not None else None


def _references(snap: Snapshot, bs: BucketSet, removed: Sequence[str]) -> set[str]:
    """Archive ids still referenced once `removed` paths go (the one rule, core.refs)."""
    return referenced_ids(snap.entries, snap.link_style, bs, removed)


def prune_plan(snap: Snapshot, bs: BucketSet, policy: PrunePolicy | None = None) -> Plan:
    policy = policy or PrunePolicy()
    plan = Plan(snap.real_root, "prune", [], uv_version=snap.uv_version, policy=policy.describe())
    if policy.packages and (policy.ci or policy.max_size is not None):
        from uv_cache_inspector.core.errors import UsageError

        raise UsageError(
            "--package narrows the prune to packages; it does not combine with --ci or --max-size"
        )
    if policy.packages:
        _clean_packages(snap, bs, policy, plan)
    else:
        _uv_prune(snap, bs, policy, plan)
        if policy.older_than_days is not None or policy.max_size is not None:
            _evict(snap, policy, plan)
    _protect_symlinked_venvs(snap, policy, plan)
    _tie_links_to_archives(snap, plan)
    return plan


def _tie_links_to_archives(snap: Snapshot, plan: Plan) -> None:
    """A link is removed only by the step that can remove what it names too: when an archive's
    removal needs administrator rights, so does the removal of every planned link to it (else
    the user's own pass removes the link and leaves the archive, issue 12 item 6)."""
    admin_archives = {
        os.path.basename(a.path)
        for a in plan.actions
        if a.kind == "delete" and a.step == "archive" and a.needs_privilege
    }
    if not admin_archives:
        return
    naming = [e for e in snap.entries if e.archive_id in admin_archives]
    for i, a in enumerate(plan.actions):
        if a.kind != "delete" or a.step == "archive" or a.needs_privilege:
            continue
        if any(e.path == a.path or e.path.startswith(a.path + os.sep) for e in naming):
            plan.actions[i] = replace(a, needs_privilege=True)


def _add(plan: Plan, action: Action | None, done: set[str]) -> None:
    if action is not None and not _covered(action.path, done):
        plan.actions.append(action)
        done.add(action.path.rstrip(os.sep) or action.path)


def _uv_prune(snap: Snapshot, bs: BucketSet, policy: PrunePolicy, plan: Plan) -> None:
    done: set[str] = set()
    # (1) sdist revisions that are not their shard's current one, in current sdists buckets.
    for shard in snap.shards:
        if shard.current_revision is None and shard.pointer_problem not in {None, "missing"}:
            plan.warnings.append(
                f"{shard.path}: its revision pointer is damaged "
                f"({shard.pointer_problem}); its revisions are left alone"
            )
    for path in dangling_revisions(snap.shards, bs):
        _add(
            plan,
            _delete(snap, path, "dangling source revision", "sdist-revision", "entry"),
            done,
        )
    # (2) the root: files that are not control files, directories not in uv's bucket list.
    for item in snap.root_items:
        path = os.path.join(snap.real_root, item.name)
        if item.kind == "control" or item.name in ROOT_CONTROL_FILES:
            continue  # uv's prune keeps these by name, whatever they are
        if item.kind == "bucket":
            status = next((b.status for b in snap.buckets if b.name == item.name), None)
            if status is BucketStatus.CURRENT:
                continue
            if status is BucketStatus.UNKNOWN:
                plan.kept.append(
                    f"{item.name}: `uv cache prune` of uv {snap.uv_version} would delete it, but "
                    "it belongs to a newer uv (or one this inspector does not know); kept"
                )
                continue
            b = snap.bucket(item.name)
            _add(
                plan,
                _delete(
                    snap,
                    path,
                    f"stale bucket ({b.note if b else 'older uv'})",
                    "stale-bucket",
                    "stale-bucket",
                    size=(b.bytes, 0) if b else None,
                ),
                done,
            )
        elif item.kind == "tmp":
            _add(
                plan,
                _delete(
                    snap, path, "temporary folder left at the cache root", "orphaned-tmp", "tmp"
                ),
                done,
            )
        elif item.kind == "symlink" and is_known_bucket(item.name):
            if any(b.name == item.name and b.status is BucketStatus.CURRENT for b in snap.buckets):
                plan.warnings.append(
                    f"{item.name} is a link to {item.target}: `uv cache prune` deletes the link "
                    "itself (its metadata is not a directory); the inspector does the same, and "
                    "never touches what it points to"
                )
            _add(plan, _delete(snap, path, "link at the cache root", "other", "link"), done)
        else:
            # uv's prune deletes whatever else is at the root; a name uv never writes is not
            # ours to delete (issue 12, item 1): it is listed, never removed.
            what = {"dir": "folder", "symlink": "link"}.get(item.kind, "file")
            plan.kept.append(
                f"{item.name}: a {what} that uv does not write; `uv cache prune` would delete "
                "it, the inspector leaves it to you"
            )
    # (3) everything in the current environments bucket; (4) everything in builds.
    for kind, category, reason in (
        ("environments", "environment", "cached environment"),
        ("builds", "build", "temporary build environment"),
    ):
        bucket = _current(snap, bs, kind)
        if bucket is None:
            continue
        for path, _k in snap.top.get(os.path.basename(bucket), []):
            _add(plan, _delete(snap, path, reason, category, "environment"), done)
    # (5) --ci: unzipped wheels, and sdist build trees except metadata and built wheels.
    if policy.ci:
        wheels = _current(snap, bs, "wheels")
        if wheels is not None:
            for path, k in snap.top.get(os.path.basename(wheels), []):
                if k == "dir":
                    _add(
                        plan,
                        _delete(snap, path, "unzipped wheel entries (--ci)", "ci", "entry"),
                        done,
                    )
        sdists = _current(snap, bs, "sdists")
        for rdir in snap.revision_dirs:
            if sdists and _under(rdir.path, [sdists]) and not _covered(rdir.path, done):
                for name, _kind in rdir.entries:
                    if name == "metadata.msgpack" or name.lower().endswith(".whl"):
                        continue
                    path = os.path.join(rdir.path, name)
                    _add(
                        plan,
                        _delete(snap, path, "unzipped build output (--ci)", "ci", "entry"),
                        done,
                    )
    # (6) archives that no current link references once the above is gone.
    refs = _references(snap, bs, sorted(done))
    for a in snap.archives:
        if a.id not in refs:
            what = (
                "cached environment"
                if a.kind.value == "environment"
                else f"unreferenced archive of {_archive_label(a)}"
            )
            _add(plan, _delete(snap, a.path, what, "unreferenced", "archive", archive=a), done)


def _entry_files(e: Entry) -> list[str]:
    """A wheel entry is its link plus side files of the same key (never its .lock)."""
    base = e.path
    return [base] + [
        base + ext for ext in (".http", ".rev", ".msgpack") if os.path.lexists(base + ext)
    ]


def _remove_archives_with_links(
    snap: Snapshot,
    archives: Iterable[Archive],
    why: str,
    category: str,
    plan: Plan,
    done: set[str],
) -> None:
    by_archive: dict[str, list[Entry]] = {}
    for e in snap.entries:
        if e.archive_id:
            by_archive.setdefault(e.archive_id, []).append(e)
    for a in archives:
        target = _delete(
            snap, a.path, f"{why}: {_archive_label(a)}", category, "archive", archive=a
        )
        admin = target is not None and target.needs_privilege
        for e in by_archive.get(a.id, []):
            for path in _entry_files(e):
                link = _delete(
                    snap, path, f"link to an archive being removed ({why})", category, "link"
                )
                if link is not None and admin:
                    # A link is removed only by the step that can remove its archive too
                    # (issue 12 item 6: a Delete that removed the link and left the archive).
                    link = replace(link, needs_privilege=True)
                _add(plan, link, done)
        _add(plan, target, done)


def _evict(snap: Snapshot, policy: PrunePolicy, plan: Plan) -> None:
    done = {a.path.rstrip(os.sep) or a.path for a in plan.actions}
    removed_ids = {os.path.basename(a.path) for a in plan.actions if a.step == "archive"}
    candidates = [a for a in snap.archives if a.id not in removed_ids]
    if policy.older_than_days is not None:
        cutoff = snap.scanned_at - policy.older_than_days * 86400
        old = [a for a in candidates if (a.last_used or a.modified or 0) < cutoff]
        _remove_archives_with_links(
            snap, old, f"not used for {policy.older_than_days:g} days", "age", plan, done
        )
        removed_ids |= {a.id for a in old}
        candidates = [a for a in candidates if a.id not in removed_ids]
    if policy.max_size is not None:
        remaining = snap.total_bytes - plan.freed_bytes
        if remaining <= policy.max_size:
            return
        lru = sorted(candidates, key=lambda a: a.last_used or a.modified or 0)
        chosen = []
        for a in lru:
            if remaining <= policy.max_size:
                break
            chosen.append(a)
            remaining -= a.reclaimable_bytes
        _remove_archives_with_links(
            snap,
            chosen,
            f"least recently used, over the size budget of {fmt.size(policy.max_size)}",
            "size",
            plan,
            done,
        )
        if remaining > policy.max_size:
            plan.warnings.append(
                f"even without every unused archive the cache stays at {fmt.size(remaining)}, "
                f"over {fmt.size(policy.max_size)} (files still hard-linked from venvs count)"
            )


def _clean_packages(snap: Snapshot, bs: BucketSet, policy: PrunePolicy, plan: Plan) -> None:
    """`uv cache clean NAME...` (uv-cache-format §6), optionally only entries older than N
    days."""
    names = {normalize_name(p) for p in policy.packages}
    done: set[str] = set()
    cutoff = (
        snap.scanned_at - policy.older_than_days * 86400
        if policy.older_than_days is not None
        else None
    )
    removed: list[str] = []
    wheels = _current(snap, bs, "wheels")
    sdists = _current(snap, bs, "sdists")
    simple = _current(snap, bs, "simple")
    flat = _current(snap, bs, "flat-index")
    if cutoff is not None:
        old = [
            a
            for a in snap.archives
            if a.package in names and (a.last_used or a.modified or 0) < cutoff
        ]
        _remove_archives_with_links(
            snap,
            old,
            f"{', '.join(sorted(names))} not used for {policy.older_than_days:g} days",
            "package",
            plan,
            done,
        )
        return
    candidates: set[str] = set()
    for e in snap.entries:
        if e.package in names and e.bucket in {os.path.basename(p) for p in (wheels, sdists) if p}:
            # The package's directory in its index shard: .../<pkg>/<key> -> .../<pkg>
            parent = os.path.dirname(e.path)
            if e.kind == "wheel" and normalize_name(os.path.basename(parent)) in names:
                candidates.add(parent)
    # Only the buckets this uv reads: `uv cache clean NAME` leaves other releases' buckets.
    sdists_name = os.path.basename(sdists) if sdists else None
    for shard in snap.shards:
        if shard.bucket != sdists_name:
            continue
        if shard.package in names and shard.index.split("/")[0] in {"pypi", "index"}:
            candidates.add(os.path.dirname(shard.path) if shard.version else shard.path)
    for rdir in snap.revision_dirs:
        if rdir.package in names and sdists and _under(rdir.path, [sdists]):
            shard_dir = os.path.dirname(rdir.path)
            if not any(
                shard_dir.startswith(os.path.join(sdists, k) + os.sep) for k in ("pypi", "index")
            ):
                candidates.add(shard_dir)
    for path in sorted(candidates):
        _add(plan, _delete(snap, path, "package entries", "package", "entry"), done)
        removed.append(path)
    if simple:
        for index_dir in _simple_index_dirs(simple):
            for name in names:
                path = os.path.join(index_dir, f"{name}.rkyv")
                _add(plan, _delete(snap, path, "cached index page", "package", "link"), done)
    if flat:
        _add(
            plan,
            _delete(
                snap,
                flat,
                "the flat-index bucket (uv cache clean drops it whole)",
                "package",
                "entry",
                size=snap.size_of(flat),
            ),
            done,
        )
    # Archives whose every referring link is going.
    still = _references(snap, bs, removed)
    going = {e.archive_id for e in snap.entries if e.archive_id and _under(e.path, removed)}
    for a in snap.archives:
        if a.id in going and a.id not in still:
            _add(
                plan,
                _delete(
                    snap, a.path, f"archive of {_archive_label(a)}", "package", "archive", archive=a
                ),
                done,
            )


def _simple_index_dirs(simple: str) -> list[str]:
    out = [os.path.join(simple, "pypi")]
    try:
        out += [
            e.path
            for e in os.scandir(os.path.join(simple, "index"))
            if e.is_dir(follow_symlinks=False)
        ]
    except OSError:
        pass
    return out


def _protect_symlinked_venvs(snap: Snapshot, policy: PrunePolicy, plan: Plan) -> None:
    """link-mode = symlink: venv files are absolute symlinks into archives (uv-cache-format
    §7); deleting those archives breaks the venvs. Keep them, and say why."""
    targets = venv_symlink_targets(policy.venvs, snap.real_root)
    if policy.link_mode == "symlink":
        plan.warnings.append(
            "uv is configured with link-mode = symlink: environments point into the cache, and "
            "removing an archive breaks every venv that uses it (uv-cache-format §7)."
        )
    if not targets:
        return
    kept = [a for a in plan.actions if a.step == "archive" and a.path in targets]
    for a in kept:
        plan.actions.remove(a)
        plan.kept.append(f"{os.path.basename(a.path)} ({a.package or '?'}): a venv links into it")


def venv_symlink_targets(venvs: Iterable[str], root: str) -> set[str]:
    """Archives that the given venvs' files link into (symlink link mode)."""
    archive_dir = os.path.join(os.path.realpath(root), "archive-v0") + os.sep
    found: set[str] = set()
    for venv in venvs:
        for dirpath, dirnames, filenames in os.walk(venv):
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                if os.path.islink(p):
                    target = os.path.realpath(p)
                    if target.startswith(archive_dir):
                        rel = target[len(archive_dir) :].split(os.sep, 1)[0]
                        found.add(os.path.join(archive_dir, rel).rstrip(os.sep))
    return found


# -- repair -----------------------------------------------------------------------------------


def repair_plan(
    snap: Snapshot | None,
    findings: Sequence[Finding],
    user_uid: int,
    user_gid: int,
    root: str,
    *,
    shared_gid: int | None = None,
) -> Plan:
    """Findings -> fixes: ownership back to the user who runs uv, modes that let uv work,
    leftovers and broken entries removed (with the links that name them)."""
    plan = Plan(root, "repair", [], for_uid=user_uid, uv_version=snap.uv_version if snap else None)
    euid = os.geteuid() if hasattr(os, "geteuid") else -1
    done: set[str] = set()  # deleted paths: nothing below them needs another action
    fixed: set[str] = set()  # chown/chmod targets: deletes below them are still wanted
    archives = {a.path: a for a in snap.archives} if snap else {}
    for f in findings:
        if f.path is None:
            continue
        paths = f.details.get("paths") or [f.path]
        for path in paths:
            if f.code == F.FOREIGN_OWNER:
                gid = shared_gid if shared_gid is not None else user_gid
                exp = _expect(path)
                if exp is None or path in fixed:
                    continue
                shared, _ = count_linked_elsewhere(path, user_uid)
                plan.actions.append(
                    Action(
                        kind="chown",
                        path=path,
                        bytes=0,
                        needs_privilege=euid != 0,
                        reason=f"give it back to the user who runs uv (uid {user_uid})"
                        + _shared_words(shared),
                        category="ownership",
                        step="chown",
                        expect=exp,
                        uid=user_uid,
                        gid=gid,
                        recursive=exp.kind == "dir",
                        shared_files=shared,
                    )
                )
                fixed.add(path)
            elif f.code in {F.PERMISSION_DENIED, F.SHARED_CACHE_PERMISSIONS}:
                exp = _expect(path)
                if exp is None or path in fixed:
                    continue
                group = f.code == F.SHARED_CACHE_PERMISSIONS
                owned = _owned_by(path, user_uid)
                shared, _ = count_linked_elsewhere(path, user_uid)
                plan.actions.append(
                    Action(
                        kind="chmod",
                        path=path,
                        bytes=0,
                        needs_privilege=not owned and euid != 0,
                        reason="let uv read and write it"
                        + (" (and the group)" if group else "")
                        + _shared_words(shared),
                        category="mode",
                        step="chmod",
                        expect=exp,
                        add_mode=0o2770 if group else 0o700,  # setgid: new entries stay the group's
                        add_file_mode=0o660 if group else 0o600,
                        recursive=exp.kind == "dir",
                        gid=shared_gid if group else None,
                        shared_files=shared,
                    )
                )
                fixed.add(path)
            elif f.code == F.ORPHANED_TMP:
                _add(
                    plan,
                    _delete(snap, path, "orphaned temporary folder", "orphaned-tmp", "tmp")
                    if snap
                    else None,
                    done,
                )
            elif f.code in {F.DANGLING_LINK, F.ABSOLUTE_LINKS, F.LINK_OUTSIDE_CACHE}:
                _add(
                    plan,
                    _delete(
                        snap, path, "link to a missing or foreign archive", "dangling-link", "link"
                    )
                    if snap
                    else None,
                    done,
                )
            elif f.code == F.INCOMPLETE_ARCHIVE and snap is not None and path in archives:
                _remove_archives_with_links(
                    snap,
                    [archives[path]],
                    "incomplete archive",
                    "incomplete",
                    plan,
                    done,
                )
            elif f.code == F.CORRUPT_ENTRY and snap is not None:
                if path in archives:
                    _remove_archives_with_links(
                        snap,
                        [archives[path]],
                        "archive that does not match its link",
                        "corrupt",
                        plan,
                        done,
                    )
                elif os.path.isdir(path):
                    _add(plan, _delete(snap, path, "damaged sdist shard", "corrupt", "entry"), done)
                else:
                    for p in _corrupt_entry_files(path):
                        _add(plan, _delete(snap, p, "damaged cache entry", "corrupt", "link"), done)
    # Giving back (or opening up) what is about to be deleted anyway is wasted work.
    deleted = [a.path for a in plan.actions if a.kind == "delete"]
    plan.actions = [
        a
        for a in plan.actions
        if a.kind == "delete"
        or not any(a.path == d or a.path.startswith(d + os.sep) for d in deleted)
    ]
    return plan


def _shared_words(n: int) -> str:
    if not n:
        return ""
    return (
        f"; replace {n:,} file{'s' if n != 1 else ''} shared with other places (hard links), "
        "so those places keep their owner"
    )


def _corrupt_entry_files(path: str) -> list[str]:
    """A damaged side file goes with its entry (link and siblings), so uv refetches cleanly."""
    base = path
    for ext in (".http", ".rev", ".msgpack"):
        if path.endswith(ext):
            base = path[: -len(ext)]
            break
    return [
        p for p in (base, base + ".http", base + ".rev", base + ".msgpack") if os.path.lexists(p)
    ]


def _owned_by(path: str, uid: int) -> bool:
    try:
        return os.lstat(path).st_uid == uid
    except OSError:
        return False


def delete_plan(snap: Snapshot, paths: Sequence[str]) -> Plan:
    """Remove chosen rows: an archive goes with the links that name it (links first, so uv
    never sees an entry without its archive); a link or a temporary folder goes alone."""
    plan = Plan(
        snap.real_root, "prune", [], uv_version=snap.uv_version, policy={"delete": list(paths)}
    )
    done: set[str] = set()
    archives = {a.path: a for a in snap.archives}
    entries = {e.path: e for e in snap.entries}
    for path in paths:
        if path in archives:
            _remove_archives_with_links(
                snap, [archives[path]], "chosen for removal", "chosen", plan, done
            )
        elif path in entries:
            for p in _entry_files(entries[path]):
                _add(plan, _delete(snap, p, "chosen for removal", "chosen", "link"), done)
        else:
            _add(plan, _delete(snap, path, "chosen for removal", "chosen", "tmp"), done)
    return plan


def verify_plan(snap: Snapshot, modified: Sequence[ModifiedArchive]) -> Plan:
    """Remove each modified archive with every link and pointer that names it (links first, as
    prune does), and the cached environments that share its edited files; uv unpacks (and
    builds) fresh copies on the next install."""
    plan = Plan(snap.real_root, "verify", [], uv_version=snap.uv_version)
    done: set[str] = set()
    archives = {a.path: a for a in snap.archives}
    edited = [archives[m.path] for m in modified if m.path in archives]
    why = "changed after uv unpacked it"
    _remove_archives_with_links(snap, edited, why, "modified", plan, done)
    envs = sorted({e for m in modified for e in m.environments if e in archives})
    _remove_archives_with_links(
        snap,
        [archives[e] for e in envs],
        "cached environment sharing an edited file",
        "modified",
        plan,
        done,
    )
    return plan
