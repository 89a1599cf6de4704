"""Repair: doctor's repairable findings turned into fixes.

Ownership goes back to the user who runs uv (chown), modes that let uv work are added (chmod,
group bits and setgid for a shared cache), and leftovers and broken entries are removed with the
links that name them. Files hard-linked from outside the cache are replaced by copies rather
than chowned (`shared_files`, issue 20); nothing that is deleted anyway is fixed first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.actions.model import Action, Expect, Plan
from uv_cache_inspector.core.actions.removal import (
    add_action,
    delete_action,
    remove_archives_with_links,
)
from uv_cache_inspector.core.cache.treewalk import count_linked_elsewhere
from uv_cache_inspector.core.model import Finding, Snapshot


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
                exp = Expect.of(path)
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
                exp = Expect.of(path)
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
                add_action(
                    plan,
                    delete_action(snap, path, "orphaned temporary folder", "orphaned-tmp", "tmp")
                    if snap
                    else None,
                    done,
                )
            elif f.code in {F.DANGLING_LINK, F.ABSOLUTE_LINKS, F.LINK_OUTSIDE_CACHE}:
                add_action(
                    plan,
                    delete_action(
                        snap, path, "link to a missing or foreign archive", "dangling-link", "link"
                    )
                    if snap
                    else None,
                    done,
                )
            elif f.code == F.INCOMPLETE_ARCHIVE and snap is not None and path in archives:
                remove_archives_with_links(
                    snap,
                    [archives[path]],
                    "incomplete archive",
                    "incomplete",
                    plan,
                    done,
                )
            elif f.code == F.CORRUPT_ENTRY and snap is not None:
                if path in archives:
                    remove_archives_with_links(
                        snap,
                        [archives[path]],
                        "archive that does not match its link",
                        "corrupt",
                        plan,
                        done,
                    )
                elif os.path.isdir(path):
                    add_action(
                        plan,
                        delete_action(snap, path, "damaged sdist shard", "corrupt", "entry"),
                        done,
                    )
                else:
                    for p in _corrupt_entry_files(path):
                        add_action(
                            plan,
                            delete_action(snap, p, "damaged cache entry", "corrupt", "link"),
                            done,
                        )
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
