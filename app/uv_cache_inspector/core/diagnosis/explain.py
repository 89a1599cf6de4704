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
from typing import Any, NamedTuple

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis import oserrors, uvtext
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

MAX_EXPLAINED = 50  # failures explained in one go (more are listed, not checked)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed operation uv reported."""

    op: str
    paths: tuple[str, ...]  # (source, target) for two-path operations, else (target,)
    errno: int | None
    os_message: str
    line: str
    chain: tuple[str, ...] = ()  # the whole chain, outermost first
    context: tuple[str, ...] = ()  # what uv was doing around it (cache_write, install, ...)
    resource: str | None = None  # what a lock protects
    kind: str = "error"  # error, warning, log, tree, inline
    errno_name: str | None = None
    errno_kind: str | None = None
    platform: str = "unknown"
    retried: bool = False
    line_no: int = 0


# -- parsing ------------------------------------------------------------------------------------

_PRIMARY_OPS = {
    "rename",
    "hardlink",
    "copy",
    "symlink",
    "clone",
    "open",
    "create_file",
    "create_dir",
    "remove_file",
    "remove_dir",
    "read_dir",
    "write",
    "read",
    "metadata",
    "canonicalize",
    "readlink",
    "chmod",
    "lock",
    "lock_wait",
    "lock_timeout",
    "extract",
    "persist",
    "walk",
    "spawn",
    "deserialize",
    "create_temp",
    "initialize",
    "clear",
}
_KIND_RANK = {"error": 3, "tree": 3, "inline": 3, "warning": 2, "log": 1}


def _platform_of(paths: Iterable[str], texts: Iterable[str]) -> str:
    for p in paths:
        if p.startswith("\\\\") or (len(p) > 2 and p[1] == ":" and p[2] in "\\/"):
            return "windows"
        if "\\" in p and "/" not in p:
            return "windows"
    for p in paths:
        if p.startswith(("/Users/", "/var/folders/", "/Library/", "/private/var/")):
            return "macos"
        if p.startswith("/mnt/") and len(p) > 6 and p[6] == "/" and p[5].isalpha():
            return "linux"
        if p.startswith("/"):
            return "linux"
    for t in texts:
        if (
            "Access is denied" in t
            or "The process cannot access" in t
            or "Incorrect function" in t
            or "The system cannot" in t
        ):
            return "windows"
    return "unknown"


def _failure_from(report: uvtext.Report, progress: uvtext.Message | None) -> Failure | None:
    items = uvtext.split_inline_causes(report.items)
    msgs = [uvtext.parse_item(it.text, it.line) for it in items]
    if not msgs:
        return None
    op_i = -1
    for i, m in enumerate(msgs):
        if m.op in _PRIMARY_OPS:
            op_i = i
    ctx_i = -1
    for i, m in enumerate(msgs):
        if m.context:
            ctx_i = i
    err_i = -1
    start = max(op_i, 0)
    for i in range(start, len(msgs)):
        if msgs[i].errno is not None:
            err_i = i
            break
    if err_i < 0:
        for i in range(len(msgs) - 1, -1, -1):
            if msgs[i].errno is not None:
                err_i = i
                break
    if op_i < 0 and err_i < 0 and ctx_i < 0:
        return None
    if report.kind == "log" and err_i < 0 and op_i < 0:
        return None
    contexts = tuple(m.context for m in msgs if m.context)
    if op_i >= 0:
        head = msgs[op_i]
        op = head.op or "unknown"
        paths = head.paths
        resource = head.resource
    elif ctx_i >= 0:
        head = msgs[ctx_i]
        op = head.context or "unknown"
        paths = head.paths
        resource = head.resource
    else:
        head = msgs[err_i]
        op, paths, resource = "unknown", (), None
        if progress is not None and progress.context:
            op, paths = progress.context, progress.paths
            contexts = (progress.context,)
    if (
        op_i < 0
        and ctx_i >= 0
        and not paths
        and progress is not None
        and progress.context
        and "create_venv" in (head.context, op)
    ):
        paths = progress.paths
    # an "at path" below a context names the path ("Could not create temporary file" / "...
    # (os error 30) at path X")
    if not paths and err_i >= 0 and msgs[err_i].paths:
        paths = msgs[err_i].paths
        if op in ("unknown", "create_temp") or op_i < 0:
            op = msgs[err_i].op or op
    if op == "unknown" and op_i < 0 and err_i >= 0 and msgs[err_i].op:
        op = msgs[err_i].op or op
    err = msgs[err_i] if err_i >= 0 else None
    errno = err.errno if err else None
    os_message = err.os_message if err else ""
    texts = [m.text for m in msgs]
    platform = _platform_of(paths, texts)
    ek = (
        oserrors.classify(errno, os_message, platform)
        if (errno is not None or os_message)
        else None
    )
    if err is not None and err is not head:
        line = f"{head.text}: {err.text}" if head.text != err.text else head.text
    else:
        line = head.text
    return Failure(
        op=op,
        paths=paths,
        errno=errno,
        os_message=os_message,
        line=line,
        chain=tuple(texts),
        context=contexts,
        resource=resource,
        kind=report.kind,
        errno_name=ek.name if ek else None,
        errno_kind=ek.kind if ek else None,
        platform=platform,
        retried=any(m.retried for m in msgs),
        line_no=head.line,
    )


MAX_FAILURES = 1000  # distinct failures read from the start before jumping to the end
TAIL = 256 * 1024  # how much of the end is read when the middle is skipped


