"""The window's words for a finding's fix.

The core writes each fix for the command line ("Run `uvci repair` ..."): right in a terminal,
wrong beside a Repair button. Here each code whose fix is one of the window's own tools is said
the window's way, from the finding's code and details (never by rewriting the core's text). A
code not listed keeps the core's sentence: its fix is outside this app (ulimit, UV_CACHE_DIR, a
mount), the same words in both places.
"""

from __future__ import annotations

from collections.abc import Callable

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.model import Finding

REPAIR = "Repair…"
PRUNE = "Prune…"


def _hint(f: Finding) -> bool:
    """Explain's reading of an error number for a failure that does not happen now: nothing
    is there to repair, whatever the code."""
    return "errno" in f.details


def fix_kind(f: Finding) -> str | None:
    """ "repair" or "prune" when the window's own tool fixes `f`; None otherwise."""
    if _hint(f):
        return None
    if f.code in {F.FOREIGN_OWNER, F.PERMISSION_DENIED}:
        # A refusal measured now, against the user uv runs as (doctor's, and explain's
        # precondition checks); not a sticky folder or another user's entry in one.
        return "repair" if f.path and "uv_uid" in f.details else None
    if f.code in F.REPAIRABLE and f.path:
        return "repair"
    if f.code in F.PRUNABLE:
        return "prune"
    return None


def _owner(f: Finding) -> str:
    user = f.details.get("uv_user") or "the user who runs uv"
    return (
        f"{REPAIR} gives the folders back to {user} and gives the cache its own copies of "
        "files that are hard-linked elsewhere, so those places keep their owner. Not "
        f"`chown -R`: uv hard-links these files into environments, and it would hand those "
        f"environments' files to {user} too."
    )


def _orphan(f: Finding) -> str:
    size = f" ({fmt.size(f.bytes)})" if f.bytes else ""
    also = (
        "`uv cache prune` removes it too"
        if f.details.get("location", "root") == "root"
        else "`uv cache prune` leaves it"
    )
    return f"Nothing uses it: Repair… removes it{size} ({also})."


def _disk(f: Finding) -> str:
    if "free_inodes" in f.details:
        return f"{PRUNE} removes entries uv no longer uses (each file costs an inode)."
    return f"Free space: {PRUNE} removes what uv no longer uses (it shows its plan first)."


_WINDOW: dict[str, Callable[[Finding], str]] = {
    F.FOREIGN_OWNER: _owner,
    F.PERMISSION_DENIED: lambda _f: (
        f"{REPAIR} opens up what uv needs, and gives the cache its own copies of files that "
        "are hard-linked elsewhere instead of changing their modes there too."
    ),
    F.SHARED_CACHE_PERMISSIONS: lambda f: (
        f"{REPAIR} gives group {f.details.get('group') or 'of the cache'} its rights back "
        "(setgid folders, group read and write) without taking files from their owners; then "
        "run uv with umask 002."
    ),
    F.ORPHANED_TMP: _orphan,
    F.DANGLING_LINK: lambda _f: (
        f"{REPAIR} removes the dangling link; uv downloads the package again when it needs it."
    ),
    F.ABSOLUTE_LINKS: lambda _f: (
        f"{REPAIR} removes such links (uv downloads again); uv 0.11.17 and later writes "
        "relative links that survive a move."
    ),
    F.LINK_OUTSIDE_CACHE: lambda _f: f"{REPAIR} removes it; this app never follows it.",
    F.INCOMPLETE_ARCHIVE: lambda _f: (
        f"{REPAIR} removes it with the links that name it; uv unpacks it again."
    ),
    F.CORRUPT_ENTRY: lambda _f: (
        f"{REPAIR} removes it (with any links that name it); uv creates it again when needed."
    ),
    F.STALE_BUCKET: lambda _f: f"{PRUNE} removes it, as `uv cache prune` does.",
    F.UNREFERENCED_ARCHIVE: lambda _f: (
        f"{PRUNE} removes them, as `uv cache prune` does (it shows its plan first)."
    ),
    F.LOW_DISK_SPACE: _disk,
    F.UNREADABLE: lambda _f: (
        f"See the ownership findings: {REPAIR} fixes the modes and owners it can."
    ),
}


# Explain's readings of error numbers whose command-line fix names a `uvci` command.
_HINTS: dict[str, str] = {
    F.PERMISSION_DENIED: (
        "Tools → Test write… replays uv's write as the user who runs uv (tick “Also run the "
        "real uv” to see uv's own failure)."
    ),
    "not-empty": "Retry; if it repeats, press F5: the findings above say what is wrong now.",
    F.OS_ERROR: (
        "Press F5: the findings above say whether it happens now; Tools → Test write… "
        "replays uv's write."
    ),
    F.MISSING_ENTRY: (
        f"{REPAIR} removes entries that point at missing archives (the findings list them); "
        "`uv cache clean <pkg>` also works."
    ),
    F.LOW_DISK_SPACE: f"Free space: {PRUNE} removes what uv no longer uses.",
}


def window_fix(f: Finding) -> str | None:
    """The fix of `f` as the window says it (its buttons and menus, not `uvci` commands)."""
    if _hint(f):
        return _HINTS.get(f.code, f.fix)
    if f.code in {F.LOW_DISK_SPACE, F.UNREADABLE} or (f.code in _WINDOW and fix_kind(f)):
        return _WINDOW[f.code](f)
    if f.code in _VERIFY:
        return _VERIFY[f.code]
    return f.fix


# uvci verify's findings, in the window's words (its Tools menu and the banner's button).
_VERIFY = {
    F.LAST_VERIFIED: (
        "Tools → Verify contents… checks every unpacked wheel against its RECORD (edits that "
        "leaked in through hard links)."
    ),
    F.MODIFIED_ARCHIVE: (
        "Verify and fix… removes the changed archive with the links that name it, so the next "
        "install is pristine; reinstall the environments that share the edit."
    ),
}
