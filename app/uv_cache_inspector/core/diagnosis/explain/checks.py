"""What this machine says about a failure's paths: the preconditions of the operation, checked
as the user uv runs as (`check_rename`, `check_create`, `check_open`)."""

from __future__ import annotations

import os

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.model import Finding, Owner, Severity
from uv_cache_inspector.core.platform.access import (
    UvUser,
    explain_denial,
    may,
    missing,
    mode_fix,
    ownership_fix,
    sticky_blocks,
    user_name,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# -- checking preconditions on this machine ------------------------------------------------------


def _lstat_owner(path: str) -> Owner | None:
    try:
        return Owner.from_stat(os.lstat(path))
    except OSError:
        return None


def existing_parent(path: str) -> str:
    p = os.path.dirname(path.rstrip(os.sep)) or os.sep
    while not os.path.exists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    return p


def _rel(root: str | None, path: str) -> str:
    if root and (path == root or path.startswith(root.rstrip(os.sep) + os.sep)):
        return os.path.relpath(path, root) if path != root else "the cache directory"
    return fmt.user_path(path)


def _denied(
    op_words: str, path: str, want: str, user: UvUser, root: str | None, code_hint: str
) -> Finding | None:
    owner = _lstat_owner(path)
    if owner is None or may(owner, user, want):
        return None
    name = _rel(root, path)
    code = F.FOREIGN_OWNER if owner.uid != user.uid else F.PERMISSION_DENIED
    words = {
        "rwx": "write access",
        "wx": "write access",
        "rw": "read and write access",
        "w": "write permission",
        "r": "read access",
        "rx": "read access",
    }[want]
    why = explain_denial(path, owner, user, want)
    fix = ownership_fix(user.name) if code == F.FOREIGN_OWNER else mode_fix()
    return Finding(
        code,
        ERROR,
        path,
        f"{op_words} needs {words} to {name}; {why}.",
        fix,
        {
            "operation": code_hint,
            "uid": owner.uid,
            "gid": owner.gid,
            "mode": owner.mode_text(),
            "owner": user_name(owner.uid),
            "uv_user": user.name,
            "uv_uid": user.uid,
            "missing": missing(owner, user, want),
        },
    )


def check_rename(src: str, dst: str, user: UvUser, root: str | None) -> list[Finding]:
    out: list[Finding] = []
    src_parent, dst_parent = os.path.dirname(src), os.path.dirname(dst)
    for parent, label in ((dst_parent, "target"), (src_parent, "source")):
        if os.path.isdir(parent):
            f = _denied("rename", parent, "wx", user, root, f"rename ({label} directory)")
            if f:
                out.append(f)
    if os.path.isdir(src) and not os.path.islink(src) and src_parent != dst_parent:
        f = _denied("moving a directory", src, "w", user, root, "rename (moved directory)")
        if f:
            out.append(f)
    for parent, entry in ((src_parent, src), (dst_parent, dst)):
        po, eo = _lstat_owner(parent), _lstat_owner(entry)
        if po is not None and eo is not None and sticky_blocks(po, eo, user):
            out.append(
                Finding(
                    F.PERMISSION_DENIED,
                    ERROR,
                    entry,
                    f"rename is refused in {_rel(root, parent)}: it is sticky (mode "
                    f"{po.mode_text()}) and {_rel(root, entry)} belongs to {user_name(eo.uid)}, "
                    f"not {user.name}.",
                    ownership_fix(user.name),
                    {"operation": "rename (sticky directory)"},
                )
            )
    try:
        sdev = os.stat(src if os.path.exists(src) else existing_parent(src)).st_dev
        ddev = os.stat(dst_parent if os.path.exists(dst_parent) else existing_parent(dst)).st_dev
    except OSError:
        sdev = ddev = 0
    if sdev and ddev and sdev != ddev:
        out.append(
            Finding(
                F.CROSS_DEVICE,
                ERROR,
                dst_parent,
                f"rename cannot move {_rel(root, src)} to {_rel(root, dst_parent)}: they are on "
                "different filesystems (uv never copies across; os error 18).",
                "Keep the whole cache on one filesystem (no bucket on another disk or mount).",
                {"operation": "rename", "source_device": sdev, "target_device": ddev},
            )
        )
    return out


def check_create(path: str, user: UvUser, root: str | None, what: str) -> list[Finding]:
    parent = os.path.dirname(path.rstrip(os.sep))
    if not os.path.isdir(parent):
        parent = existing_parent(path)
    f = _denied(f"creating {what}", parent, "wx", user, root, f"create {what}")
    return [f] if f else []


def check_open(path: str, user: UvUser, root: str | None) -> list[Finding]:
    if not os.path.lexists(path):
        return check_create(path, user, root, "a file")
    want = "rw" if os.path.basename(path).endswith(".lock") or path.endswith(".git") else "r"
    f = _denied("opening", path, want, user, root, "open")
    return [f] if f else []


def check_walk(path: str, user: UvUser, root: str | None) -> list[Finding]:
    """Listing and deleting a directory needs read+search on it (and write to delete)."""
    if os.path.isdir(path) and not os.path.islink(path):
        f = _denied("listing a directory", path, "rx", user, root, "read directory")
        if f:
            return [f]
    return check_create(path, user, root, "or removing an entry")