def _collect(
    text: str,
    out: dict[tuple[str, tuple[str, ...], int | None], Failure],
    limit: int | None,
) -> bool:
    """Read reports into `out`; False when it stopped at `limit` failures."""
    progress: uvtext.Message | None = None
    since_progress = 0
    for report in uvtext.reports(text):
        if report.kind == "progress":
            progress = uvtext.parse_item(report.items[0].text, report.items[0].line)
            since_progress = 0
            continue
        since_progress += 1
        f = _failure_from(report, progress if since_progress <= 3 else None)
        if f is None:
            continue
        key = (f.op, f.paths, f.errno)
        old = out.get(key)
        if old is None or _KIND_RANK.get(f.kind, 0) > _KIND_RANK.get(old.kind, 0):
            if old is not None:
                del out[key]
            out[key] = f
        if limit is not None and len(out) >= limit:
            return False
    return True


def parse(
    text: str | bytes | uvtext.Prepared, stats: dict[str, Any] | None = None
) -> list[Failure]:
    """Every failed operation in uv's output (errors, causes, warnings, log lines), each once,
    in the order uv printed them. After MAX_FAILURES distinct failures (no uv run prints that
    many), the middle is skipped and the last TAIL characters are read, where uv's final error
    is; `stats["skipped_middle"]` then says so."""
    prepared = text if isinstance(text, uvtext.Prepared) else uvtext.prepare(text)
    out: dict[tuple[str, tuple[str, ...], int | None], Failure] = {}
    complete = _collect(prepared.text, out, MAX_FAILURES)
    if not complete and len(prepared.text) > TAIL:
        tail = prepared.text[-TAIL:]
        tail = tail[tail.find("\n") + 1 :]
        _collect(tail, out, None)
        if stats is not None:
            stats["skipped_middle"] = len(prepared.text) - TAIL
    return list(out.values())


def primary(failures: Sequence[Failure]) -> Failure | None:
    """The failure that stopped uv: the last error with an error number or an operation,
    before warnings and log lines."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for i, f in enumerate(failures):
        rank = _KIND_RANK.get(f.kind, 0)
        if f.kind in ("warning", "log") and f.errno is not None:
            rank = 2
        score = (rank, 1 if (f.errno is not None or f.op != "unknown") else 0, i)
        if best is None or score > best:
            best, chosen = score, f
    return chosen


# -- what the text shows ------------------------------------------------------------------------

_MNT = re.compile(r"/mnt/[a-z]/")
_TEMP_DIRS = ("/tmp/", "/var/tmp/", "/var/folders/")  # noqa: S108 (names, not used as paths)
_VENV_PROMPT = re.compile(r"(?m)^\([\w.-]{1,40}\) ")
_BUCKET = re.compile(
    r"(?:archive|sdists|wheels|built-wheels|simple|git|interpreter|builds|environments|"
    r"binaries|python|flat-index|uv-setuptools)-v\d{1,3}"
)
_TMP = re.compile(r"\.tmp[A-Za-z0-9]{6}")


@dataclass(frozen=True, slots=True)
class Signals:
    """What the whole pasted text shows besides the failure itself."""

    sudo: bool = False
    chmod_read_only: bool = False
    sandbox: str | None = None
    container: bool = False
    wsl: bool = False
    wsl1: bool = False
    network_fs: bool = False
    several_uv: bool = False
    venv_active: bool = False
    user_switch: bool = False
    exfat: bool = False
    antivirus: bool = False
    retries: bool = False
    onedrive: bool = False

    def to_json(self) -> dict[str, Any]:
        from dataclasses import fields

        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def signals(text: str) -> Signals:
    low = text.lower()
    sandbox = None
    for marker, name in (
        ("⎿", "Claude Code"),
        ("● bash(", "Claude Code"),
        ("claude", "Claude Code"),
        ("• ran ", "Codex"),
        ("codex", "Codex"),
        ("sandbox-exec", "macOS sandbox"),
        ("seatbelt", "macOS sandbox"),
        ("landlock", "Landlock"),
        ("flatpak", "Flatpak"),
        ("bwrap", "bubblewrap"),
        ("firejail", "firejail"),
        ("sandbox", "a sandbox"),
    ):
        if marker in low:
            sandbox = name
            break
    return Signals(
        sudo="sudo " in low,
        chmod_read_only=any(
            s in low for s in ("chmod -r a-w", "chmod a-w", "chmod -w", "chmod -r -w", "chmod 555")
        ),
        sandbox=sandbox,
        container=any(
            s in low
            for s in (
                "docker",
                "podman",
                "container",
                "dockerfile",
                "/opt/app-root",
                "/workspaces/",
                "kubectl",
            )
        )
        or ("-1  " in text and "| error" in text),
        wsl=bool(_MNT.search(text)) or "wsl" in low or "-microsoft" in low,
        wsl1=("-microsoft" in low and "microsoft-standard" not in low) or "wsl1" in low,
        network_fs=any(
            s in low
            for s in (" nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "compute node", "slurm")
        ),
        several_uv=text.count("Start-Process") >= 2
        or any(s in low for s in ("ninja", "parallel", "simultaneous", "concurrent")),
        venv_active=bool(_VENV_PROMPT.search(text)) or "activate" in low,
        user_switch=any(s in low for s in ("sudo su ", "su - ", "sudo -u", "runuser", "\nuser ")),
        exfat=any(s in low for s in ("exfat", "fat32", "vfat", "memory card", "sd card")),
        antivirus=any(
            s in low
            for s in ("antivirus", "defender", "edr", "trellix", "avast", "crowdstrike", "sophos")
        ),
        retries="retrying rename" in low or "retrying to persist" in low,
        onedrive="onedrive" in low,
    )


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[\\/]", path) if s]


def message_cache_root(failure: Failure) -> str | None:
    """The cache the message's paths are in, as printed (None when they name none)."""
    for p in failure.paths + ((failure.resource,) if failure.resource else ()):
        if not p:
            continue
        norm = p.replace("\\", "/")
        for m in _BUCKET.finditer(norm):
            if m.start() > 0 and norm[m.start() - 1] == "/":
                end = m.end()
                if end == len(norm) or norm[end] == "/":
                    return p[: m.start() - 1] or "/"
        m2 = _TMP.search(norm)
        if m2 and m2.start() > 0 and norm[m2.start() - 1] == "/":
            parent = norm[: m2.start() - 1]
            if "cache" in parent.lower() and "/share/uv/" not in norm:
                return p[: m2.start() - 1]
        low = norm.lower().rstrip("/")
        for suffix in ("/.cache/uv", "/uv/cache", "/caches/uv", "/uv-cache", "/uvcache"):
            if low.endswith(suffix) and failure.op in ("create_dir", "initialize", "lock"):
                return p
        if low.endswith(("/.cache/uv/.lock", "/uv/cache/.lock")):
            return p[: -len("/.lock")]
    if failure.op in ("initialize", "clear") and failure.paths:
        return failure.paths[0]
    return None


