"""Rules about owners and modes, judged as the user uv runs as: foreign owners, refused
permissions, group-shared caches, protected hard links, unreadable places.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis.inputs import (
    Inputs,
    finding,
)
from uv_cache_inspector.core.model import (
    Finding,
    Owner,
    Severity,
)
from uv_cache_inspector.core.platform.access import (
    UvUser,
    explain_denial,
    group_name,
    is_shared,
    may,
    mode_fix,
    ownership_fix,
    requirement,
    shared_group_fix,
    sticky_blocks,
    user_name,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class _Candidate:
    path: str
    owner: Owner
    files: int
    nbytes: int


def _candidates(inp: Inputs) -> list[_Candidate]:
    seen: dict[str, _Candidate] = {}
    q = inp.quick
    seen[q.real_root] = _Candidate(q.real_root, q.root_node.owner, 0, 0)
    for n in q.nodes:
        if not n.is_symlink:
            seen[n.path] = _Candidate(n.path, n.owner, 0, 0)
    snap = inp.snapshot
    if snap is not None:
        sizes = {b.path: (b.files, b.bytes) for b in snap.buckets}
        sizes.update({a.path: (a.files, a.bytes) for a in snap.archives})
        sizes.update({t.path: (t.files, t.bytes) for t in snap.tmp_dirs})
        for path, cand in list(seen.items()):
            files, nbytes = sizes.get(path, (0, 0))
            seen[path] = _Candidate(path, cand.owner, files, nbytes)
        for m in snap.marks:
            if m.owner is None or m.reason not in {"owner", "mode", "unreadable"}:
                continue
            files, nbytes = sizes.get(m.path, (m.files, m.bytes))
            seen[m.path] = _Candidate(m.path, m.owner, files, nbytes)
    return sorted(seen.values(), key=lambda c: (c.path.count(os.sep), c.path))


def _consequence(need: str, rel: tuple[str, ...]) -> str:
    if need == "rw":
        return "uv cannot open it for writing, so every uv command fails to lock the cache"
    if need == "rwx" and not rel:
        return (
            "uv cannot create its lock, temporary folders or buckets there: every install "
            'fails with "Permission denied (os error 13)"'
        )
    if need == "rwx" and rel == ("archive-v0",):
        return (
            "uv cannot rename new packages into it: every install that unpacks a wheel "
            'fails with "failed to rename file ... Permission denied (os error 13)"'
        )
    if need == "rwx":
        return "uv cannot add entries there: installs that need it fail with os error 13"
    return "uv cannot read it to install from it"


def rule_permissions(inp: Inputs) -> Iterable[Finding]:
    """foreign-owner / permission-denied: the topmost place where uv, as its user, is stopped;
    what stops uv (errors) before what only stops a cleanup (warnings)."""
    return sorted(_permission_findings(inp), key=F.severity_rank)


def _permission_findings(inp: Inputs) -> Iterable[Finding]:
    if inp.user.uid < 0:
        return  # no POSIX permissions to model (Windows)
    user = inp.user
    reported: list[str] = []
    owners = {c.path: c.owner for c in _candidates(inp)}
    hardlink_rule = _hardlinks_need_ownership()
    root_owner = inp.quick.root_node.owner
    shared_gid = root_owner.gid if is_shared(root_owner) else None
    for cand in _candidates(inp):
        if any(cand.path == r or cand.path.startswith(r + os.sep) for r in reported):
            continue
        rel = inp.rel(cand.path)
        if rel and rel[0] == "..":
            continue
        if (
            shared_gid is not None
            and cand.owner.uid not in (0, user.uid)
            and cand.owner.gid == shared_gid
        ):
            # Another member's, in a cache shared by a group: its group bits are what is wrong
            # (rule_shared_cache says so); taking it from its owner would break their uv.
            continue
        need, cleanup, what = requirement(rel, cand.owner.is_dir)
        parent = owners.get(os.path.dirname(cand.path))
        sticky = parent is not None and rel and sticky_blocks(parent, cand.owner, user)
        denied_need = bool(need) and not may(cand.owner, user, need)
        denied_cleanup = bool(cleanup) and not may(cand.owner, user, cleanup)
        no_link = not denied_need and _cannot_hardlink(rel, cand, user, hardlink_rule)
        if not (denied_need or denied_cleanup or sticky or no_link):
            continue
        reported.append(cand.path)
        foreign = cand.owner.uid != user.uid
        code = F.FOREIGN_OWNER if foreign else F.PERMISSION_DENIED
        # Inside an archive of the user's, a refused link fails the install; a whole archive
        # of another owner is refused at its first link, and uv copies every file instead.
        partial_link = no_link and len(rel) >= 3
        severity = ERROR if (denied_need or partial_link or (sticky and need)) else WARNING
        want = need if denied_need else (cleanup or "w")
        name = inp.short(cand.path) or "the cache directory"
        why = explain_denial(cand.path, cand.owner, user, want)
        if no_link and not partial_link:
            effect = (
                "uv may not hard-link its files (fs.protected_hardlinks=1 allows that only for "
                "files one owns or may write), so it copies every file instead (slower, and the "
                "disk space twice), and `uv cache clean` and `uv cache prune` cannot delete it"
            )
        elif no_link:
            effect = (
                "uv cannot hard-link its files into environments: Linux lets a user hard-link "
                "only files they own or may write (fs.protected_hardlinks=1), so installs fail "
                'with "failed to hardlink file … Operation not permitted (os error 1)", or uv '
                "copies every file instead (slower, and the disk space twice)"
            )
        elif denied_need:
            effect = _consequence(need, rel)
        elif sticky:
            effect = "the directory above is sticky, so uv cannot replace or remove it"
        else:
            effect = "`uv cache clean` and `uv cache prune` cannot delete it"
        below = ""
        if cand.files or cand.nbytes:
            below = f" ({cand.files:,} files, {fmt.size(cand.nbytes)} below)"
        message = f"{name}{below}: {why}, so {effect}."
        fix = ownership_fix(user.name) if foreign else mode_fix()
        yield finding(
            code,
            severity,
            cand.path,
            message,
            fix,
            count=cand.files,
            nbytes=cand.nbytes,
            uid=cand.owner.uid,
            gid=cand.owner.gid,
            mode=cand.owner.mode_text(),
            owner=user_name(cand.owner.uid),
            group=group_name(cand.owner.gid),
            uv_user=user.name,
            uv_uid=user.uid,
            needs=want,
            what=what,
        )


def _hardlinks_need_ownership() -> bool:
    """uv links files out of the cache (link mode hardlink, uv's default on Linux) and the
    kernel protects hard links (fs.protected_hardlinks=1): a user may hard-link only files they
    own or may read and write."""
    from uv_cache_inspector.core.cache.location import setting

    mode, _ = setting("link-mode", env_var="UV_LINK_MODE")
    if mode not in (None, "hardlink"):
        return False
    try:
        with open("/proc/sys/fs/protected_hardlinks", encoding="ascii") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False


def _cannot_hardlink(rel: tuple[str, ...], cand: _Candidate, user: UvUser, rule: bool) -> bool:
    """A file inside an unpacked archive (or a folder whose files below share its owner) that
    the user may not hard-link under the kernel's protection."""
    if not rule or len(rel) < 2 or rel[0] != "archive-v0" or cand.owner.uid == user.uid:
        return False
    if cand.owner.is_dir:
        first = _first_file_owner(cand.path)  # its files have its owner, as a rule: look
        return first is not None and first.uid != user.uid and not may(first, user, "rw")
    return not may(cand.owner, user, "rw")


def _first_file_owner(path: str, budget: int = 64) -> Owner | None:
    """The owner of the first regular file below `path` (looking at `budget` entries at most)."""
    stack = [path]
    while stack and budget > 0:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    budget -= 1
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        return Owner.from_stat(st)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(e.path)
                    if budget <= 0:
                        break
        except OSError:
            continue
    return None


def rule_shared_cache(inp: Inputs) -> Iterable[Finding]:
    """A setgid, group-writable cache whose directories lost g+w (docs/failure-modes.md F4)."""
    root = inp.quick.root_node.owner
    if not is_shared(root):
        return
    group = group_name(root.gid)
    bad = [
        c
        for c in _candidates(inp)
        if c.owner.gid != root.gid
        or (c.owner.is_dir and (c.owner.mode & 0o070) != 0o070)
        # A file the group cannot read and write: uv cannot read it (an index page), nor,
        # under fs.protected_hardlinks, hard-link it (another member's archive file).
        or (not c.owner.is_dir and (c.owner.mode & 0o060) != 0o060)
    ]
    reported: list[str] = []
    for c in bad:
        if any(c.path.startswith(r + os.sep) for r in reported):
            continue
        reported.append(c.path)
        locked_out = not may(c.owner, inp.user, "rx")
        yield finding(
            F.SHARED_CACHE_PERMISSIONS,
            ERROR if locked_out else WARNING,
            c.path,
            f"This cache is shared with group {group} (setgid, group-writable), but "
            f"{inp.short(c.path)} is not writable by that group (group "
            f"{group_name(c.owner.gid)}, mode {c.owner.mode_text()}): other members get "
            '"Permission denied".',
            shared_group_fix(group),
            group=group,
        )


def rule_unreadable(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    paths: list[tuple[str, str]] = list(inp.quick.unreadable)
    if snap is not None:
        paths += [(m.path, m.detail) for m in snap.marks if m.reason == "unreadable"]
        paths += [(p.path, p.detail) for p in snap.problems if p.kind == "unreadable"]
    reported: list[str] = []
    for path, detail in sorted(set(paths)):
        if any(path.startswith(r + os.sep) for r in reported):
            continue
        reported.append(path)
        yield finding(
            F.UNREADABLE,
            WARNING,
            path,
            f"{inp.short(path)} cannot be read ({detail}); the inspector could not look inside, "
            "and uv probably cannot either.",
            "See the ownership findings; `uvci repair` fixes modes and owners it can.",
        )
