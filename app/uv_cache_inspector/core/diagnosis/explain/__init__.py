"""uv's error text -> the failed operation -> why the system refused it, and what to do.

Three steps:

1. `parse` reads uv's output as uv prints it (`core.uvtext`: "Caused by:" chains, miette trees,
   wrapped lines, log decorations) into `Failure`s: the operation uv names (rename, persist,
   hardlink, copy, symlink, clone, create, open, remove, read directory, write, lock, spawn...),
   the paths it names, and the `(os error N)` below it, read for the platform the text shows
   (`core.oserrors`).
2. `rank_causes` ranks the causes real reports established (tests/data/explain_corpus.json) by
   what the text shows: a Windows path, `/mnt/c` under WSL, an agent's sandbox transcript, a
   `.venv` that is a Docker volume, `/.cache/uv` (HOME=/), `/root/.cache` for a non-root user...
3. When the paths are on this machine, evidence wins: ownership and modes (`core.access`), the
   filesystem (read-only, full, another device, a mount point, network), and the explanation
   says what was checked and what could not be.

The steps live in reading.py (1), causes.py (2) and checks.py (3); this module puts them
together into an `Explanation` per failure: the story, the evidence, the fix. The test-write
reads its own failed steps the same way (`explain_error`).

No fix ever acts on a path outside uv's cache: such a path is named, and uvci says it will
not touch it. Fixes about ownership never say `chown -R` (uv hard-links cache files into
environments; `core.access.ownership_fix`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis import oserrors, uvtext
from uv_cache_inspector.core.diagnosis.explain.causes import (
    CAUSES,
    HEADLINES,
    Candidate,
    rank_causes,
)
from uv_cache_inspector.core.diagnosis.explain.checks import (
    check_create,
    check_open,
    check_rename,
    check_walk,
    existing_parent,
)
from uv_cache_inspector.core.diagnosis.explain.reading import (
    MAX_EXPLAINED,
    MAX_FAILURES,
    TAIL,
    Failure,
    Signals,
    message_cache_root,
    parse,
    primary,
    signals,
    under_root,
)
from uv_cache_inspector.core.model import Finding, Severity
from uv_cache_inspector.core.platform.access import (
    UvUser,
    mode_fix,
    ownership_fix,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# -- explaining --------------------------------------------------------------------------------

_OP_WORDS = {
    "rename": "move {0} to {1}",
    "persist": "save a new file as {0}",
    "hardlink": "hard-link {0} to {1}",
    "copy": "copy {0} to {1}",
    "symlink": "create a symbolic link from {0} to {1}",
    "clone": "clone (reflink) {0} to {1}",
    "open": "open {0}",
    "create_file": "create the file {0}",
    "create_dir": "create the directory {0}",
    "remove_file": "delete the file {0}",
    "remove_dir": "delete the directory {0}",
    "read_dir": "list the directory {0}",
    "walk": "walk through {0}",
    "write": "write {0}",
    "read": "read {0}",
    "metadata": "read the metadata of {0}",
    "canonicalize": "resolve the path {0}",
    "readlink": "read the link {0}",
    "chmod": "change the permissions of {0}",
    "lock": "lock {0}",
    "lock_wait": "wait for the lock {0}",
    "lock_timeout": "wait for the lock {0}",
    "extract": "unpack into {0}",
    "spawn": "start {0}",
    "deserialize": "read a cache entry",
    "create_temp": "create a temporary file or directory ({0})",
    "initialize": "set up its cache at {0}",
    "clear": "clear the cache at {0}",
    "cache_write": "write to its cache",
    "cache_read": "read from its cache",
    "install": "install a package",
    "compile": "compile Python files",
    "create_venv": "create the virtual environment {0}",
    "unknown": "do something it did not name",
}


def describe_op(f: Failure) -> str:
    words = _OP_WORDS.get(f.op, f.op.replace("_", " ") + " {0}")
    paths = [f"`{p}`" for p in f.paths] or ["(no path given)"]
    if "{1}" in words and len(paths) < 2:
        words = words.split(" to {1}")[0].replace(" from {0}", " {0}")
    text = words.format(*paths, "", "")
    if f.resource and f.op in ("lock", "lock_wait", "lock_timeout"):
        text += f" (protecting `{f.resource}`)"
    return text.replace(" ()", "").strip()


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """Control and format characters as escapes, for human output (JSON keeps them exact)."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\n":
            out.append("\n" if keep_newlines else "\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif (
            o in (0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF)
            or 0x202A <= o <= 0x202E
            or (0x2066 <= o <= 0x2069)
        ):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Explanation:
    failure: Failure
    cause: str
    candidates: list[Candidate]
    finding: Finding
    evidence: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    outside_cache: list[str] = field(default_factory=list)
    fix_action: str | None = None  # "repair" or "prune": the window's own flows
    message_cache: str | None = None
    why: str = ""  # the cause, in a sentence or two (without the operation)

    @property
    def title(self) -> str:
        """The cause in a few words (what the cause table says, without evidence or pointer)."""
        return CAUSES[self.cause].title

    def story(self) -> dict[str, Any]:
        """The failure as a story: what uv tried, what the system refused, why, what to do,
        and what was (not) checked."""
        f = self.failure
        tried = describe_op(f)
        if f.errno is not None:
            name = f", {f.errno_name}" if f.errno_name else ""
            refused = f"{f.os_message or 'an error'} (os error {f.errno}{name})."
        elif f.os_message:
            refused = f"{f.os_message}."
        else:
            refused = "uv printed no error number."
        return {
            "headline": HEADLINES.get(self.cause, self.cause),
            "tried": tried[0].upper() + tried[1:] + ".",
            "refused": refused,
            "why": self.why[:1].upper() + self.why[1:],
            "todo": self.finding.fix or "",
            "checked": list(self.checked),
            "unchecked": list(self.unchecked),
        }

    def to_json(self) -> dict[str, Any]:
        f = self.failure
        return {
            "operation": f.op,
            "paths": list(f.paths),
            "errno": f.errno,
            "errno_name": f.errno_name,
            "os_message": f.os_message,
            "platform": f.platform,
            "cause": self.cause,
            "causes": [{"cause": c.cause, "why": c.why} for c in self.candidates],
            "code": self.finding.code,
            "fix_kind": self.finding.details.get("fix_kind"),
            "fix_action": self.fix_action,
            "message_cache": self.message_cache,
            "outside_cache": list(self.outside_cache),
            "story": self.story(),
        }