def _under(path: str, root: str) -> bool:
    a = path.replace("\\", "/").rstrip("/")
    b = root.replace("\\", "/").rstrip("/")
    return a == b or a.startswith(b + "/")


def path_role(path: str, cache_root: str | None) -> str:
    """What a path in the message is: cache, venv, system-python, tools, pythons, temp,
    windows-apps, dev-null, other."""
    norm = path.replace("\\", "/")
    low = norm.lower()
    if low.startswith("/dev/null/") or low == "/dev/null":
        return "dev-null"
    if "/windowsapps/" in low:
        return "windows-apps"
    if cache_root and _under(path, cache_root):
        return "cache"
    if "/share/uv/tools" in low or "/uv/tools/" in low:
        return "tools"
    if "/share/uv/python" in low or low.startswith(("/uv/python", "/opt/uv/python")):
        return "pythons"
    segs = _segments(low)
    if ".venv" in segs or "venv" in segs or "/envs/" in low or "site-packages" in segs:
        if low.startswith(("/usr/lib/python", "/usr/local/lib/python", "/usr/lib64/python")):
            return "system-python"
        if "program files/python" in low or low.startswith("c:/python"):
            return "system-python"
        return "venv"
    if low.startswith(("/usr/local/bin/", "/usr/bin/")):
        return "system-python"
    if low.startswith(_TEMP_DIRS) or "/appdata/local/temp/" in low:
        return "temp"
    if "/.cache/uv" in low or "/uv/cache" in low or "/caches/uv" in low:
        return "cache"
    return "other"


# -- causes -------------------------------------------------------------------------------------


class Cause(NamedTuple):
    code: str  # the finding code (stable identifiers, see README)
    title: str
    fix_kind: str
    fix: str


