"""The window's words for a finding's fix.

The core writes each fix for the command line ("Run `uvci repair` ..."): right in a terminal,
wrong beside a Repair button. Here each code whose fix is one of the window's own tools is said
the window's way, from the finding's code and details (never by rewriting the core's text). A
code not listed keeps the core's sentence: its fix is outside this app (ulimit, UV_CACHE_DIR, a
mount), the same words in both places.
"""

from __future__ import annotations

from collections.abc import Callable

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.model import Finding
from uv_cache_inspector.core.operations import REPAIRABLE

REPAIR = "Repair…"
PRUNE = "Prune…"

# The finding codes whose fix the window applies itself: Repair… (a plan, then Apply) or
# Prune… (what `uv cache prune` would remove, as a plan). The repairs are `uvci repair`'s own
# list (core.operations).
REPAIRS = REPAIRABLE
PRUNES = frozenset({"stale-bucket", "unreferenced-archive"})


def _hint(f: Finding) -> bool:
    """Explain's reading of an error number for a failure that does not happen now: nothing
    is there to repair, whatever the code."""
    return "errno" in f.details


def fix_kind(f: Finding) -> str | None:
    """ "repair" or "prune" when the window's own tool fixes `f`; None otherwise."""
    if _hint(f):
        return None
    if f.code in {"foreign-owner", "permission-denied"}:
        # A refusal measured now, against the user uv runs as (doctor's, and explain's
        # precondition checks); not a sticky folder or another user's entry in one.
        return "repair" if f.path and "uv_uid" in f.details else None
    if f.code in REPAIRS and f.path:
        return "repair"
    if f.code in PRUNES:
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
    "foreign-owner": _owner,
    "permission-denied": lambda _f: (
        f"{REPAIR} opens up what uv needs, and gives the cache its own copies of files that "
        "are hard-linked elsewhere instead of changing their modes there too."
    ),
    "shared-cache-permissions": lambda f: (
        f"{REPAIR} gives group {f.details.get('group') or 'of the cache'} its rights back "
        "(setgid folders, group read and write) without taking files from their owners; then "
        "run uv with umask 002."
    ),
    "orphaned-tmp": _orphan,
    "dangling-link": lambda _f: (
        f"{REPAIR} removes the dangling link; uv downloads the package again when it needs it."
    ),
    "absolute-links": lambda _f: (
        f"{REPAIR} removes such links (uv downloads again); uv 0.11.17 and later writes "
        "relative links that survive a move."
    ),
    "link-outside-cache": lambda _f: f"{REPAIR} removes it; this app never follows it.",
    "incomplete-archive": lambda _f: (
        f"{REPAIR} removes it with the links that name it; uv unpacks it again."
    ),
    "corrupt-entry": lambda _f: (
        f"{REPAIR} removes it (with any links that name it); uv creates it again when needed."
    ),
    "stale-bucket": lambda _f: f"{PRUNE} removes it, as `uv cache prune` does.",
    "unreferenced-archive": lambda _f: (
        f"{PRUNE} removes them, as `uv cache prune` does (it shows its plan first)."
    ),
    "low-disk-space": _disk,
    "unreadable": lambda _f: (
        f"See the ownership findings: {REPAIR} fixes the modes and owners it can."
    ),
}


# Explain's readings of error numbers whose command-line fix names a `uvci` command.
_HINTS: dict[str, str] = {
    "permission-denied": (
        "Tools → Test write… replays uv's write as the user who runs uv (tick “Also run the "
        "real uv” to see uv's own failure)."
    ),
    "not-empty": "Retry; if it repeats, press F5: the findings above say what is wrong now.",
    "os-error": (
        "Press F5: the findings above say whether it happens now; Tools → Test write… "
        "replays uv's write."
    ),
    "missing-entry": (
        f"{REPAIR} removes entries that point at missing archives (the findings list them); "
        "`uv cache clean <pkg>` also works."
    ),
    "low-disk-space": f"Free space: {PRUNE} removes what uv no longer uses.",
}


def window_fix(f: Finding) -> str | None:
    """The fix of `f` as the window says it (its buttons and menus, not `uvci` commands)."""
    if _hint(f):
        return _HINTS.get(f.code, f.fix)
    if f.code in {"low-disk-space", "unreadable"} or (f.code in _WINDOW and fix_kind(f)):
        return _WINDOW[f.code](f)
    if f.code in _VERIFY:
        return _VERIFY[f.code]
    return f.fix


# uvci verify's findings, in the window's words (its Tools menu and the banner's button).
_VERIFY = {
    "last-verified": (
        "Tools → Verify contents… checks every unpacked wheel against its RECORD (edits that "
        "leaked in through hard links)."
    ),
    "modified-archive": (
        "Verify and fix… removes the changed archive with the links that name it, so the next "
        "install is pristine; reinstall the environments that share the edit."
    ),
}
