"""Deletions, the building block of every plan: one path's deletion as it is now, and an archive
with every link that names it (links first). Prune, repair, Delete and verify's fix all plan
through these, so each path is checked (type, inode, device, privilege) the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from uv_cache_inspector.core.actions.model import Action, Expect, Plan
from uv_cache_inspector.core.model import Archive, Entry, Snapshot


def delete_action(
    snap: Snapshot,
    path: str,
    reason: str,
    category: str,
    step: str,
    *,
    archive: Archive | None = None,
    size: tuple[int, int] | None = None,
) -> Action | None:
    """The deletion of `path` as it is now (None when it is gone already): the bytes it frees
    (an archive's own figures, else the snapshot's), and whether this process may do it."""
    exp = Expect.of(path)
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


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def covered(path: str, done: set[str]) -> bool:
    """`under(path, done)` for a set of planned paths, walking up from `path` (its depth)
    instead of along `done` (every action so far: 10,000 `.tmp*` folders made it quadratic)."""
    p = path.rstrip(os.sep) or path
    while True:
        if p in done:
            return True
        parent = os.path.dirname(p)
        if parent == p:
            return False
        p = parent


def archive_label(a: Archive) -> str:
    if a.package:
        return f"{a.package} {a.version or ''}".strip()
    return a.kind.value


def add_action(plan: Plan, action: Action | None, done: set[str]) -> None:
    """Add `action` unless it is None or a planned deletion (`done`) already covers its path."""
    if action is not None and not covered(action.path, done):
        plan.actions.append(action)
        done.add(action.path.rstrip(os.sep) or action.path)


def entry_files(e: Entry) -> list[str]:
    """A wheel entry is its link plus side files of the same key (never its .lock)."""
    base = e.path
    return [base] + [
        base + ext for ext in (".http", ".rev", ".msgpack") if os.path.lexists(base + ext)
    ]


def remove_archives_with_links(
    snap: Snapshot,
    archives: Iterable[Archive],
    why: str,
    category: str,
    plan: Plan,
    done: set[str],
) -> None:
    """Each archive with every link and pointer that names it, links first (`ORDER`), so uv never
    sees an entry without its archive; shared by prune, repair, Delete and verify's fix."""
    by_archive: dict[str, list[Entry]] = {}
    for e in snap.entries:
        if e.archive_id:
            by_archive.setdefault(e.archive_id, []).append(e)
    for a in archives:
        target = delete_action(
            snap, a.path, f"{why}: {archive_label(a)}", category, "archive", archive=a
        )
        admin = target is not None and target.needs_privilege
        for e in by_archive.get(a.id, []):
            for path in entry_files(e):
                link = delete_action(
                    snap, path, f"link to an archive being removed ({why})", category, "link"
                )
                if link is not None and admin:
                    # A link is removed only by the step that can remove its archive too
                    # (issue 12 item 6: a Delete that removed the link and left the archive).
                    link = replace(link, needs_privilege=True)
                add_action(plan, link, done)
        add_action(plan, target, done)