_CAUSES: dict[str, Cause] = {
    "foreign-owner": Cause(
        F.FOREIGN_OWNER,
        "a folder or file there belongs to another user (typically after `sudo uv`, or an "
        "image built as root and run as a user)",
        "repair",
        "",
    ),
    "permission-denied": Cause(
        F.PERMISSION_DENIED,
        "the user uv ran as may not do this there; the text alone does not say why",
        "diagnose",
        "Run `uvci doctor` and `uvci test-write` on the machine where uv failed, as the user "
        "who ran uv: they check ownership, modes, the filesystem and the lock as uv sees them.",
    ),
    "bad-mode": Cause(
        F.PERMISSION_DENIED,
        "a directory in the cache lost its permission bits (a failed build leaves "
        "`d-w-------` directories that cannot be listed or deleted)",
        "repair",
        "",
    ),
    "read-only-cache": Cause(
        F.PERMISSION_DENIED,
        "the cache was made read-only (its write permission bits were removed); uv writes even "
        "to a warm cache (its lock, sdists-v*/.git, temporary directories)",
        "repair",
        "",
    ),
    "sandbox": Cause(
        F.SANDBOX,
        "a sandbox around uv (an agent's sandbox, Landlock, the macOS seatbelt, Flatpak) "
        "forbids writing to uv's cache; nothing on disk needs to be wrong",
        "sandbox",
        "Allow the sandbox to write to uv's cache (add it to the writable roots), or set "
        "UV_CACHE_DIR (and TMPDIR) to a directory inside the sandbox's workspace. `--no-cache` "
        "still needs a writable TMPDIR.",
    ),
    "read-only-filesystem": Cause(
        F.READ_ONLY_FILESYSTEM,
        "the filesystem is mounted read-only (a read-only container root, a read-only bind mount)",
        "writable-location",
        "Point UV_CACHE_DIR and TMPDIR (and UV_TOOL_DIR, UV_PYTHON_INSTALL_DIR for tools and "
        "Pythons) at a writable volume.",
    ),
    "system-environment": Cause(
        F.SYSTEM_ENVIRONMENT,
        "uv was installing into a system Python that this user may not (or nobody may) "
        "modify; it is not uv's cache",
        "use-venv",
        "Install into a virtual environment (`uv venv`, `uv sync`) instead of the system "
        "Python (`--system`), or run uv as the user who owns that Python.",
    ),
    "no-links-filesystem": Cause(
        F.FILESYSTEM_WITHOUT_LINKS,
        "the filesystem has no symbolic or hard links (exFAT, FAT32, some network shares, a "
        "Windows drive seen from WSL)",
        "native-filesystem",
        "Keep the project (and the cache) on a filesystem with links (ext4, APFS, NTFS), not "
        "exFAT/FAT or a network share. UV_LINK_MODE=copy avoids hard links, but a virtual "
        "environment still needs a symlink to its Python.",
    ),
    "mount-point": Cause(
        F.MOUNT_POINT,
        "the directory is a mount point (a Docker volume mounted on .venv): it cannot be "
        "removed, only emptied",
        "mount-point",
        "Upgrade uv (since PR #16394 it empties a .venv it cannot remove), or remove the volume "
        "and let uv create .venv again.",
    ),
    "file-in-use": Cause(
        F.FILE_IN_USE,
        "a program runs from there (an activated environment, python.exe, an IDE's language "
        "server, uv itself installed in it); Windows cannot delete or replace a running file",
        "close-programs",
        "Close what runs from that environment (deactivate it, stop python.exe, the IDE's "
        "server, or run a uv installed elsewhere) and retry.",
    ),
    "antivirus": Cause(
        F.ANTIVIRUS,
        "security software (antivirus, EDR, the search indexer) holds the new files open "
        "while uv moves or writes them; uv retries on Windows, but not long enough for some "
        "scanners",
        "exclude-av",
        "Exclude uv's cache and your environments from real-time scanning (Defender: "
        "Add-MpPreference -ExclusionPath), then retry; if company security software does it, "
        "ask IT for the exclusion.",
    ),
    "concurrent-uv": Cause(
        F.CONCURRENT_UV,
        "several uv processes wrote the same cache files at once; Windows cannot replace a file "
        "another process has open",
        "concurrent-uv",
        "Upgrade uv (0.5.25 and later lock these files) and give parallel jobs or containers "
        "their own UV_CACHE_DIR.",
    ),
    "cross-device": Cause(
        F.CROSS_DEVICE,
        "the cache and the target are on different filesystems (another partition, drive, "
        "Docker volume or mount); renames and hard links cannot cross them",
        "same-filesystem",
        "Keep the cache and your environments on one filesystem (set UV_CACHE_DIR next to the "
        "project), or set UV_LINK_MODE=copy to copy on purpose.",
    ),
    "multi-user-cache": Cause(
        F.SHARED_CACHE_PERMISSIONS,
        "the cache is shared by several users: Linux refuses a hard link to a file you do not "
        "own and cannot write (protected_hardlinks)",
        "shared-cache",
        "Give each user their own cache (UV_CACHE_DIR per user), or set the cache up for a "
        "group (setgid, group-writable, uv run with umask 002; `uvci repair` restores it).",
    ),
    "name-too-long": Cause(
        F.NAME_TOO_LONG,
        "a file name in the cache is longer than the filesystem allows (encrypted homes allow "
        "about 143 bytes)",
        "shorter-path",
        "Move the cache to a filesystem with longer names (UV_CACHE_DIR outside an encrypted "
        "home directory).",
    ),
    "trailing-space": Cause(
        F.LOCATION_TRAILING_SPACE,
        "the cache path has a stray space (UV_CACHE_DIR set with a trailing space, kept by "
        "quotes in a .env or CI file)",
        "set-env",
        "Remove the space from UV_CACHE_DIR.",
    ),
    "wsl1": Cause(
        F.WSL1_FILESYSTEM,
        "WSL1's filesystem refuses to rename a directory while files in it are open or "
        "hard-linked (microsoft/WSL#1420)",
        "wsl2",
        "Use WSL2 with the cache on its Linux filesystem (not /mnt/c).",
    ),
    "network-filesystem": Cause(
        F.NETWORK_FILESYSTEM,
        "the cache is on a network filesystem: a stale handle means the file was removed or "
        "replaced on the server",
        "local-cache",
        "Use a cache on a local disk (UV_CACHE_DIR on local or node-local scratch storage).",
    ),
    "lock-unsupported": Cause(
        F.LOCK_UNSUPPORTED,
        "the filesystem (NFS, a cluster filesystem) does not support the lock uv takes, or "
        "takes it differently (uv 0.10.3 on NFSv4)",
        "local-cache",
        "Put UV_CACHE_DIR on a local disk (/tmp or node-local scratch), or use a uv release "
        "without the NFS regression.",
    ),
    "disk-full": Cause(
        F.LOW_DISK_SPACE,
        "the filesystem was full",
        "free-space",
        "Free space there (`uvci prune` removes what uv no longer uses), or move the cache "
        "with UV_CACHE_DIR.",
    ),
    "disk-quota": Cause(
        F.DISK_QUOTA,
        "your disk quota there is used up",
        "free-space",
        "Free space within the quota (`uvci prune`), or move the cache to a filesystem "
        "without that quota.",
    ),
    "lock-contention": Cause(
        F.CACHE_IN_USE,
        "another uv process holds the cache lock (`uv run` and `uvx` hold it as long as they "
        "run; `uv cache clean`/`prune` wait for all of them)",
        "lock-holder",
        "Stop or wait for the other uv (`uvci doctor` names it), or give each CI job its own "
        "UV_CACHE_DIR; `--force` is at your own risk.",
    ),
    "missing-entry": Cause(
        F.MISSING_ENTRY,
        "an entry the cache points to is gone: removed by a tmp cleaner, a concurrent `uv cache "
        "clean`, or a partially restored CI cache",
        "clean-entry",
        "`uvci repair` removes entries that point at missing archives (or `uv cache clean "
        "<package>`); on CI, restore the whole cache or none of it.",
    ),
    "missing-directory": Cause(
        F.MISSING_DIRECTORY,
        "a directory uv writes into did not exist (the cache directory, or TMPDIR)",
        "upgrade-uv",
        "Create the directory (`mkdir -p` the cache or TMPDIR), or upgrade uv (recent releases "
        "create the cache directory first).",
    ),
    "mixed-uv-versions": Cause(
        F.MIXED_UV_VERSIONS,
        "another uv version wrote that cache entry and this one cannot read it",
        "one-uv-version",
        "Use one uv version per cache (pin it in CI); `uvci doctor` lists the versions that "
        "wrote the cache and `uvci repair` removes damaged entries (or `uv cache clean`).",
    ),
    "open-file-limit": Cause(
        F.OPEN_FILE_LIMIT,
        "uv hit the limit on open files (macOS defaults to 256, many Linux systems to 1024)",
        "ulimit",
        "Raise the limit before running uv: `ulimit -n 4096`.",
    ),
    "out-of-memory": Cause(
        F.OUT_OF_MEMORY,
        "the kernel refused the copy for lack of memory (seen on WSL with free memory; not "
        "established)",
        "fewer-concurrent",
        "Retry with fewer parallel installs (UV_CONCURRENT_INSTALLS=1) and check the memory "
        "limits (WSL: .wslconfig).",
    ),
    "onedrive": Cause(
        F.ONEDRIVE,
        "OneDrive (cloud files) refuses hard links to files it manages: the cache or the "
        "project is in, or was touched by, OneDrive",
        "onedrive",
        "Keep the cache and projects out of OneDrive folders; `uv cache clean <package>` (or "
        "`uvci prune`) replaces the affected entries.",
    ),
    "bad-home": Cause(
        F.BAD_HOME,
        "uv's directories come from a home directory the user does not have: HOME is / (a "
        "container uid without a passwd entry), /root for a non-root user, or /dev/null",
        "set-cache-dir",
        "Give uv a real home or explicit directories: set HOME, or UV_CACHE_DIR (and "
        "XDG_CONFIG_HOME) to directories that user owns; in a Dockerfile, create them for the "
        "runtime user.",
    ),
    "windows-store-python": Cause(
        F.WINDOWS_STORE_PYTHON,
        "the Python is the Microsoft Store's app-execution alias (WindowsApps), which other "
        "programs may not copy or inspect",
        "install-python",
        "Use another Python: `uv python install`, or the python.org installer; turn the alias "
        "off in Settings > Apps > App execution aliases.",
    ),
    "bad-python-path": Cause(
        F.BAD_PYTHON_PATH,
        "UV_PYTHON, VIRTUAL_ENV or --python points at something that is not a Python",
        "set-env",
        "Fix the variable or option that names the interpreter (or unset VIRTUAL_ENV).",
    ),
    "command-not-runnable": Cause(
        F.COMMAND_NOT_RUNNABLE,
        "what uv was asked to run is not an executable program here (a directory, a missing "
        "script found through an unreadable PATH entry, a file without the execute bit or on "
        "a noexec mount)",
        "check-command",
        "Check the command: run a script with `uv run python foo.py` (or make it executable); "
        "on WSL, Windows folders in PATH can hide a missing program.",
    ),
    "reflink": Cause(
        F.REFLINK_FAILED,
        "cloning (reflinking) files failed on this filesystem",
        "link-mode",
        "Set UV_LINK_MODE=hardlink (or copy) so uv stops cloning files here.",
    ),
    "io-error": Cause(
        F.OS_ERROR,
        "the operating system reported an error uvci has no story for",
        "diagnose",
        "Run `uvci doctor` and `uvci test-write` on the machine where uv failed.",
    ),
}


