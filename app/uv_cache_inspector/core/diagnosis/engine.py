"""The rules: cache + environment -> findings, each with a plain sentence and a concrete fix.

Every failure mode of failure-modes.md that can be seen from this machine has a rule here (the
Windows-only ones are detected from the error text by `explain`). Rules are small functions of
one `Inputs`; shallow rules need only the quick look (they run first and stream within a fraction
of a second on any cache size), deep rules need the full scan. A finding is identified by
(code, path): a deep rule may refine a shallow finding (adding counts and sizes).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.layout import (
    BucketSet,
    classify,
    describe_uv_range,
    format_version,
    parse_bucket,
)
from uv_cache_inspector.core.cache.location import CacheLocation
from uv_cache_inspector.core.cache.lock import LockState
from uv_cache_inspector.core.cache.uv_binaries import UvBinary
from uv_cache_inspector.core.diagnosis.quick import QuickLook
from uv_cache_inspector.core.model import (
    ArchiveKind,
    BucketStatus,
    CancelToken,
    Finding,
    LinkState,
    Owner,
    Progress,
    Severity,
    Snapshot,
)
from uv_cache_inspector.core.platform import EnvFacts, FsFacts
from uv_cache_inspector.core.platform.access import (
    UvUser,
    explain_denial,
    group_name,
    is_shared,
    may,
    mode_fix,
    ownership_fix,
    requirement,
    resolve_user,
    shared_group_fix,
    sticky_blocks,
    user_name,
)
from uv_cache_inspector.core.platform.processes import ProcInfo

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
DEFAULT_ORPHAN_AGE = 3600.0
LOW_SPACE_WARN = 2 * 1024**3
LOW_SPACE_ERROR = 256 * 1024**2
LOW_INODES_WARN = 50_000
LOW_INODES_ERROR = 5_000
NOFILE_MIN = 1024
UV_FIRST_LOCKING = (0, 8, 19)
GROUP_OVER = 5  # more findings than this of one code under one directory become one finding


@dataclass
class Inputs:
    root: str
    quick: QuickLook
    facts: EnvFacts
    lock: LockState
    user: UvUser
    binaries: list[UvBinary]
    bucket_set: BucketSet
    now: float
    location: CacheLocation | None = None
    orphan_age: float = DEFAULT_ORPHAN_AGE
    venv: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    snapshot: Snapshot | None = None
    tmp_users: dict[str, list[ProcInfo]] = field(default_factory=dict)

    def rel(self, path: str) -> tuple[str, ...]:
        rel = os.path.relpath(path, self.quick.real_root)
        return () if rel == "." else tuple(rel.split(os.sep))

    def short(self, path: str) -> str:
        """A path as the user reads it: relative to the cache root when inside it."""
        rel = self.rel(path)
        if rel and rel[0] != "..":
            return "/".join(rel)
        return fmt.user_path(path)


def finding(
    code: str,
    severity: Severity,
    path: str | None,
    message: str,
    fix: str | None,
    *,
    count: int = 0,
    nbytes: int = 0,
    **details: Any,
) -> Finding:
    return Finding(code, severity, path, message, fix, details, nbytes, count)


def _q(path: str) -> str:
    """Quote a path for a shell command the user pastes."""
    return "'" + path.replace("'", "'\\''") + "'"


# -- location and layout ---------------------------------------------------------------------


def rule_not_a_cache(inp: Inputs) -> Iterable[Finding]:
    q = inp.quick
    if q.looks_like_uv_cache():
        if not q.has_tag:
            yield finding(
                F.MISSING_CACHEDIR_TAG,
                INFO,
                inp.root,
                "The cache has no CACHEDIR.TAG; uv writes one on its next run, and backup tools "
                "use it to skip the cache.",
                "Nothing to do: the next uv command recreates it.",
            )
        return
    if not q.nodes:
        return  # an empty directory: uv's next run fills it
    yield finding(
        F.NOT_A_UV_CACHE,
        ERROR,
        inp.root,
        f"{fmt.user_path(inp.root)} does not look like a uv cache: it has "
        f"{q.not_a_cache_reason()}, so the inspector will not change anything in it.",
        "Run `uv cache dir` to see where uv keeps its cache, and open that directory.",
    )


def rule_location(inp: Inputs) -> Iterable[Finding]:
    loc = inp.location
    if loc is None:
        return
    if loc.disagreement:
        yield finding(
            F.LOCATION_DISAGREEMENT,
            WARNING,
            inp.root,
            loc.disagreement,
            "Check UV_CACHE_DIR and any uv.toml / [tool.uv] cache-dir settings.",
        )
    if loc.no_cache_note:
        yield finding(
            F.UV_NO_CACHE,
            INFO,
            None,
            loc.no_cache_note,
            "Unset UV_NO_CACHE if uv should use this cache.",
        )
    for w in loc.warnings:
        yield finding(F.LOCATION_WARNING, WARNING, None, w, "Unset it or give it a value.")
    if inp.quick.root != inp.quick.real_root:
        yield finding(
            F.CACHE_IS_SYMLINK,
            INFO,
            inp.root,
            f"The cache directory is a link to {fmt.user_path(inp.quick.real_root)}; uv follows "
            "it, and everything below must be on that filesystem.",
            None,
        )


def _bucket_sizes(inp: Inputs) -> dict[str, tuple[int, int]]:
    if inp.snapshot is None:
        return {}
    return {b.name: (b.bytes, b.files) for b in inp.snapshot.buckets}


def rule_buckets(inp: Inputs) -> Iterable[Finding]:
    sizes = _bucket_sizes(inp)
    newest = format_version(inp.bucket_set.uv_version)
    for name in inp.quick.buckets:
        status, note = classify(name, inp.bucket_set)
        path = os.path.join(inp.quick.real_root, name)
        nbytes, files = sizes.get(name, (0, 0))
        size = f" It takes {fmt.size(nbytes)}." if nbytes else ""
        if status is BucketStatus.STALE:
            yield finding(
                F.STALE_BUCKET,
                INFO,
                path,
                f"{name} was {note}; uv {newest} no longer reads it.{size}",
                "`uvci prune` (like `uv cache prune`) removes it.",
                count=files,
                nbytes=nbytes,
                written_by=note,
            )
        elif status is BucketStatus.UNKNOWN:
            yield finding(
                F.UNKNOWN_BUCKET,
                INFO,
                path,
                f"{name} is {note} (uv {newest}): another uv writes this cache, so it is left "
                "alone.",
                "Nothing to do; see which uv versions use this cache (`uv --version`).",
                count=files,
                nbytes=nbytes,
            )


def rule_mixed_versions(inp: Inputs) -> Iterable[Finding]:
    by_kind: dict[str, list[int]] = {}
    for name in inp.quick.buckets:
        parsed = parse_bucket(name)
        if parsed and parsed[0] != "archive":
            by_kind.setdefault(parsed[0], []).append(parsed[1])
    mixed = {k: sorted(v) for k, v in by_kind.items() if len(v) > 1}
    versions = sorted({b.version for b in inp.binaries if b.version})
    if mixed:
        kinds = ", ".join(f"{k}-v{'/v'.join(map(str, v))}" for k, v in sorted(mixed.items()))
        ranges = sorted(
            {describe_uv_range(k, v[-1]) for k, v in mixed.items()}
            | {describe_uv_range(k, v[0]) for k, v in mixed.items()}
        )
        yield finding(
            F.MIXED_UV_VERSIONS,
            WARNING,
            inp.root,
            f"Several uv releases write this cache ({kinds}): each release's `uv cache prune` "
            "deletes the other's buckets, and an older uv can fail on entries a newer one wrote.",
            "Use one uv version for this cache, or give each its own UV_CACHE_DIR.",
            buckets=mixed,
            written_by=ranges,
        )
    elif len(versions) > 1:
        found = ", ".join(
            f"{b.version_str} ({fmt.user_path(b.path)})" for b in inp.binaries if b.version
        )
        yield finding(
            F.MIXED_UV_VERSIONS,
            WARNING,
            None,
            f"This machine has several uv versions ({found}); if more than one uses this cache, "
            "each one's prune deletes the other's buckets.",
            "Remove the old uv, or give it its own UV_CACHE_DIR.",
            versions=[format_version(v) for v in versions],
        )
    old = [b for b in inp.binaries if b.version and b.version < UV_FIRST_LOCKING]
    for b in old:
        yield finding(
            F.UV_WITHOUT_LOCK,
            WARNING,
            b.path,
            f"uv {b.version_str} at {fmt.user_path(b.path)} is older than 0.8.19 and takes no "
            "cache lock: a prune while it installs can delete what it is using.",
            "Upgrade it (`uv self update`) or remove it.",
        )


# -- permissions -----------------------------------------------------------------------------


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
    return sorted(_permission_findings(inp), key=severity_rank)


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
    """A setgid, group-writable cache whose directories lost g+w (failure-modes F4)."""
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


# -- locks, processes, temporary directories --------------------------------------------------


def rule_lock(inp: Inputs) -> Iterable[Finding]:
    lock = inp.lock
    if lock.supported is False:
        yield finding(
            F.LOCK_UNSUPPORTED,
            WARNING,
            lock.path,
            f"This filesystem does not support the locks uv uses ({lock.error}): uv carries on "
            "with a warning, and a prune or clean while uv runs can break installs.",
            "Keep the cache on a local filesystem (UV_CACHE_DIR), or never prune while uv runs.",
        )
    if lock.held:
        who = ", ".join(h.label() for h in lock.holders) or "a uv process the inspector cannot see"
        long_running = [
            h
            for h in lock.holders
            if h.process and h.process.started and inp.now - h.process.started > 3600
        ]
        if lock.exclusive:
            yield finding(
                F.CACHE_IN_USE,
                WARNING,
                lock.path,
                f"uv is cleaning or pruning this cache right now ({who}); other uv commands wait "
                "for it.",
                "Wait for it to finish before changing anything.",
                holders=[h.label() for h in lock.holders],
            )
        else:
            extra = ""
            if long_running:
                since = fmt.since(
                    long_running[0].process.started if long_running[0].process else None, inp.now
                )
                extra = (
                    f" {long_running[0].label()} has held it since {since}: "
                    "`uv cache prune` will wait for it (uv run and uvx hold the lock "
                    "for their whole life)."
                )
            yield finding(
                F.CACHE_IN_USE,
                INFO,
                lock.path,
                f"uv is using this cache right now: {who}.{extra}",
                "Repairs and prunes wait until uv is done (or use --force, at your own risk).",
                holders=[h.label() for h in lock.holders],
            )


def _tmp_candidates(inp: Inputs) -> list[tuple[str, float, int, int, str]]:
    """(path, age seconds, bytes, files, location) of every .tmp* we know of."""
    if inp.snapshot is not None:
        return [
            (t.path, t.age_seconds, t.bytes, t.files, t.location) for t in inp.snapshot.tmp_dirs
        ]
    return [(n.path, inp.now - n.mtime, 0, 0, "root") for n in inp.quick.tmp_dirs]


def rule_orphaned_tmp(inp: Inputs) -> Iterable[Finding]:
    sees_all = hasattr(os, "geteuid") and os.geteuid() == 0
    uncertain = (
        bool(inp.lock.held)
        and not sees_all
        and any(
            h.process is None or (h.process.username and h.process.username != inp.user.name)
            for h in inp.lock.holders
        )
    )
    for path, age, nbytes, files, location in _tmp_candidates(inp):
        users = inp.tmp_users.get(path, [])
        if users:
            continue  # a live process has files (or its working directory) in there
        if age < inp.orphan_age:
            continue  # too recent: probably a uv run in progress
        if uncertain:
            continue  # uv runs as someone whose open files we cannot see: do not guess
        where = "the cache root" if location == "root" else location
        size = f", {fmt.size(nbytes)}" if nbytes else ""
        pruned = location == "root"
        yield finding(
            F.ORPHANED_TMP,
            WARNING,
            path,
            f"{inp.short(path)} in {where} is a temporary folder left behind by an interrupted "
            f"uv run ({fmt.age(age)} old{size}); nothing uses it.",
            "`uvci repair` removes it"
            + (" (so does `uv cache prune`)." if pruned else " (`uv cache prune` leaves it)."),
            count=files,
            nbytes=nbytes,
            age_seconds=round(age),
            location=location,
        )


# -- filesystem and environment ---------------------------------------------------------------


def _fs_label(fs: FsFacts) -> str:
    where = f" at {fmt.user_path(fs.mount_point)}" if fs.mount_point else ""
    return f"{fs.fstype or 'unknown filesystem'}{where}"


def rule_mounts_inside(inp: Inputs) -> Iterable[Finding]:
    """A filesystem mounted inside the cache (a bind mount has the cache's own st_dev)."""
    for mp in inp.facts.mounts_inside:
        yield finding(
            F.MOUNT_INSIDE_CACHE,
            WARNING,
            mp,
            f"{inp.short(mp)} is a mount point inside the cache: `uv cache clean` (or rm -rf) "
            "would delete whatever is mounted there. uvci refuses to delete through it.",
            f"Unmount it (`sudo umount {_q(mp)}`) or mount it somewhere outside the cache.",
        )


def rule_read_only(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.read_only:
        yield finding(
            F.READ_ONLY_FILESYSTEM,
            ERROR,
            inp.root,
            f"The cache is on a read-only filesystem ({_fs_label(fs)}): uv cannot take its lock "
            'or unpack anything, so it fails with "Read-only file system (os error 30)".',
            "Set UV_CACHE_DIR (and TMPDIR) to a writable directory, for example inside your "
            "project, or use `uv --no-cache` (which still needs a writable TMPDIR).",
            fstype=fs.fstype,
            mount_point=fs.mount_point,
            options=list(fs.options),
        )
    tmp = inp.facts.tmpdir
    if tmp.read_only:
        yield finding(
            F.READ_ONLY_FILESYSTEM,
            WARNING,
            tmp.path,
            f"TMPDIR ({fmt.user_path(tmp.path)}) is read-only: `uv --no-cache` and builds that "
            "need a scratch directory fail.",
            "Point TMPDIR at a writable directory.",
        )


def rule_network(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.network and not fs.wsl1:
        yield finding(
            F.NETWORK_FILESYSTEM,
            WARNING,
            inp.root,
            f"The cache is on a network or FUSE filesystem ({_fs_label(fs)}): its locks may not "
            "exclude other machines, and entries can vanish under uv (uv issues #18073, #6147).",
            "Use a local directory for UV_CACHE_DIR (a node-local disk on clusters).",
            fstype=fs.fstype,
        )


def rule_wsl(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if inp.facts.wsl == 1 or fs.wsl1:
        yield finding(
            F.WSL1_FILESYSTEM,
            WARNING,
            inp.root,
            'This is WSL1, whose filesystem refuses some directory renames with "Permission '
            "denied\" while files inside are open or hard-linked, which is how uv's rename into "
            "archive-v0 fails (uv issue #11018).",
            "Use WSL2 (`wsl --set-version <distro> 2`) and keep the cache in the Linux "
            "filesystem, not under /mnt/c.",
            fstype=fs.fstype,
        )


def rule_tmp_cleaner(inp: Inputs) -> Iterable[Finding]:
    """A cache where systemd-tmpfiles deletes old files (failure-modes F7, uv issue #6147)."""
    if not os.path.isdir("/usr/lib/tmpfiles.d") and not os.path.isdir("/etc/tmpfiles.d"):
        return
    from uv_cache_inspector.core.platform import posix

    real = inp.quick.real_root
    rule = posix.cleaning_rule(real, posix.tmpfiles_rules())
    if rule is not None and rule[2] not in {"-", "0", ""}:
        kind, where, age = rule
        yield finding(
            F.CACHE_IN_TMP,
            WARNING,
            inp.root,
            f"systemd-tmpfiles deletes files under {where} that were not used for {age}: "
            'archives vanish under uv, and installs fail with "failed to read directory ... '
            'No such file or directory" (uv issue #6147).',
            "Keep the cache elsewhere (the default ~/.cache/uv), or exclude it with an `x` line "
            "in /etc/tmpfiles.d.",
            rule=f"{kind} {where} {age}",
        )
    elif (rule is not None and rule[0] == "D") or inp.facts.cache.fstype == "tmpfs":
        yield finding(
            F.CACHE_IN_TMP,
            INFO,
            inp.root,
            "The cache is emptied at every reboot (a tmpfs, or a directory cleared at boot): uv "
            "downloads everything again afterwards.",
            "Fine for CI; for a workstation keep the cache in ~/.cache/uv.",
        )


def rule_disk_space(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.free_bytes is not None and fs.total_bytes and fs.free_bytes < LOW_SPACE_WARN:
        sev = ERROR if fs.free_bytes < LOW_SPACE_ERROR else WARNING
        yield finding(
            F.LOW_DISK_SPACE,
            sev,
            inp.root,
            f"Only {fmt.size(fs.free_bytes)} is free on the cache's disk: uv needs room to "
            'unpack wheels and fails with "No space left on device (os error 28)".',
            "Free space: `uvci prune` removes what uv no longer uses (see its plan first).",
            free_bytes=fs.free_bytes,
            total_bytes=fs.total_bytes,
        )
    if fs.free_inodes is not None and fs.total_inodes and fs.free_inodes < LOW_INODES_WARN:
        sev = ERROR if fs.free_inodes < LOW_INODES_ERROR else WARNING
        yield finding(
            F.LOW_DISK_SPACE,
            sev,
            inp.root + os.sep,
            f"Only {fs.free_inodes:,} inodes are free on the cache's filesystem: creating files "
            'fails with "No space left on device" even with bytes to spare.',
            "`uvci prune` removes unused entries (each file costs an inode).",
            free_inodes=fs.free_inodes,
        )


def rule_open_files(inp: Inputs) -> Iterable[Finding]:
    soft = inp.facts.limits.nofile_soft
    if soft is not None and soft < NOFILE_MIN:
        yield finding(
            F.OPEN_FILE_LIMIT,
            WARNING,
            None,
            f"This shell allows only {soft} open files: uv opens many at once and can fail with "
            '"Too many open files (os error 24)".',
            "Raise it before running uv: `ulimit -n 4096`.",
            soft=soft,
            hard=inp.facts.limits.nofile_hard,
        )


def rule_cross_device(inp: Inputs) -> Iterable[Finding]:
    root_dev = inp.quick.root_node.device
    for n in inp.quick.nodes:
        if len(n.rel) == 1 and n.owner.is_dir and n.device != root_dev and not n.is_symlink:
            yield finding(
                F.CROSS_DEVICE,
                ERROR,
                n.path,
                f"{n.rel[0]} is on a different filesystem than the cache root, so uv's rename of "
                'new entries into it fails with "Invalid cross-device link (os error 18)".',
                f"Keep the whole cache on one filesystem: move {n.rel[0]} back under the cache "
                "root (or move the root onto its filesystem).",
            )
    if inp.snapshot is not None:
        for b in inp.snapshot.buckets:
            if b.is_symlink and b.device is not None and b.device != root_dev:
                yield finding(
                    F.CROSS_DEVICE,
                    ERROR,
                    b.path,
                    f"{b.name} is a link to another filesystem: uv's rename of new entries into "
                    'it fails with "Invalid cross-device link (os error 18)".',
                    "Replace the link with a real directory on the cache's filesystem.",
                )
    venv = inp.facts.venv
    cache = inp.facts.cache
    if venv is not None and venv.device is not None and venv.device != cache.device:
        yield finding(
            F.CROSS_DEVICE,
            WARNING,
            venv.path,
            f"The environment {fmt.user_path(venv.path)} is on a different filesystem "
            f"({_fs_label(venv)}) than the cache ({_fs_label(cache)}): uv cannot hard-link "
            'and copies every file ("Failed to hardlink files; falling back to full copy").',
            "Keep projects and the cache on one filesystem, or set UV_LINK_MODE=copy to "
            "accept the copies quietly.",
        )
    if cache.no_hardlinks:
        yield finding(
            F.NO_HARDLINKS,
            INFO,
            inp.root,
            f"The cache's filesystem ({cache.fstype}) has no hard links: uv copies every file "
            "into each environment.",
            "Move the cache to a filesystem with hard links (ext4, APFS, NTFS).",
        )


# -- deep rules (need the full scan) ---------------------------------------------------------


def rule_links(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    # Links in buckets the newest uv does not read cannot break it (prune removes those
    # buckets whole): only current buckets' links are worth a finding.
    current = {b.name for b in snap.buckets if b.status is not BucketStatus.STALE}
    live = [e for e in snap.entries if e.bucket in current]
    dangling = [e for e in live if e.state is LinkState.DANGLING]
    moved = [e for e in live if e.state is LinkState.MOVED]
    outside = [e for e in live if e.state is LinkState.OUTSIDE]
    for e in dangling:
        yield finding(
            F.DANGLING_LINK,
            WARNING,
            e.path,
            f"{inp.short(e.path)} ({e.package or 'unknown'} {e.version or ''}) points at archive "
            f"{e.archive_id}, which no longer exists: uv re-downloads it, or fails with "
            '"failed to read directory" (uv issue #6147).',
            "`uvci repair` removes the dangling link.",
            archive=e.archive_id,
        )
    for e in moved:
        yield finding(
            F.ABSOLUTE_LINKS,
            WARNING,
            e.path,
            f"{inp.short(e.path)} is an absolute link into another cache location "
            f"({e.raw_target}): the cache was moved or shared with a container, and uv treats "
            "the entry as missing.",
            "`uvci repair` removes such links (uv re-downloads); uv >= 0.11.17 writes relative "
            "links that survive a move.",
            target=e.raw_target,
        )
    for e in outside:
        yield finding(
            F.LINK_OUTSIDE_CACHE,
            WARNING,
            e.path,
            f"{inp.short(e.path)} points outside the cache ({e.raw_target}); uv never writes "
            "such links.",
            "Remove it (`uvci repair`); the inspector never follows it.",
            target=e.raw_target,
        )
    for e in snap.entries:
        if e.state is LinkState.CORRUPT:
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                e.path,
                f"{inp.short(e.path)} should be a link file (archive-v0/<id>) but cannot be read "
                "as one.",
                "`uvci repair` removes it; uv re-creates the entry on the next install.",
            )


def rule_archives(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    unref = [a for a in snap.archives if not a.referenced]
    if unref:
        total = sum(a.bytes for a in unref)
        envs = sum(1 for a in unref if a.kind is ArchiveKind.ENVIRONMENT)
        extra = f", {envs} of them cached environments" if envs else ""
        yield finding(
            F.UNREFERENCED_ARCHIVE,
            INFO,
            os.path.join(snap.real_root, "archive-v0"),
            f"{fmt.plural(len(unref), 'unpacked archive')} ({fmt.size(total)}{extra}) "
            f"{'is' if len(unref) == 1 else 'are'} no longer linked from any current entry; "
            f"`uv cache prune` would delete {'it' if len(unref) == 1 else 'them'}.",
            "`uvci prune` removes them (it shows its plan first).",
            count=len(unref),
            nbytes=total,
        )
    unreadable = [m.path for m in snap.marks if m.reason == "unreadable"]
    for a in snap.archives:
        incomplete = [p for p in a.problems if p.startswith(("incomplete", "empty"))]
        prefix = a.path + os.sep
        if incomplete and any(u == a.path or u.startswith(prefix) for u in unreadable):
            # We could not read all of it (another user's, in a shared cache): that says
            # nothing about whether it is complete; the permission rules report it instead.
            continue
        if incomplete or a.kind is ArchiveKind.FILE:
            who = f" ({a.package} {a.version or ''})" if a.package else ""
            yield finding(
                F.INCOMPLETE_ARCHIVE,
                WARNING,
                a.path,
                f"Archive {a.id}{who} is {'; '.join(incomplete or list(a.problems))}: an "
                "interrupted write or a partial restore left it, and installing from it fails.",
                "`uvci repair` removes it with the links that name it; uv unpacks it again.",
                referenced=a.referenced,
            )
        mismatch = [p for p in a.problems if p.startswith("linked as")]
        if mismatch:
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                a.path,
                f"Archive {a.id} is {mismatch[0]}.",
                "`uvci repair` removes it with the links that name it.",
            )


def rule_corrupt(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    for p in snap.problems:
        if p.kind == "corrupt":
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                p.path,
                f'{inp.short(p.path)} is damaged ({p.detail}): uv fails with "Failed to '
                'deserialize cache entry" or refetches it.',
                "`uvci repair` removes it; uv re-creates it on the next install.",
            )
        elif p.kind == "pointer-dangling":
            yield finding(
                F.DANGLING_LINK,
                WARNING,
                p.path,
                f"{inp.short(p.path)} {p.detail}.",
                "`uvci repair` removes it; uv downloads the package again when needed.",
            )
    for shard in snap.shards:
        if shard.pointer_problem and shard.pointer_problem != "missing":
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                shard.path,
                f"The revision pointer of {inp.short(shard.path)} is damaged "
                f"({shard.pointer_problem}).",
                "`uvci repair` removes the shard; uv builds the source distribution again.",
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


def rule_verified(inp: Inputs) -> Iterable[Finding]:
    """When `uvci verify` last ran, and the archives it found modified that are still as it
    found them (core.verify; read from the user's state directory, nothing is hashed)."""
    from uv_cache_inspector.core.diagnosis.verify import summary_findings

    return summary_findings(inp.quick.real_root, inp.now)


SHALLOW_RULES: tuple[Callable[[Inputs], Iterable[Finding]], ...] = (
    rule_not_a_cache,
    rule_permissions,
    rule_read_only,
    rule_mounts_inside,
    rule_lock,
    rule_cross_device,
    rule_wsl,
    rule_network,
    rule_disk_space,
    rule_location,
    rule_open_files,
    rule_tmp_cleaner,
    rule_mixed_versions,
    rule_buckets,
    rule_shared_cache,
    rule_verified,
)
DEEP_RULES: tuple[Callable[[Inputs], Iterable[Finding]], ...] = (
    rule_permissions,
    rule_shared_cache,
    rule_orphaned_tmp,
    rule_buckets,
    rule_links,
    rule_archives,
    rule_corrupt,
    rule_unreadable,
    rule_cross_device,
)
# Orphans need to know who has files open; that costs a process walk, so it runs after the
# first findings are out (but before the deep scan when there are root .tmp* to judge).
TMP_RULES = (rule_orphaned_tmp,)


def group(findings: list[Finding], over: int = GROUP_OVER) -> list[Finding]:
    """Many findings of one code under one directory become one finding naming the directory."""
    buckets: dict[tuple[str, str], list[Finding]] = {}
    order: list[tuple[str, str]] = []
    for f in findings:
        parent = os.path.dirname(f.path) if f.path else ""
        key = (f.code, parent)
        if key not in buckets:
            order.append(key)
        buckets.setdefault(key, []).append(f)
    out: list[Finding] = []
    for key in order:
        items = buckets[key]
        if len(items) <= over or not key[1]:
            out.extend(items)
            continue
        first = items[0]
        severity = min((f.severity for f in items), key=[ERROR, WARNING, INFO].index)
        nbytes = sum(f.bytes for f in items)
        size = f" ({fmt.size(nbytes)})" if nbytes else ""
        out.append(
            Finding(
                code=first.code,
                severity=severity,
                path=key[1],
                message=f"{len(items)} entries in {os.path.basename(key[1])}{size}: "
                f"{first.message}",
                fix=first.fix,
                details={
                    "paths": [f.path for f in items],  # all of them: repair acts on each
                    "count": len(items),
                    **{k: v for k, v in first.details.items() if k != "paths"},
                },
                bytes=nbytes,
                count=len(items),
            )
        )
    return out


def severity_rank(f: Finding) -> int:
    return [ERROR, WARNING, INFO].index(f.severity)


@dataclass
class Diagnosis:
    root: str
    findings: list[Finding]
    inputs: Inputs
    snapshot: Snapshot | None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is ERROR]

    # What the CLI and the app need from the inputs, without reaching into them.
    @property
    def real_root(self) -> str:
        return self.inputs.quick.real_root

    @property
    def user(self) -> UvUser:
        """The user uv runs as (the cache's owner, SUDO_UID, --owner)."""
        return self.inputs.user

    @property
    def root_owner(self) -> Owner:
        return self.inputs.quick.root_node.owner

    @property
    def bucket_set(self) -> BucketSet:
        return self.inputs.bucket_set

    @property
    def lock(self) -> LockState:
        return self.inputs.lock


def _key(f: Finding) -> tuple[str, str | None]:
    return f.code, f.path


def diagnose(
    root: str,
    *,
    location: CacheLocation | None = None,
    binaries: Callable[[], list[UvBinary]] | list[UvBinary] | None = None,
    bucket_set: Callable[[], BucketSet] | BucketSet | None = None,
    venv: str | None = None,
    owner: str | None = None,
    orphan_age: float = DEFAULT_ORPHAN_AGE,
    cancel: CancelToken | None = None,
    deep: bool = True,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    scan_pool: Any = None,
    link_style: str | None = None,
) -> Generator[Finding | Progress, None, Diagnosis]:
    """Yield findings as soon as they are known (shallow ones first), then progress of the deep
    scan and the deep findings; return the Diagnosis. A finding yielded again (same code and
    path) replaces the earlier one."""
    from uv_cache_inspector.core import platform as plat
    from uv_cache_inspector.core.cache import lock as lockmod
    from uv_cache_inspector.core.cache.layout import NEWEST_KNOWN, buckets_for
    from uv_cache_inspector.core.diagnosis.quick import quick_look

    token = cancel or CancelToken()
    yield Progress("quick look", message=root)
    quick = quick_look(root)
    facts = plat.gather(quick.real_root, venv)
    lock = lockmod.probe(quick.real_root)
    user = resolve_user(quick.root_node.owner, owner, env)
    bins = binaries() if callable(binaries) else list(binaries or [])
    bs = bucket_set() if callable(bucket_set) else bucket_set
    if bs is None:
        bs = buckets_for(NEWEST_KNOWN)
    inp = Inputs(
        root=root,
        quick=quick,
        facts=facts,
        lock=lock,
        user=user,
        binaries=bins,
        bucket_set=bs,
        now=time.time(),
        location=location,
        orphan_age=orphan_age,
        venv=venv,
        env=dict(os.environ if env is None else env),
    )
    emitted: dict[tuple[str, str | None], Finding] = {}

    def emit(items: Iterable[Finding]) -> Generator[Finding, None, None]:
        for f in items:
            k = _key(f)
            if emitted.get(k) != f:
                emitted[k] = f
                yield f

    if not quick.looks_like_uv_cache() and quick.nodes:
        # Not a uv cache: nothing else applies, and nothing here will be touched.
        yield from emit(rule_not_a_cache(inp))
        return Diagnosis(root, _final(emitted), inp, None)
    for rule in SHALLOW_RULES:
        yield from emit(rule(inp))
    if quick.tmp_dirs:
        from uv_cache_inspector.core.platform import processes

        inp.tmp_users = processes.using(n.path for n in quick.tmp_dirs)
        for rule in TMP_RULES:
            yield from emit(rule(inp))
    if not deep:
        return Diagnosis(root, _final(emitted), inp, None)
    if token.cancelled():
        from uv_cache_inspector.core.errors import CancelledError

        raise CancelledError("diagnosis cancelled")

    from uv_cache_inspector.core.cache.scan import scan

    gen = scan(
        quick.real_root,
        bucket_set=bs,
        cancel=token,
        workers=workers,
        read_pointers=True,
        pool=scan_pool,
        link_style=link_style,
    )
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            snap: Snapshot = stop.value
            break
        yield p
    inp.snapshot = snap
    tmp_paths = [t.path for t in snap.tmp_dirs if t.age_seconds >= orphan_age]
    if tmp_paths:
        from uv_cache_inspector.core.platform import processes

        inp.tmp_users = processes.using(tmp_paths)
    deep_findings: list[Finding] = []
    for rule in DEEP_RULES:
        deep_findings.extend(rule(inp))
    deep_findings = group(deep_findings)
    # The deep scan sees inside a .tmp* (a file written a minute ago means a uv run is still
    # busy there): a shallow orphan verdict it does not confirm is withdrawn.
    confirmed = {_key(f) for f in deep_findings}
    for k in [k for k in emitted if k[0] == "orphaned-tmp" and k not in confirmed]:
        del emitted[k]
    yield from emit(deep_findings)
    return Diagnosis(root, _final(emitted), inp, snap)


def _final(emitted: Mapping[tuple[str, str | None], Finding]) -> list[Finding]:
    findings = list(emitted.values())
    # A grouped finding replaces the individual ones it covers.
    grouped = {(f.code, p) for f in findings for p in f.details.get("paths", [])}
    findings = [f for f in findings if (f.code, f.path) not in grouped]
    return sorted(findings, key=lambda f: (severity_rank(f), f.code, f.path or ""))
