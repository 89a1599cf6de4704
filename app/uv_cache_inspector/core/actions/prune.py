"""Prune: what `uv cache prune` (and `uv cache clean NAME`) of the newest uv here would remove.

By default exactly what `uv cache prune` of the newest uv here would do
(docs/uv-cache-format.md §6): (1) sdist revisions that are not their shard's current one, (2) at the
root, every file but CACHEDIR.TAG/.gitignore/.git/.lock and every directory not in that uv's
bucket list (stale buckets, `.tmp*`), (3) everything in environments-vN, (4) everything in
builds-v0, (5) with --ci the unzipped wheels and sdist build trees, (6) every archive no current
link references once (1)-(5) are gone. One deliberate difference: buckets newer than that uv
("unknown") are kept, with a warning, because another uv uses them. `--older-than` and
`--max-size` then evict archives by age or least recent use; `--package` narrows the prune to
packages instead (`uv cache clean NAME`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.actions.model import Plan, PrunePolicy
from uv_cache_inspector.core.actions.removal import (
    add_action,
    archive_label,
    covered,
    delete_action,
    remove_archives_with_links,
    under,
)
from uv_cache_inspector.core.cache.layout import (
    ROOT_CONTROL_FILES,
    BucketSet,
    is_known_bucket,
)
from uv_cache_inspector.core.cache.links import normalize_name
from uv_cache_inspector.core.cache.refs import dangling_revisions, referenced_ids
from uv_cache_inspector.core.model import BucketStatus, Snapshot


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
        add_action(
            plan,
            delete_action(snap, path, "dangling source revision", "sdist-revision", "entry"),
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
            add_action(
                plan,
                delete_action(
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
            add_action(
                plan,
                delete_action(
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
            add_action(
                plan, delete_action(snap, path, "link at the cache root", "other", "link"), done
            )
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
            add_action(plan, delete_action(snap, path, reason, category, "environment"), done)
    # (5) --ci: unzipped wheels, and sdist build trees except metadata and built wheels.
    if policy.ci:
        wheels = _current(snap, bs, "wheels")
        if wheels is not None:
            for path, k in snap.top.get(os.path.basename(wheels), []):
                if k == "dir":
                    add_action(
                        plan,
                        delete_action(snap, path, "unzipped wheel entries (--ci)", "ci", "entry"),
                        done,
                    )
        sdists = _current(snap, bs, "sdists")
        for rdir in snap.revision_dirs:
            if sdists and under(rdir.path, [sdists]) and not covered(rdir.path, done):
                for name, _kind in rdir.entries:
                    if name == "metadata.msgpack" or name.lower().endswith(".whl"):
                        continue
                    path = os.path.join(rdir.path, name)
                    add_action(
                        plan,
                        delete_action(snap, path, "unzipped build output (--ci)", "ci", "entry"),
                        done,
                    )
    # (6) archives that no current link references once the above is gone.
    refs = _references(snap, bs, sorted(done))
    for a in snap.archives:
        if a.id not in refs:
            what = (
                "cached environment"
                if a.kind.value == "environment"
                else f"unreferenced archive of {archive_label(a)}"
            )
            add_action(
                plan, delete_action(snap, a.path, what, "unreferenced", "archive", archive=a), done
            )


def _evict(snap: Snapshot, policy: PrunePolicy, plan: Plan) -> None:
    done = {a.path.rstrip(os.sep) or a.path for a in plan.actions}
    removed_ids = {os.path.basename(a.path) for a in plan.actions if a.step == "archive"}
    candidates = [a for a in snap.archives if a.id not in removed_ids]
    if policy.older_than_days is not None:
        cutoff = snap.scanned_at - policy.older_than_days * 86400
        old = [a for a in candidates if (a.last_used or a.modified or 0) < cutoff]
        remove_archives_with_links(
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
        remove_archives_with_links(
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
    """`uv cache clean NAME...` (docs/uv-cache-format.md §6), optionally only entries older than N
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
        remove_archives_with_links(
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
        if rdir.package in names and sdists and under(rdir.path, [sdists]):
            shard_dir = os.path.dirname(rdir.path)
            if not any(
                shard_dir.startswith(os.path.join(sdists, k) + os.sep) for k in ("pypi", "index")
            ):
                candidates.add(shard_dir)
    for path in sorted(candidates):
        add_action(plan, delete_action(snap, path, "package entries", "package", "entry"), done)
        removed.append(path)
    if simple:
        for index_dir in _simple_index_dirs(simple):
            for name in names:
                path = os.path.join(index_dir, f"{name}.rkyv")
                add_action(
                    plan, delete_action(snap, path, "cached index page", "package", "link"), done
                )
    if flat:
        add_action(
            plan,
            delete_action(
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
    going = {e.archive_id for e in snap.entries if e.archive_id and under(e.path, removed)}
    for a in snap.archives:
        if a.id in going and a.id not in still:
            add_action(
                plan,
                delete_action(
                    snap, a.path, f"archive of {archive_label(a)}", "package", "archive", archive=a
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
    """link-mode = symlink: venv files are absolute symlinks into archives (docs/uv-cache-format.md
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