def _inside(path: str, root: str | None) -> bool:
    """Is `path` inside the cache `root` on this machine, lexically and really?"""
    if not root or not os.path.isabs(path):
        return False
    norm = os.path.normpath(path)
    r = os.path.normpath(root)
    if not (norm == r or norm.startswith(r.rstrip(os.sep) + os.sep)):
        return False
    real_root = os.path.realpath(r)
    probe = norm
    while not os.path.lexists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    real = os.path.realpath(probe)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _local(path: str) -> str | None:
    """The path on this machine, if the message's path can be one (absolute, after ~)."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if sys.platform != "win32" and (path.startswith("\\\\") or (len(path) > 2 and path[1] == ":")):
        return None
    return path if os.path.isabs(path) else None


def _fix_for(
    cause: str,
    user: UvUser | None,
    actionable: bool,
    outside: list[str],
    text_only: bool,
    dev_null: bool = False,
) -> tuple[str, str, str | None]:
    """(fix text, fix kind, fix action) for a cause."""
    c = CAUSES[cause]
    if cause == "bad-home" and dev_null:
        return (
            (
                "Fix the environment variable that points into /dev/null (HOME, "
                "XDG_CONFIG_HOME, XDG_CACHE_HOME or UV_CACHE_DIR): uv's directories must be "
                "real directories."
            ),
            "set-env",
            None,
        )
    who = user.name if user is not None else "the user who runs uv"
    if outside and (
        c.fix_kind == "repair"
        or cause in ("foreign-owner", "bad-mode", "read-only-cache", "permission-denied")
    ):
        names = ", ".join(f"`{escape(p)}`" for p in outside[:3])
        text = (
            f"{names} {'is' if len(outside) == 1 else 'are'} outside uv's cache: uvci will not "
            "touch it. "
        )
        if cause == "foreign-owner":
            text += (
                "It (or a folder above it) must belong to the user who runs uv: ask whoever "
                "owns it, or point uv elsewhere (UV_CACHE_DIR, UV_TOOL_DIR, "
                "UV_PYTHON_INSTALL_DIR, TMPDIR)."
            )
        elif c.fix:
            text += c.fix
        else:
            text += "Check who owns it and its permissions; uvci only repairs the cache."
        return text, "outside-cache", None
    if c.fix_kind == "repair":
        text = ownership_fix(who) if cause == "foreign-owner" else mode_fix()
        if text_only:
            text = "On the machine (or in the image) where uv failed: " + text[0].lower() + text[1:]
        return text, "repair", "repair" if actionable else None
    action = None
    if c.fix_kind == "free-space" and actionable:
        action = "prune"
    if c.fix_kind == "clean-entry" and actionable:
        action = "repair"
    return c.fix, c.fix_kind, action


def _evidence(
    f: Failure, user: UvUser, root: str | None, checked: list[str], just_now: bool = False
) -> list[Finding]:
    """What the filesystem says now about the paths of `f` that are on this machine.

    A path that does not exist may be another machine's, so the filesystem around it says
    nothing, unless the failure happened here `just_now` (the test-write): then the nearest
    existing folder's filesystem is the one that refused, even for a path never made."""
    from uv_cache_inspector.core import platform as plat

    local = [p for p in (_local(p) for p in f.paths) if p]
    if not local or user.uid < 0:
        return []
    exists = [p for p in local if os.path.lexists(os.path.dirname(p) or p)]
    if not exists:
        return []
    found: list[Finding] = []
    kind = f.errno_kind
    op = f.op
    if kind in ("denied", None) or f.errno is None:
        if op in ("rename", "persist") and len(local) == 2:
            found = check_rename(local[0], local[1], user, root)
            checked.append("write and search permission on both directories of the rename")
        elif op in ("persist", "create_file", "write", "copy", "hardlink", "symlink", "clone"):
            found = check_create(local[-1], user, root, "a file")
            checked.append(f"write permission on {fmt.user_path(os.path.dirname(local[-1]))}")
        elif op in ("create_dir", "create_temp", "initialize", "create_venv"):
            found = check_create(local[-1], user, root, "a directory")
            checked.append(f"write permission on {fmt.user_path(existing_parent(local[-1]))}")
        elif op in ("open", "lock"):
            found = check_open(local[-1], user, root)
            checked.append(f"read/write permission on {fmt.user_path(local[-1])}")
        elif op in ("remove_file", "remove_dir"):
            found = check_create(local[-1], user, root, "or removing an entry")
            checked.append(f"write permission on {fmt.user_path(os.path.dirname(local[-1]))}")
        elif op in ("walk", "read_dir", "clear"):
            found = check_walk(local[-1], user, root)
            checked.append(f"read and search permission on {fmt.user_path(local[-1])}")
    if kind in ("rofs", "denied"):
        facts = plat.fs_facts(local[-1])
        if (facts.exists or just_now) and facts.read_only:
            found.append(
                Finding(
                    F.READ_ONLY_FILESYSTEM,
                    ERROR,
                    facts.mount_point or local[-1],
                    f"{fmt.user_path(local[-1])} is on a read-only filesystem ({facts.fstype} "
                    f"mounted at {facts.mount_point}, options {','.join(facts.options)}).",
                    CAUSES["read-only-filesystem"].fix,
                    {"operation": op, "fstype": facts.fstype},
                )
            )
        checked.append(f"whether the filesystem of {fmt.user_path(local[-1])} is read-only")
        if kind == "denied" and op == "rename" and (facts.exists or just_now) and facts.wsl1:
            found.append(
                Finding(
                    F.WSL1_FILESYSTEM,
                    ERROR,
                    facts.mount_point or local[-1],
                    f"{fmt.user_path(local[-1])} is on WSL1's {facts.fstype}, which refuses to "
                    "rename a directory while files in it are open or hard-linked.",
                    CAUSES["wsl1"].fix,
                    {"operation": op, "fstype": facts.fstype},
                )
            )
    if kind == "exdev" or (op == "hardlink" and f.errno is None and len(local) == 2):
        try:
            a = os.stat(local[0] if os.path.exists(local[0]) else existing_parent(local[0]))
            b = os.stat(existing_parent(local[-1]))
            checked.append("whether both ends are on one filesystem")
            if a.st_dev != b.st_dev:
                found.append(
                    Finding(
                        F.CROSS_DEVICE,
                        ERROR,
                        local[-1],
                        f"{fmt.user_path(local[0])} and {fmt.user_path(local[-1])} are on "
                        "different filesystems.",
                        CAUSES["cross-device"].fix,
                        {"operation": op, "source_device": a.st_dev, "target_device": b.st_dev},
                    )
                )
        except OSError:
            pass
    if kind == "busy":
        target = local[-1]
        checked.append(f"whether {fmt.user_path(target)} is a mount point")
        if os.path.ismount(target):
            found.append(
                Finding(
                    F.MOUNT_POINT,
                    ERROR,
                    target,
                    f"{fmt.user_path(target)} is a mount point: it cannot be removed, only "
                    "emptied.",
                    CAUSES["mount-point"].fix,
                    {"operation": op},
                )
            )
    if kind in ("nospace", "quota"):
        facts = plat.fs_facts(local[-1])
        if (facts.exists or just_now) and facts.free_bytes is not None:
            checked.append(f"free space on {facts.mount_point}")
            low = facts.free_bytes < 256 * 1024 * 1024 or (facts.free_inodes == 0)
            if low:
                found.append(
                    Finding(
                        F.LOW_DISK_SPACE,
                        ERROR,
                        facts.mount_point,
                        f"{facts.mount_point} ({facts.fstype}) has {fmt.size(facts.free_bytes)} "
                        f"and {facts.free_inodes} inodes free.",
                        CAUSES["disk-full"].fix,
                        {"operation": op},
                    )
                )
    if kind in ("badf", "nosys", "nolock", "notsup") and op == "lock":
        facts = plat.fs_facts(local[-1])
        checked.append(f"the filesystem type of {fmt.user_path(local[-1])}")
        if (facts.exists or just_now) and facts.network:
            found.append(
                Finding(
                    F.LOCK_UNSUPPORTED,
                    ERROR,
                    facts.mount_point,
                    f"{fmt.user_path(local[-1])} is on {facts.fstype} (a network filesystem) "
                    f"mounted at {facts.mount_point}.",
                    CAUSES["lock-unsupported"].fix,
                    {"operation": op, "fstype": facts.fstype},
                )
            )
    if kind == "noent":
        checked.append("whether the paths exist now")
    for item in found:
        item.details.setdefault("uv_said", f.line[:300])
    return found


