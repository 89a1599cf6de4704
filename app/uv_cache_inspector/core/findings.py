"""Every finding code, in one registry: what it means, how bad it can be, and what fixes it.

A code is a stable public identifier (the JSON's `code`, the README's table). Everything that
makes a finding, tests for one or picks its fix uses the constants below, never the string:
a misspelt name fails at import, a misspelt string would never match. `tests/core/test_codes.py`
checks that every code made anywhere is registered, that every registered code is made
somewhere, that no call site reports a code worse than its `severity`, and that the README's
table is `markdown_table()`.

Families follow where the diagnosis looks (diagnosis/engine.py); `explain` codes are causes
that only a failure uv reported can show (diagnosis/explain/), `verify` codes come from
hashing archives (diagnosis/verify.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from uv_cache_inspector.core.model import Finding, Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    family: str  # one of FAMILIES
    severity: Severity  # the worst it is ever reported at
    help: str  # what it means, in one line (the README's table)
    fix: str | None = None  # "repair" or "prune": the tool of ours that fixes it; None: no tool
    housekeeping: bool = False  # a tidy-up, not a risk (the window's banner keeps them apart)


FAMILIES = {
    "permissions": "ownership and permissions",
    "filesystem": "the filesystem and the machine",
    "versions": "uv releases and their buckets",
    "entries": "the entries themselves",
    "situation": "the situation around the cache",
    "verify": "contents, from `uvci verify`",
    "explain": "only from `explain`: causes of a failure uv reported",
}

REGISTRY: dict[str, Code] = {}


def _code(
    code: str,
    family: str,
    severity: Severity,
    help: str,  # noqa: A002 - the field's name
    fix: str | None = None,
    *,
    housekeeping: bool = False,
) -> str:
    assert code not in REGISTRY, code
    assert family in FAMILIES, family
    REGISTRY[code] = Code(code, family, severity, help, fix, housekeeping)
    return code


# -- ownership and permissions ------------------------------------------------------------------
FOREIGN_OWNER = _code(
    "foreign-owner",
    "permissions",
    ERROR,
    "a place uv writes belongs to another user (after `sudo uv`, an image built as root)",
    "repair",
)
PERMISSION_DENIED = _code(
    "permission-denied",
    "permissions",
    ERROR,
    "uv, running as its user, is refused what it needs there (modes), with what lies below",
    "repair",
)
SHARED_CACHE_PERMISSIONS = _code(
    "shared-cache-permissions",
    "permissions",
    ERROR,
    "a cache shared by a group (setgid, group-writable) where a folder lost the group's rights",
    "repair",
)
UNREADABLE = _code(
    "unreadable", "permissions", WARNING, "a part of the cache this program could not read"
)

# -- the filesystem and the machine -------------------------------------------------------------
READ_ONLY_FILESYSTEM = _code(
    "read-only-filesystem", "filesystem", ERROR, "the cache is on a read-only mount"
)
CROSS_DEVICE = _code(
    "cross-device",
    "filesystem",
    ERROR,
    "a bucket, or uv's temporary folder, on another filesystem than the cache (renames fail)",
)
NETWORK_FILESYSTEM = _code(
    "network-filesystem", "filesystem", WARNING, "the cache is on NFS, SMB or FUSE"
)
WSL1_FILESYSTEM = _code("wsl1-filesystem", "filesystem", ERROR, "the cache is on WSL1's filesystem")
LOW_DISK_SPACE = _code(
    "low-disk-space", "filesystem", ERROR, "the cache's disk is (nearly) out of space or inodes"
)
OPEN_FILE_LIMIT = _code(
    "open-file-limit", "filesystem", WARNING, "`ulimit -n` is lower than uv needs"
)
LOCK_UNSUPPORTED = _code(
    "lock-unsupported", "filesystem", ERROR, "the filesystem refuses the locks uv takes (flock)"
)
NO_HARDLINKS = _code(
    "no-hardlinks",
    "filesystem",
    INFO,
    "no hard links between the cache and environments: every install copies",
)

# -- uv releases and their buckets --------------------------------------------------------------
STALE_BUCKET = _code(
    "stale-bucket",
    "versions",
    INFO,
    "a bucket of an older uv, which the newest uv here no longer reads",
    "prune",
    housekeeping=True,
)
UNKNOWN_BUCKET = _code(
    "unknown-bucket", "versions", INFO, "a bucket of a newer uv (or not uv's): never removed"
)
MIXED_UV_VERSIONS = _code(
    "mixed-uv-versions", "versions", WARNING, "several uv releases use this cache"
)
UV_WITHOUT_LOCK = _code(
    "uv-without-lock",
    "versions",
    WARNING,
    "a uv older than 0.8.19 uses this cache: it takes no lock",
)

# -- the entries themselves ---------------------------------------------------------------------
ORPHANED_TMP = _code(
    "orphaned-tmp",
    "entries",
    WARNING,
    "a `.tmp*` left by an interrupted uv run: older than an hour and used by no process",
    "repair",
    housekeeping=True,
)
DANGLING_LINK = _code(
    "dangling-link", "entries", WARNING, "a link that names an archive that is gone", "repair"
)
ABSOLUTE_LINKS = _code(
    "absolute-links",
    "entries",
    WARNING,
    "links written with absolute targets (uv before 0.11.17): a moved cache breaks them",
    "repair",
)
LINK_OUTSIDE_CACHE = _code(
    "link-outside-cache", "entries", WARNING, "a link that points out of the cache", "repair"
)
UNREFERENCED_ARCHIVE = _code(
    "unreferenced-archive",
    "entries",
    INFO,
    "archives no link names: `uv cache prune` removes them",
    "prune",
    housekeeping=True,
)
INCOMPLETE_ARCHIVE = _code(
    "incomplete-archive", "entries", WARNING, "an unpacked archive with files missing", "repair"
)
CORRUPT_ENTRY = _code(
    "corrupt-entry",
    "entries",
    WARNING,
    "an entry uv cannot read back (a truncated `.http`, `.rev` or `.msgpack`, a link file)",
    "repair",
)

# -- the situation around the cache -------------------------------------------------------------
CACHE_IN_USE = _code("cache-in-use", "situation", WARNING, "a uv holds the cache's lock")
CACHE_IN_TMP = _code(
    "cache-in-tmp", "situation", WARNING, "the cache is in a folder emptied at boot"
)
CACHE_IS_SYMLINK = _code(
    "cache-is-symlink", "situation", INFO, "the cache is reached through a symbolic link"
)
LOCATION_DISAGREEMENT = _code(
    "location-disagreement",
    "situation",
    WARNING,
    "uv finds its cache somewhere else than this program does",
)
LOCATION_WARNING = _code(
    "location-warning", "situation", WARNING, "a cache setting uv ignores or reads differently"
)
UV_NO_CACHE = _code("uv-no-cache", "situation", INFO, "`UV_NO_CACHE` is set: uv skips the cache")
MISSING_CACHEDIR_TAG = _code(
    "missing-cachedir-tag", "situation", INFO, "no `CACHEDIR.TAG` (backup tools copy the cache)"
)
MOUNT_INSIDE_CACHE = _code(
    "mount-inside-cache",
    "situation",
    WARNING,
    "a filesystem is mounted inside the cache: nothing under it is deleted",
)
NOT_A_UV_CACHE = _code(
    "not-a-uv-cache", "situation", ERROR, "the folder has none of uv's evidence: nothing acts on it"
)

# -- contents, from uvci verify ------------------------------------------------------------------
MODIFIED_ARCHIVE = _code(
    "modified-archive",
    "verify",
    ERROR,
    "an archive changed after uv unpacked it (doctor repeats it while the files are as found)",
)
LAST_VERIFIED = _code(
    "last-verified", "verify", INFO, "when the archives' contents were last verified"
)

# -- only from explain ---------------------------------------------------------------------------
SANDBOX = _code(
    "sandbox",
    "explain",
    ERROR,
    "a sandbox around uv forbids writing to its cache (an agent's, Landlock, Flatpak)",
)
SYSTEM_ENVIRONMENT = _code(
    "system-environment",
    "explain",
    ERROR,
    "uv was installing into a system Python this user may not modify",
)
FILESYSTEM_WITHOUT_LINKS = _code(
    "filesystem-without-links",
    "explain",
    ERROR,
    "a filesystem without symbolic or hard links (exFAT, FAT32, some shares)",
)
MOUNT_POINT = _code(
    "mount-point",
    "explain",
    ERROR,
    "the folder is a mount point (a Docker volume on `.venv`): it can only be emptied",
)
FILE_IN_USE = _code(
    "file-in-use",
    "explain",
    ERROR,
    "a program runs from there: Windows cannot delete or replace it",
)
ANTIVIRUS = _code(
    "antivirus",
    "explain",
    ERROR,
    "security software holds the new files open while uv moves or writes them",
)
CONCURRENT_UV = _code(
    "concurrent-uv", "explain", ERROR, "several uv processes wrote the same cache files at once"
)
NAME_TOO_LONG = _code(
    "name-too-long", "explain", ERROR, "a file name longer than the filesystem allows"
)
LOCATION_TRAILING_SPACE = _code(
    "location-trailing-space", "explain", ERROR, "a stray space in `UV_CACHE_DIR`"
)
DISK_QUOTA = _code("disk-quota", "explain", ERROR, "the user's disk quota there is used up")
MISSING_ENTRY = _code(
    "missing-entry",
    "explain",
    ERROR,
    "an entry the cache points to is gone (a tmp cleaner, a concurrent clean)",
)
MISSING_DIRECTORY = _code(
    "missing-directory",
    "explain",
    ERROR,
    "a folder uv writes into did not exist (the cache, or TMPDIR)",
)
OUT_OF_MEMORY = _code(
    "out-of-memory", "explain", ERROR, "the kernel refused a copy for lack of memory"
)
ONEDRIVE = _code("onedrive", "explain", ERROR, "OneDrive refuses hard links to files it manages")
BAD_HOME = _code(
    "bad-home",
    "explain",
    ERROR,
    "uv's folders come from a home the user does not have (HOME=/, /root for a user)",
)
WINDOWS_STORE_PYTHON = _code(
    "windows-store-python",
    "explain",
    ERROR,
    "the Python is the Microsoft Store's app-execution alias",
)
BAD_PYTHON_PATH = _code(
    "bad-python-path",
    "explain",
    ERROR,
    "`UV_PYTHON`, `VIRTUAL_ENV` or `--python` names something that is not a Python",
)
COMMAND_NOT_RUNNABLE = _code(
    "command-not-runnable",
    "explain",
    ERROR,
    "what uv was asked to run is not a program that can run here",
)
REFLINK_FAILED = _code(
    "reflink-failed", "explain", ERROR, "cloning (reflinking) files failed on this filesystem"
)
OS_ERROR = _code(
    "os-error", "explain", ERROR, "the system reported an error number that no other cause explains"
)


def severity_rank(f: Finding) -> int:
    """Errors first, then warnings, then information."""
    return (ERROR, WARNING, INFO).index(f.severity)


REPAIRABLE = frozenset(c.code for c in REGISTRY.values() if c.fix == "repair")
PRUNABLE = frozenset(c.code for c in REGISTRY.values() if c.fix == "prune")
HOUSEKEEPING = frozenset(c.code for c in REGISTRY.values() if c.housekeeping)


def markdown_table() -> str:
    """The README's table of codes, family by family."""
    rows = ["| code | what it means | fixed by |", "|---|---|---|"]
    for family, title in FAMILIES.items():
        rows.append(f"| **{title}** | | |")
        for c in REGISTRY.values():
            if c.family == family:
                fix = {"repair": "`uvci repair`", "prune": "`uvci prune`"}.get(c.fix or "", "")
                rows.append(f"| `{c.code}` | {c.help} | {fix} |")
    return "\n".join(rows)


if __name__ == "__main__":  # `python -m uv_cache_inspector.core.findings`: the README's table
    print(markdown_table())
