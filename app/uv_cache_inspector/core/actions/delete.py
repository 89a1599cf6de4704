"""Removing chosen things: rows the user picked (Delete) and the archives verify found modified
(verify's fix). An archive always goes with every link that names it, links first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from uv_cache_inspector.core.actions.model import Plan
from uv_cache_inspector.core.actions.removal import (
    add_action,
    delete_action,
    entry_files,
    remove_archives_with_links,
)
from uv_cache_inspector.core.model import Snapshot

if TYPE_CHECKING:
    from uv_cache_inspector.core.diagnosis.verify import ModifiedArchive


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
            remove_archives_with_links(
                snap, [archives[path]], "chosen for removal", "chosen", plan, done
            )
        elif path in entries:
            for p in entry_files(entries[path]):
                add_action(
                    plan, delete_action(snap, p, "chosen for removal", "chosen", "link"), done
                )
        else:
            add_action(plan, delete_action(snap, path, "chosen for removal", "chosen", "tmp"), done)
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
    remove_archives_with_links(snap, edited, why, "modified", plan, done)
    envs = sorted({e for m in modified for e in m.environments if e in archives})
    remove_archives_with_links(
        snap,
        [archives[e] for e in envs],
        "cached environment sharing an edited file",
        "modified",
        plan,
        done,
    )
    return plan