# Causes the text names more precisely than "this user may not write there".
_REFINES = {"bad-home", "system-environment", "multi-user-cache", "sandbox"}

_EVIDENCE_CAUSE = {
    "wsl1-filesystem": "wsl1",
    "foreign-owner": "foreign-owner",
    "read-only-filesystem": "read-only-filesystem",
    "cross-device": "cross-device",
    "mount-point": "mount-point",
    "low-disk-space": "disk-full",
    "lock-unsupported": "lock-unsupported",
}


def explain_one(
    f: Failure,
    sig: Signals,
    user: UvUser | None,
    root: str | None,
    *,
    cache_present: bool | None = None,
    just_now: bool = False,
) -> Explanation:
    """Why `f` failed: the ranked causes from the text, evidence from disk when the paths are
    here, and what could not be checked. `just_now`: it failed on this machine just now (the
    test-write), so the filesystem around a path never made is evidence too (`_evidence`)."""
    if cache_present is None:
        cache_present = bool(root) and os.path.isdir(root or "")
    mroot = message_cache_root(f)
    candidates = rank_causes(f, sig, root if cache_present else None)
    checked: list[str] = []
    unchecked: list[str] = []
    evidence = _evidence(f, user, root, checked, just_now) if user is not None else []
    cause = candidates[0].cause if candidates else "io-error"
    same_cache = False
    if cache_present and root:
        if mroot is not None:
            lm = _local(mroot)
            same_cache = bool(lm) and os.path.normpath(lm or "") == os.path.normpath(root)
        else:
            same_cache = any(_inside(lp, root) for lp in (_local(p) for p in f.paths) if lp)
    for ev in evidence:
        ev_cause = _EVIDENCE_CAUSE.get(ev.code)
        if ev.code == F.PERMISSION_DENIED:
            owner_uid = ev.details.get("uid")
            if owner_uid == (user.uid if user else None):
                ev_cause = (
                    "read-only-cache" if "w" in str(ev.details.get("missing", "")) else "bad-mode"
                )
            else:
                ev_cause = "permission-denied"
            if "sticky" in str(ev.details.get("operation", "")):
                ev_cause = "foreign-owner"
        if ev_cause in ("foreign-owner", "permission-denied") and cause in _REFINES:
            # the disk agrees, and the text says more precisely why (HOME=/, a system Python)
            candidates = [
                Candidate(cause, candidates[0].why + "; on disk: " + ev.message),
                *candidates[1:],
            ]
            break
        if ev_cause:
            cause = ev_cause
            candidates = [Candidate(ev_cause, "found on disk: " + ev.message)] + [
                x for x in candidates if x.cause != ev_cause
            ]
            break
    local_paths = [p for p in (_local(p) for p in f.paths) if p]
    if not local_paths and f.paths:
        unchecked.append(
            "the paths in the message are not on this machine, so nothing on disk was checked"
        )
    elif (
        f.paths
        and not evidence
        and local_paths
        and not any(os.path.lexists(os.path.dirname(p) or p) for p in local_paths)
    ):
        unchecked.append("the paths in the message do not exist here; nothing was checked")
    if mroot and not same_cache:
        looked = f"; uvci looked at {fmt.user_path(root)}" if root else ""
        unchecked.append(f"the message's cache is {mroot}{looked}")
    if not cache_present:
        unchecked.append(
            "there is no uv cache where uvci looked" + (f" ({fmt.user_path(root)})" if root else "")
        )
    local_paths = [p for p in (_local(p) for p in f.paths) if p]
    here = (
        same_cache
        or (cache_present and any(_inside(lp, root) for lp in local_paths))
        or any(os.path.lexists(lp) for lp in local_paths)
    )
    if checked and not evidence and not here:
        unchecked.append(
            "these paths exist on this machine too, but the message may come from another "
            "one: what uvci checked here may not apply"
        )
    if checked and not evidence and here:
        unchecked.append(
            "nothing is refused now where uvci could check; the cause may have been "
            "temporary, or lie where uvci cannot see (another user, a sandbox, security software)"
        )
        # Permission refused to write a new file where the permissions allow it: something
        # around uv refused (an agent's sandbox, Landlock, the macOS seatbelt, Flatpak).
        if (
            f.errno_kind in ("denied", "rofs")
            and f.platform != "windows"
            and f.op in ("open", "create_file", "create_temp", "create_dir", "lock", "persist")
            and cause in ("permission-denied", "foreign-owner", "read-only-cache", "bad-mode")
        ):
            cause = "sandbox"
            candidates = [
                Candidate(
                    F.SANDBOX,
                    "the permissions on disk allow this write now, so something around uv "
                    "refused it",
                ),
                *[c for c in candidates if c.cause != "sandbox"],
            ]
    # where would a fix act?
    outside: list[str] = []
    for p in f.paths:
        lp = _local(p)
        inside_here = bool(lp) and cache_present and _inside(lp or "", root)
        in_message_cache = mroot is not None and under_root(p, mroot)
        if not inside_here and not in_message_cache:
            outside.append(p)
    if f.op in (
        "spawn",
        "lock_wait",
        "deserialize",
        "unknown",
        "install",
        "cache_write",
        "cache_read",
        "compile",
    ):
        outside = []
    if (
        f.op in ("create_dir", "initialize")
        and mroot
        and f.paths
        and (f.paths[-1].replace("\\", "/").rstrip("/") == mroot.replace("\\", "/").rstrip("/"))
    ):
        # creating the cache directory itself: what refused is the folder above it
        parent = re.split(r"[\\/](?=[^\\/]*$)", f.paths[-1].rstrip("\\/"))[0] or "/"
        if not (cache_present and _inside(_local(parent) or "", root)):
            outside = [parent]
    actionable = cache_present and (
        same_cache or any(_inside(lp, root) for lp in (_local(p) for p in f.paths) if lp)
    )
    if (
        evidence
        and evidence[0].path
        and not _inside(evidence[0].path, root)
        and (evidence[0].code in (F.FOREIGN_OWNER, F.PERMISSION_DENIED))
    ):
        outside = [evidence[0].path]
        actionable = False
    text_only = not evidence
    dev_null = any(p.startswith("/dev/null") for p in f.paths)
    fix, fix_kind, action = _fix_for(cause, user, actionable, outside, text_only, dev_null)
    c = CAUSES[cause]
    title = c.title[0].upper() + c.title[1:]
    pointer = candidates[0].why if candidates else ""
    if evidence and cause in _REFINES:
        first = evidence[0]
        why = f"{first.message} {title}."
        message = why
        severity = ERROR
        code = c.code
        path = first.path
    elif evidence:
        first = evidence[0]
        why = first.message
        message = why
        severity = ERROR
        code = first.code
        path = first.path
    else:
        why = f"{title}." + (f" What points at it: {pointer}." if pointer else "")
        op = describe_op(f)
        message = f"{op[0].upper()}{op[1:]} failed: {c.title}" + (
            f" ({pointer})." if pointer else "."
        )
        severity = WARNING
        code = c.code
        path = f.paths[-1] if f.paths else None
    details: dict[str, Any] = {
        "operation": f.op,
        "errno": f.errno,
        "errno_name": f.errno_name,
        "os_message": f.os_message,
        "cause": cause,
        "fix_kind": fix_kind,
        "fix_action": action,
        "checked": list(checked),
        "unchecked": list(unchecked),
        "uv_said": f.line[:300],
    }
    if outside:
        details["outside_cache"] = list(outside)
    if evidence:
        for k, v in evidence[0].details.items():
            details.setdefault(k, v)
    finding = Finding(code, severity, path, message, fix, details)
    return Explanation(
        failure=f,
        cause=cause,
        candidates=candidates,
        finding=finding,
        evidence=evidence,
        checked=checked,
        unchecked=unchecked,
        outside_cache=outside,
        fix_action=action,
        message_cache=mroot,
        why=why,
    )