_HEADLINES = {
    "foreign-owner": "Part of it belongs to another user",
    "permission-denied": "Permission refused, and the text does not say why",
    "bad-mode": "A directory in the cache lost its permissions",
    "read-only-cache": "The cache was made read-only",
    "sandbox": "A sandbox forbids writing to uv's cache",
    "read-only-filesystem": "The filesystem is read-only",
    "system-environment": "The target is a system Python, not uv's cache",
    "no-links-filesystem": "The filesystem has no links (exFAT, FAT, a share)",
    "mount-point": "The directory is a mount point",
    "file-in-use": "A program is running from there",
    "antivirus": "Security software holds the files",
    "concurrent-uv": "Several uv processes wrote at once",
    "cross-device": "Two filesystems: renames and links cannot cross",
    "multi-user-cache": "A cache shared by several users",
    "name-too-long": "A file name is too long for the filesystem",
    "trailing-space": "A stray space in the cache path",
    "wsl1": "WSL1's filesystem",
    "network-filesystem": "The network filesystem lost the file",
    "lock-unsupported": "The filesystem cannot take uv's lock",
    "disk-full": "The disk was full",
    "disk-quota": "The disk quota is used up",
    "lock-contention": "Another uv holds the cache lock",
    "missing-entry": "A cache entry is gone",
    "missing-directory": "A directory was missing",
    "mixed-uv-versions": "Another uv version wrote the cache",
    "open-file-limit": "Too many open files",
    "out-of-memory": "The kernel refused memory",
    "onedrive": "OneDrive refuses the hard links",
    "bad-home": "No usable home directory",
    "windows-store-python": "The Microsoft Store Python",
    "bad-python-path": "That is not a Python",
    "command-not-runnable": "Not a program that can run",
    "reflink": "Cloning files failed",
    "io-error": "An error uvci has no story for",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    cause: str
    why: str  # what in the text (or on disk) points at it


def _denied_causes(f: Failure, sig: Signals, roles: list[str], root: str | None) -> list[Candidate]:
    """EACCES/EPERM and Windows' access denied."""
    out: list[Candidate] = []
    op = f.op
    paths = [p.replace("\\", "/") for p in f.paths]
    low = [p.lower() for p in paths]
    windows = f.platform == "windows"

    def add(cause: str, why: str) -> None:
        if all(c.cause != cause for c in out):
            out.append(Candidate(cause, why))

    if sig.sandbox:
        add("sandbox", f"the text is a transcript from {sig.sandbox}")
    if "windows-apps" in roles:
        add("windows-store-python", "the path is in WindowsApps (the Microsoft Store's Python)")
    if "dev-null" in roles:
        add(
            "bad-python-path" if op in ("spawn", "canonicalize") else "bad-home",
            "the path is under /dev/null",
        )
    if windows:
        if op in ("remove_dir", "remove_file") and (
            "venv" in roles or any(p.endswith(".exe") for p in low)
        ):
            add("file-in-use", "Windows refused to delete part of an environment")
            if sig.venv_active:
                out.insert(0, Candidate(F.FILE_IN_USE, "the prompt shows the environment active"))
        if op == "persist" or (sig.several_uv and op in ("cache_write", "unknown", "persist")):
            if sig.several_uv:
                add("concurrent-uv", "several uv processes ran at once")
            add("concurrent-uv", "Windows refused to replace a cache file (another uv reading it)")
        if op == "spawn" and "windows-apps" not in roles:
            add(
                "antivirus",
                "Windows refused to start the interpreter: security software or a policy blocks it",
            )
        add("antivirus", "Windows refused access to files uv had just written")
        add("file-in-use", "or another program has them open")
        return out
    if op == "spawn":
        target = paths[0] if paths else ""
        if target in (".", "..") or target.endswith("/"):
            add("command-not-runnable", "the command is a directory")
        elif target == "/dev/null":
            add("bad-python-path", "the interpreter path is /dev/null")
        else:
            add("command-not-runnable", "the system refused to execute the command")
        return out
    if op == "symlink" or (op == "create_venv" and f.errno_name == "EPERM"):
        add("no-links-filesystem", "creating a symlink was refused (exFAT/FAT/SMB have none)")
    if op == "hardlink" and f.errno_name == "EPERM":
        if sig.user_switch or (root and not any(s in (root or "") for s in ("/home/", "/Users/"))):
            add(
                "multi-user-cache",
                "a hard link to a cache file was refused: the file belongs "
                "to another user of a shared cache",
            )
        add("no-links-filesystem", "or the filesystem has no hard links")
        add("multi-user-cache", "or the cache is shared by several users")
    if "system-python" in roles and op in (
        "remove_file",
        "remove_dir",
        "write",
        "create_file",
        "create_dir",
        "rename",
        "copy",
    ):
        add("system-environment", "the path is a system Python's")
    if sig.chmod_read_only:
        add("read-only-cache", "the text shows the cache made read-only (chmod a-w)")
    for p in low:
        if p == "/.cache/uv" or p.startswith("/.cache/"):
            add("bad-home", "the cache is /.cache/uv: HOME is /")
        if p.startswith("/root/") and f.errno_kind == "denied":
            add("bad-home", "root's home is refused, so uv did not run as root")
        if p.startswith("/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/"):
            add(
                "foreign-owner",
                "the path is root's temporary directory on macOS (its TMPDIR "
                "was inherited from root)",
            )
    clearing = any("ailed to clear cache" in t or "ailed to prune cache" in t for t in f.chain)
    if op in ("walk", "read_dir", "remove_dir", "remove_file") and clearing:
        add("bad-mode", "uv could not list or delete a directory while clearing the cache")
    if (
        op in ("create_dir", "initialize")
        and root
        and paths
        and (paths[-1].rstrip("/") == root.replace("\\", "/").rstrip("/"))
    ):
        add(
            "foreign-owner",
            "uv could not create its cache directory: the folder above it belongs to another user",
        )
    if sig.sudo or sig.user_switch:
        add("foreign-owner", "the text shows sudo/another user")
    if sig.container:
        add(
            "foreign-owner",
            "in a container, the user at run time differs from the one that built the image",
        )
    if f.platform == "macos" and f.errno_name == "EPERM":
        add(
            "sandbox",
            "macOS says 'Operation not permitted' (not 'Permission denied') for sandbox denials",
        )
    if op == "canonicalize":
        add(
            "foreign-owner",
            "following the interpreter's links crosses a directory this user "
            "may not enter (often a Python installed under /root, mode 700)",
        )
    top_level = [p for p in paths if p.startswith("/") and p.count("/") == 1 and len(p) > 1]
    if top_level and op in ("remove_dir", "remove_file", "create_dir", "create_file", "rename"):
        add(
            "foreign-owner",
            f"{top_level[0]} is directly under /, which belongs to root: only "
            "root may create or remove it",
        )
    outside = [r for r in roles if r in ("tools", "pythons", "temp", "other")]
    if outside and op in ("create_dir", "create_file", "open", "create_temp", "lock"):
        add("foreign-owner", "a directory outside the cache belongs to another user")
    if sig.wsl and op == "rename":
        add("wsl1", "WSL: WSL1 refuses renames of directories with open files")
    if not out:
        add("permission-denied", "the text does not say who owns what")
    if (
        out[0].cause != "permission-denied"
        and op == "rename"
        and not (sig.sudo or sig.container or sig.sandbox or sig.chmod_read_only)
    ):
        out.insert(0, Candidate(F.PERMISSION_DENIED, "nothing in the text says why"))
    if out[0].cause == "permission-denied":
        add("foreign-owner", "most often: part of the cache belongs to root after `sudo uv`")
        add("read-only-cache", "or the cache was made read-only")
        add("sandbox", "or a sandbox forbids the write")
        if f.platform in ("linux", "unknown"):
            add("wsl1", "or WSL1's rename bug")
    return out


def rank_causes(f: Failure, sig: Signals, root: str | None = None) -> list[Candidate]:
    """The causes the text points at, most likely first."""
    kind = f.errno_kind
    op = f.op
    mroot = message_cache_root(f) or root
    roles = [path_role(p, mroot) for p in f.paths]
    out: list[Candidate] = []

    def add(cause: str, why: str) -> None:
        if all(c.cause != cause for c in out):
            out.append(Candidate(cause, why))

    # a stray space in a path: UV_CACHE_DIR="... " (the path has a segment ending in a space)
    for p in f.paths:
        for seg in re.split(r"[\\/]", p):
            if seg and seg != seg.rstrip(" ") and not seg.endswith(" to"):
                add("trailing-space", "a directory in the path ends with a space")
    if op == "deserialize":
        add("mixed-uv-versions", "uv could not read a cache entry another uv wrote")
        return out
    if op in ("lock_wait", "lock_timeout"):
        add("lock-contention", "uv waited for the lock another uv holds")
        if sig.network_fs:
            add("lock-unsupported", "or locks behave differently on the network filesystem")
        return out
    if kind is None and f.errno is None:
        if op == "hardlink":
            if sig.onedrive:
                add("onedrive", "the text mentions OneDrive")
            add("cross-device", "uv fell back to copying: hard links from the cache failed")
            add("no-links-filesystem", "or the filesystem has no hard links")
            return out
        if op == "clone":
            add("cross-device", "uv fell back to copying: the filesystem cannot clone")
            add("reflink", "or cloning is not supported there")
            return out
        if op == "copy":
            add("cross-device", "uv could not move the directory and did not copy it")
            return out
        if op == "rename" and f.retried:
            add("antivirus", "uv retried the rename: something held the files")
            return out
        add("io-error", "uv printed no error number")
        return out
    if kind == "denied":
        out.extend(
            c for c in _denied_causes(f, sig, roles, mroot) if all(o.cause != c.cause for o in out)
        )
        return out
    if kind == "rofs":
        if sig.sandbox:
            add("sandbox", f"the text is a transcript from {sig.sandbox}")
        if "system-python" in roles:
            add("system-environment", "the path is a system Python's")
        if not sig.container and any(
            r == "cache" and p.replace("\\", "/").startswith(("/home/", "/Users/", "/root/"))
            for r, p in zip(roles, f.paths, strict=True)
        ):
            add(
                "sandbox",
                "a cache in a home directory is rarely on a read-only mount; agent "
                "sandboxes show it read-only",
            )
        add("read-only-filesystem", "the filesystem is read-only")
        add("sandbox", "or a sandbox shows the cache as read-only")
        return out
    if kind == "nospace":
        add("disk-full", "no space left on the device")
        return out
    if kind == "quota":
        add("disk-quota", "the disk quota is exceeded")
        return out
    if kind == "exdev":
        add("cross-device", "the operation crossed filesystems (drives)")
        return out
    if kind == "busy":
        if f.errno_name == "ETXTBSY":
            add("file-in-use", "the file is a running program")
        add("mount-point", "the directory is busy: a mount point")
        return out
    if kind in ("in-use", "mapped"):
        if kind == "mapped":
            add("antivirus", "another program mapped the new file (scanners do)")
            add("file-in-use", "or a program has it open")
            return out
        if (
            f.errno_name == "ERROR_LOCK_VIOLATION"
            and (sig.several_uv or op in ("cache_write", "persist", "unknown"))
            and "install" not in f.context
        ):
            add("concurrent-uv", "another uv locked part of a cache file")
        if "venv" in roles and f.errno_name == "ERROR_SHARING_VIOLATION":
            add("file-in-use", "a program runs from the environment")
        add("antivirus", "security software holds the file")
        add("file-in-use", "or another program has it open")
        add("concurrent-uv", "or another uv writes the same file")
        return out
    if kind == "noent":
        if sig.container and op == "rename" and len(f.paths) == 2:
            add("cross-device", "a rename across Docker volumes can fail with 'not found'")
        for p in f.paths:
            if " " in p and p.split("/")[-1] != p.split("/")[-1].strip():
                add("trailing-space", "a path ends with a space")
        if op == "create_temp":
            add("missing-directory", "the directory for the temporary file did not exist")
            return out
        if "cache" in roles or mroot:
            add("missing-entry", "a cache entry uv expected was gone")
        add("missing-directory", "a directory on the way did not exist")
        return out
    if kind == "notdir":
        if "dev-null" in roles:
            add(
                "bad-python-path"
                if op in ("canonicalize", "spawn") or "spawn" in f.context
                else "bad-home",
                "a directory on the way is /dev/null",
            )
        add("bad-home", "a file stands where a directory should be")
        return out
    if kind == "nametoolong":
        add("name-too-long", "the name is too long for the filesystem")
        return out
    if kind == "emfile":
        add("open-file-limit", "too many open files")
        return out
    if kind in ("badf", "nosys", "nolock") and op == "lock":
        add("lock-unsupported", "the lock call failed on this filesystem")
        return out
    if kind == "stale":
        add("network-filesystem", "a stale file handle (NFS)")
        return out
    if kind == "notsup":
        if op == "lock":
            add("lock-unsupported", "the filesystem does not support locks")
            return out
        if op == "clone":
            add("reflink", "cloning is not supported here")
        add("no-links-filesystem", "the filesystem lacks a feature uv uses (links)")
        return out
    if kind == "nomem":
        add("out-of-memory", "the kernel returned 'Cannot allocate memory'")
        return out
    if kind == "again":
        if op == "clone":
            add("reflink", "cloning returned 'Resource temporarily unavailable'")
        elif op == "lock":
            add("lock-contention", "the lock is held")
        else:
            add("io-error", "a transient failure")
        return out
    if kind == "cloud":
        add("onedrive", "Windows says the file is a cloud file with incompatible hard links")
        return out
    if kind == "cantaccess":
        if "windows-apps" in roles:
            add("windows-store-python", "the file is the Store Python's alias")
        add("antivirus", "Windows cannot access the file")
        return out
    if kind == "io" and f.platform == "windows":
        add("antivirus", "Windows refused access")
        return out
    if kind in ("badf", "nosys", "nolock"):
        add("lock-unsupported", "the filesystem rejected the call")
        return out
    add("io-error", f"os error {f.errno}")
    return out


# -- checking preconditions on this machine ------------------------------------------------------


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
        sdev = os.stat(src if os.path.exists(src) else _existing_parent(src)).st_dev
        ddev = os.stat(dst_parent if os.path.exists(dst_parent) else _existing_parent(dst)).st_dev
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
        parent = _existing_parent(path)
    f = _denied(f"creating {what}", parent, "wx", user, root, f"create {what}")
    return [f] if f else []


def check_open(path: str, user: UvUser, root: str | None) -> list[Finding]:
    if not os.path.lexists(path):
        return check_create(path, user, root, "a file")
    want = "rw" if os.path.basename(path).endswith(".lock") or path.endswith(".git") else "r"
    f = _denied("opening", path, want, user, root, "open")
    return [f] if f else []


def _check_walk(path: str, user: UvUser, root: str | None) -> list[Finding]:
    """Listing and deleting a directory needs read+search on it (and write to delete)."""
    if os.path.isdir(path) and not os.path.islink(path):
        f = _denied("listing a directory", path, "rx", user, root, "read directory")
        if f:
            return [f]
    return check_create(path, user, root, "or removing an entry")


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
        return _CAUSES[self.cause].title

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
            "headline": _HEADLINES.get(self.cause, self.cause),
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
    c = _CAUSES[cause]
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
            checked.append(f"write permission on {fmt.user_path(_existing_parent(local[-1]))}")
        elif op in ("open", "lock"):
            found = check_open(local[-1], user, root)
            checked.append(f"read/write permission on {fmt.user_path(local[-1])}")
        elif op in ("remove_file", "remove_dir"):
            found = check_create(local[-1], user, root, "or removing an entry")
            checked.append(f"write permission on {fmt.user_path(os.path.dirname(local[-1]))}")
        elif op in ("walk", "read_dir", "clear"):
            found = _check_walk(local[-1], user, root)
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
                    _CAUSES["read-only-filesystem"].fix,
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
                    _CAUSES["wsl1"].fix,
                    {"operation": op, "fstype": facts.fstype},
                )
            )
    if kind == "exdev" or (op == "hardlink" and f.errno is None and len(local) == 2):
        try:
            a = os.stat(local[0] if os.path.exists(local[0]) else _existing_parent(local[0]))
            b = os.stat(_existing_parent(local[-1]))
            checked.append("whether both ends are on one filesystem")
            if a.st_dev != b.st_dev:
                found.append(
                    Finding(
                        F.CROSS_DEVICE,
                        ERROR,
                        local[-1],
                        f"{fmt.user_path(local[0])} and {fmt.user_path(local[-1])} are on "
                        "different filesystems.",
                        _CAUSES["cross-device"].fix,
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
                    _CAUSES["mount-point"].fix,
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
                        _CAUSES["disk-full"].fix,
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
                    _CAUSES["lock-unsupported"].fix,
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
        in_message_cache = mroot is not None and _under(p, mroot)
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
    c = _CAUSES[cause]
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
