"""uv's error text -> the operations that failed -> which precondition failed, and why.

uv prints fs-err messages in English ("failed to rename file from X to Y: ...") followed by the
operating system's message, which may be localized ("Accès refusé. (os error 5)"), and the
error number. We anchor on the English operation phrases and on `(os error N)`, take the paths
(in backticks since 0.13, in quotes before, bare in rename messages), and check the operation's
POSIX preconditions against the cache as it is now (`core.access`):

- rename: write+search on both parent directories, write on a directory that moves (its `..`
  changes), ownership in a sticky directory, both ends on one filesystem;
- create (file, directory, temporary file): write+search on the parent;
- open for writing, lock: read+write on the file;
- remove: write+search on the parent.

When nothing fails now, the error number says what it was (a disk that was full, antivirus on
Windows, another process holding the file, WSL1 ...), with the failure-modes.md references.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.access import (
    UvUser,
    explain_denial,
    may,
    mode_fix,
    ownership_fix,
    sticky_blocks,
    user_name,
)
from uv_cache_inspector.core.model import Finding, Owner, Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

_Q = r"[`'\"](?P<{}>[^`'\"]+)[`'\"]"  # a quoted path, any of uv's quoting styles


def _quoted(name: str) -> str:
    return _Q.format(name)


# (operation, pattern). Patterns are tried in order on each line; the first that matches wins.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "rename",
        re.compile(
            r"failed to rename (?:file|directory|dir)? ?from (?P<src>.+?) to "
            r"(?P<dst>.+?): (?P<msg>.*)",
            re.IGNORECASE,
        ),
    ),
    (
        "hardlink",
        re.compile(
            r"failed to hard ?link (?:file )?from (?P<src>.+?) to (?P<dst>.+?)"
            r"(?:: (?P<msg>.*))?$",
            re.IGNORECASE,
        ),
    ),
    (
        "copy",
        re.compile(
            r"failed to copy (?:file )?from (?P<src>.+?) to (?P<dst>.+?)"
            r"(?:: (?P<msg>.*))?$",
            re.IGNORECASE,
        ),
    ),
    (
        "rename",
        re.compile(
            r"Failed (?:renaming|copying) (?P<src>.+?) to (?P<dst>.+?)"
            r"(?:: (?P<msg>.*))?$"
        ),
    ),
    (
        "persist",
        re.compile(
            r"Failed to persist temporary file to " + _quoted("dst") + r"(?:: (?P<msg>.*))?",
            re.IGNORECASE,
        ),
    ),
    (
        "persist",
        re.compile(
            r"Failed to retrieve temporary file while trying to persist to " + _quoted("dst"),
            re.IGNORECASE,
        ),
    ),
    (
        "create_dir",
        re.compile(
            r"failed to create (?:directory|dir) " + _quoted("dst") + r"(?:: (?P<msg>.*))?",
            re.IGNORECASE,
        ),
    ),
    (
        "open",
        re.compile(
            r"failed to (?:open|create) file " + _quoted("dst") + r"(?:: (?P<msg>.*))?",
            re.IGNORECASE,
        ),
    ),
    (
        "remove",
        re.compile(
            r"failed to remove (?:file|directory|dir) " + _quoted("dst") + r"(?:: (?P<msg>.*))?",
            re.IGNORECASE,
        ),
    ),
    (
        "read_dir",
        re.compile(
            r"failed to read directory " + _quoted("dst") + r"(?:: (?P<msg>.*))?", re.IGNORECASE
        ),
    ),
    (
        "lock",
        re.compile(r"failed to lock " + _quoted("dst") + r"(?:: (?P<msg>.*))?", re.IGNORECASE),
    ),
    (
        "lock_timeout",
        re.compile(
            r"Timeout \((?P<secs>\d+)s\) when waiting for lock on "
            + _quoted("root")
            + r" at "
            + _quoted("dst")
        ),
    ),
    ("in_use", re.compile(r"Cache is currently in-use, waiting for other uv processes")),
    (
        "tempfile",
        re.compile(
            r"Could not create temporary file(?:.*?)(?:" + _quoted("dst") + r")?", re.IGNORECASE
        ),
    ),
    ("at_path", re.compile(r"(?P<msg>.*\(os error (?P<code>\d+)\)) at path " + _quoted("dst"))),
    ("deserialize", re.compile(r"Failed to deserialize cache entry", re.IGNORECASE)),
    (
        "hardlink_fallback",
        re.compile(r"Failed to hardlink files; falling back to full copy", re.IGNORECASE),
    ),
    ("initialize", re.compile(r"Failed to initialize cache at " + _quoted("dst"))),
]
_OS_ERROR = re.compile(r"\(os error (?P<code>\d+)\)")
_ANY_PATH = re.compile(r"[`'\"](?P<p>(?:[A-Za-z]:\\|/|~[/\\]|\\\\)[^`'\"]+)[`'\"]")


@dataclass(frozen=True, slots=True)
class Failure:
    op: str
    paths: tuple[str, ...]  # (source, target) for rename-like operations, else (target,)
    errno: int | None
    os_message: str
    line: str


def _clean_path(p: str) -> str:
    p = p.strip().strip("`'\"").rstrip(":.,")
    if p.startswith("~"):
        p = os.path.expanduser(p)
    return p


def parse(text: str) -> list[Failure]:
    """Every failed operation in uv's output (error, cause and warning lines)."""
    failures: list[Failure] = []
    for raw in text.splitlines():
        line = raw.strip()
        line = re.sub(
            r"^(?:error|warning|WARN|ERROR|  cause|cause|Caused by)\s*:?\s*", "", line
        ).strip()
        line = re.sub(r"^\d+:\s*", "", line)  # "0: failed to ..." (anyhow style)
        if not line:
            continue
        code_m = _OS_ERROR.search(line)
        errno_ = int(code_m.group("code")) if code_m else None
        for op, pat in _PATTERNS:
            m = pat.search(line)
            if not m:
                continue
            groups = m.groupdict()
            paths = tuple(_clean_path(groups[k]) for k in ("src", "dst") if groups.get(k))
            msg = (groups.get("msg") or "").strip()
            if code_m:
                msg = msg or line[: code_m.start()].rsplit(": ", 1)[-1].strip()
                msg = _OS_ERROR.sub("", msg).strip()
            failures.append(Failure(op, paths, errno_, msg, line))
            break
        else:
            if errno_ is not None:
                paths = tuple(_clean_path(m.group("p")) for m in _ANY_PATH.finditer(line))
                msg = _OS_ERROR.sub("", line.rsplit(": ", 1)[-1]).strip()
                failures.append(Failure("unknown", paths, errno_, msg, line))
    # The same failure is often printed twice (error + cause): keep the most specific.
    unique: dict[tuple[str, tuple[str, ...], int | None], Failure] = {}
    for f in failures:
        unique.setdefault((f.op, f.paths, f.errno), f)
    return list(unique.values())