def explain_text(
    text: str | bytes,
    user: UvUser | None,
    root: str | None,
    *,
    cache_present: bool | None = None,
) -> tuple[list[Failure], list[Explanation], uvtext.Prepared]:
    """Parse and explain: the failures (primary first) and their explanations."""
    prepared = uvtext.prepare(text)
    stats: dict[str, Any] = {}
    failures = parse(prepared, stats)
    if stats.get("skipped_middle"):
        prepared = dataclasses.replace(
            prepared,
            notes=(
                *prepared.notes,
                (
                    f"more than {MAX_FAILURES} distinct failures: the first ones and the last "
                    f"{TAIL // 1024} KB were read, {stats['skipped_middle']:,} characters "
                    "between them were skipped"
                ),
            ),
        )
    first = primary(failures)
    if first is not None:
        failures = [first] + [f for f in failures if f is not first]
    sig = signals(prepared.text)
    explained = [
        explain_one(f, sig, user, root, cache_present=cache_present)
        for f in failures[:MAX_EXPLAINED]
    ]
    return failures, explained, prepared


def explain_failures(failures: Iterable[Failure], user: UvUser, root: str | None) -> list[Finding]:
    """The findings for failures already parsed (without the text's other signals)."""
    sig = Signals()
    out: list[Finding] = []
    for f in list(failures)[:MAX_EXPLAINED]:
        e = explain_one(f, sig, user, root)
        out.extend([e.finding, *e.evidence[1:]])
    return out


