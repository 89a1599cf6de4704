"""The causes real reports established (tests/data/explain_corpus.json), and how the text ranks
them for one failure (`rank_causes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.diagnosis.explain.reading import (
    Failure,
    Signals,
    message_cache_root,
    path_role,
)
from uv_cache_inspector.core.model import Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# -- causes -------------------------------------------------------------------------------------


class Cause(NamedTuple):
    code: str  # the finding code (stable identifiers, see README)
    title: str
    fix_kind: str
    fix: str


CAUSES: dict[str, Cause] = {
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


HEADLINES = {
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