# -- checking preconditions ------------------------------------------------------------------


def _lstat_owner(path: str) -> Owner | None:
    try:
        return Owner.from_stat(os.lstat(path))
    except OSError:
        return None


def _existing_parent(path: str) -> str:
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
    code = "foreign-owner" if owner.uid != user.uid else "permission-denied"
    words = {
        "rwx": "write access",
        "wx": "write access",
        "rw": "read and write access",
        "w": "write permission",
        "r": "read access",
        "rx": "read access",
    }[want]
    why = explain_denial(path, owner, user, want)
    fix = ownership_fix(user.name) if code == "foreign-owner" else mode_fix()
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
                    "permission-denied",
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
        sdev = os.stat(src if os.path.exists(src) else _existing_parent(src)).st_dev
        ddev = os.stat(dst_parent if os.path.exists(dst_parent) else _existing_parent(dst)).st_dev
    except OSError:
        sdev = ddev = 0
    if sdev and ddev and sdev != ddev:
        out.append(
            Finding(
                "cross-device",
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
        parent = _existing_parent(path)
    f = _denied(f"creating {what}", parent, "wx", user, root, f"create {what}")
    return [f] if f else []


def check_open(path: str, user: UvUser, root: str | None) -> list[Finding]:
    if not os.path.lexists(path):
        return check_create(path, user, root, "a file")
    want = "rw" if os.path.basename(path).endswith(".lock") or path.endswith(".git") else "r"
    f = _denied("opening", path, want, user, root, "open")
    return [f] if f else []


# -- what the error number means when nothing fails now --------------------------------------


class Hint(NamedTuple):
    code: str  # the finding code
    text: str  # what the error number meant
    fix: str


_TRANSIENT: dict[int, Hint] = {
    2: Hint(
        "missing-entry",
        "uv expected a file or directory that was gone: an archive deleted by a tmp cleaner, "
        "a partial cache restore, or a concurrent `uv cache clean` (uv issues #6147, #7485).",
        "`uvci repair` removes entries that point at missing archives; `uv cache clean <pkg>` "
        "also works.",
    ),
    5: Hint(
        "windows-access-denied",
        "Windows refused access while uv renamed or replaced a file: most often antivirus or "
        "the search indexer holding the new files open (they scan .dll/.pyd first), sometimes "
        "another uv process (uv issues #1491, #9531, #17679).",
        "Exclude the cache (and your venvs) from real-time scanning, retry, or set "
        "UV_CACHE_DIR to a less-watched folder.",
    ),
    9: Hint(
        "lock-unsupported",
        "The lock call failed with a bad file descriptor: on NFS, uv 0.10.3 and later take "
        "locks in a way the server rejects (uv issue #18061).",
        "Use a local UV_CACHE_DIR, or a uv release with the NFS fix.",
    ),
    12: Hint(
        "out-of-memory",
        "The system ran out of memory while uv copied files (uv issue #13481; cause not "
        "established).",
        "Retry with fewer parallel installs: UV_CONCURRENT_INSTALLS=1.",
    ),
    13: Hint(
        "permission-denied",
        "The operating system refused the operation. Nothing is refused now, so the cause was "
        "temporary: another process (antivirus through WSL, a second uv run with --force), or "
        "WSL1 renaming directories whose files are open (uv issue #11018).",
        "Run `uvci test-write` to replay uv's write, and `uvci test-write --with-uv` to trace "
        "uv itself.",
    ),
    17: Hint(
        "cross-device",
        "Windows cannot move a file to a different drive: the cache and the target are on "
        "different drives.",
        "Keep the cache and your projects on one drive.",
    ),
    18: Hint(
        "cross-device",
        "A rename crossed filesystems (os error 18): part of the cache, or the venv, is on "
        "another disk or mount.",
        "Keep the cache on one filesystem, and on the venv's.",
    ),
    24: Hint(
        "open-file-limit",
        "uv hit the limit on open files (os error 24).",
        "`ulimit -n 4096` before running uv.",
    ),
    28: Hint(
        "low-disk-space",
        "The disk was full (os error 28).",
        "Free space; `uvci prune` removes what uv no longer uses.",
    ),
    30: Hint(
        "read-only-filesystem",
        "The cache was on a read-only filesystem (os error 30).",
        "Point UV_CACHE_DIR and TMPDIR at writable directories.",
    ),
    32: Hint(
        "file-in-use",
        "Another process had the file open (os error 32): a running python.exe from that "
        "environment, an IDE, or another uv (uv issues #1327, #16747).",
        "Close programs that use the environment and retry.",
    ),
    33: Hint(
        "file-in-use",
        "Another process had locked part of the file (os error 33): two uv processes wrote "
        "the same cache entry at once on Windows (fixed in uv 0.5.25, issue #2810).",
        "Upgrade uv; run parallel jobs with separate UV_CACHE_DIRs.",
    ),
    38: Hint(
        "lock-unsupported",
        "The filesystem does not implement locking (os error 38).",
        "Use a local UV_CACHE_DIR.",
    ),
    39: Hint(
        "not-empty",
        "A directory that uv wanted to replace was not empty (os error 39).",
        "Retry; if it repeats, run `uvci doctor`.",
    ),
    66: Hint(
        "not-empty",
        "A directory that uv wanted to replace was not empty (os error 66).",
        "Retry; if it repeats, run `uvci doctor`.",
    ),
    145: Hint(
        "not-empty",
        "A directory that uv wanted to remove was not empty (os error 145).",
        "Retry; if it repeats, run `uvci doctor`.",
    ),
    396: Hint(
        "onedrive",
        "OneDrive refuses hard links to files it manages (os error 396): the cache or the "
        "project is in a OneDrive folder (uv issues #7906, #9721).",
        "Move the project out of OneDrive, or set UV_LINK_MODE=copy.",
    ),
    524: Hint(
        "lock-unsupported",
        "The filesystem does not support locking (error 524).",
        "Use a node-local UV_CACHE_DIR.",
    ),
    1224: Hint(
        "file-in-use",
        "Windows could not replace a file that a running program has mapped (os error 1224, "
        "uv issue #14017).",
        "Close the program (often a python.exe) and retry.",
    ),
}


def transient(f: Failure, root: str | None) -> Finding | None:
    code = f.errno
    if code is None:
        return None
    entry = _TRANSIENT.get(code)
    path = f.paths[-1] if f.paths else None
    if entry is None:
        return Finding(
            "os-error",
            WARNING,
            path,
            f"{f.op.replace('_', ' ')} failed with os error {code} ({f.os_message or 'no text'}).",
            "Run `uvci doctor` and `uvci test-write` to see whether it happens now.",
            {"operation": f.op, "errno": code},
        )
    if code == 13 and sys.platform == "win32":
        entry = _TRANSIENT[5]
    kind, text, fix = entry
    where = f" ({_rel(root, path)})" if path else ""
    return Finding(
        kind,
        WARNING,
        path,
        f"{f.op.replace('_', ' ')}{where}: {text}",
        fix,
        {"operation": f.op, "errno": code, "os_message": f.os_message},
    )


def explain_failures(failures: Iterable[Failure], user: UvUser, root: str | None) -> list[Finding]:
    out: list[Finding] = []
    for f in failures:
        found: list[Finding] = []
        local = [p for p in f.paths if os.path.isabs(p) and os.path.lexists(os.path.dirname(p))]
        if user.uid >= 0 and local:
            if f.op in {"rename", "persist"} and len(f.paths) == 2:
                found = check_rename(f.paths[0], f.paths[1], user, root)
            elif f.op == "persist":
                found = check_create(f.paths[-1], user, root, "a file")
            elif f.op in {"create_dir", "tempfile"}:
                found = check_create(f.paths[-1], user, root, "a directory")
            elif f.op in {"open", "lock", "initialize"}:
                found = check_open(f.paths[-1], user, root)
            elif f.op == "remove":
                found = check_create(f.paths[-1], user, root, "or removing an entry")
        if f.op == "hardlink_fallback":
            found = [
                Finding(
                    "cross-device",
                    WARNING,
                    None,
                    "uv could not hard-link from the cache into the environment and copied "
                    "every file: they are on different filesystems (or the filesystem has no "
                    "hard links).",
                    "Keep projects and the cache on one filesystem, or set UV_LINK_MODE=copy.",
                    {"operation": "hardlink"},
                )
            ]
        elif f.op == "deserialize":
            found = [
                Finding(
                    "corrupt-entry",
                    WARNING,
                    None,
                    "uv could not read a cache entry: another uv version wrote it, or it is "
                    "damaged (uv issue #11043).",
                    "Use one uv version per cache; `uvci doctor` finds damaged entries and "
                    "`uvci repair` removes them.",
                    {"operation": "deserialize"},
                )
            ]
        elif f.op in {"lock_timeout", "in_use"}:
            found = [
                Finding(
                    "cache-in-use",
                    WARNING,
                    f.paths[-1] if f.paths else None,
                    "Another uv process held the cache lock (uv run and uvx hold it for as long as "
                    "they run; clean and prune wait for all of them).",
                    "Stop the long-running `uv run`/`uvx` (see `uvci doctor`, which names it), or "
                    "raise UV_LOCK_TIMEOUT.",
                    {"operation": "lock"},
                )
            ]
        if not found:
            t = transient(f, root)
            if t is not None:
                found = [t]
        for item in found:
            item.details.setdefault("uv_said", f.line[:300])
        out.extend(found)
    return out