# -- an error of an operation done here, just now (the test-write) -------------------------------


def _this_platform() -> str:
    """The platform `oserrors` reads this machine's error numbers for."""
    if sys.platform == "win32":
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


def explain_error(
    op: str, paths: Sequence[str], exc: OSError, user: UvUser, root: str | None
) -> Explanation:
    """Why an operation done on this machine just now failed (the test-write replays uv's own):
    the error is read as uv's `(os error N)` would be (`oserrors`, for this platform) and
    explained as any failure uv reports: the evidence on disk first, else the cause its kind
    points at. `op` and `paths` are as `parse` gives them (`rename`, (source, target))."""
    platform = _this_platform()
    message = exc.strerror or ""
    ek = oserrors.classify(exc.errno, message, platform)
    failure = Failure(
        op,
        tuple(paths),
        exc.errno,
        message,
        "",
        errno_name=ek.name if ek else None,
        errno_kind=ek.kind if ek else None,
        platform=platform,
    )
    return explain_one(failure, Signals(), user, root, just_now=True)


__all__ = [  # the package's face: what the CLI, the app, the test-write and the tests use
    "MAX_FAILURES",
    "Explanation",
    "Failure",
    "check_create",
    "check_open",
    "check_rename",
    "describe_op",
    "escape",
    "explain_error",
    "explain_failures",
    "explain_one",
    "explain_text",
    "message_cache_root",
    "parse",
    "primary",
    "rank_causes",
    "signals",
]
