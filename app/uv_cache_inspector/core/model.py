"""Typed, immutable facts about a uv cache. Everything the scan, the rules and the UI share.

Paths are kept as `str` (what `os.scandir` gives, including surrogate-escaped non-UTF-8 names);
`display_path` turns one into something printable and JSON-safe.
"""

from __future__ import annotations

import enum
import stat
import threading
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class BucketStatus(str, enum.Enum):
    CURRENT = "current"
    STALE = "stale"  # written by an older uv; the newest uv here no longer reads it
    UNKNOWN = "unknown"  # newer than we know, or not a uv bucket name: never treated as stale


class ArchiveKind(str, enum.Enum):
    WHEEL = "wheel"  # an unzipped wheel: has a *.dist-info directory
    ENVIRONMENT = "environment"  # a cached virtual environment (pyvenv.cfg at the top)
    UNKNOWN = "unknown"  # neither: an incomplete or foreign directory
    FILE = "file"  # not a directory at all


class LinkState(str, enum.Enum):
    OK = "ok"  # resolves to an archive of this cache
    DANGLING = "dangling"  # points at an archive id that does not exist
    MOVED = "moved"  # absolute link into another cache location (cache moved or shared)
    OUTSIDE = "outside"  # resolves to something that is not an archive of this cache
    CORRUPT = "corrupt"  # a link file whose content cannot be parsed
    STALE_VERSION = "stale-version"  # a Windows link naming archive-v1+ (uv treats it as dead)


@dataclass(frozen=True, slots=True)
class Owner:
    """Ownership and permission bits of one path (mode holds the permission bits only)."""

    uid: int
    gid: int
    mode: int  # st_mode & 0o7777
    is_dir: bool = True

    @classmethod
    def from_stat(cls, st: Any) -> Owner:
        return cls(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode))

    def mode_text(self) -> str:
        return f"{self.mode:04o}"


@dataclass(frozen=True, slots=True)
class Mark:
    """A place where ownership or permissions change, or where the walk could not go.

    Marks are recorded only at the point of change (the topmost path), with the count and the
    allocated size of what lies below, so a foreign-owned tree of 100k files is one mark.
    """

    path: str
    reason: str  # "owner" | "mode" | "unreadable" | "too-deep" | "special" | "mount"
    owner: Owner | None
    files: int = 0
    bytes: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    kind: str  # "wheels", "sdists", "archive", ... or the whole name when it has no -vN
    version: int | None
    status: BucketStatus
    path: str
    bytes: int
    files: int
    dirs: int
    owner: Owner | None
    is_symlink: bool = False
    device: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Archive:
    id: str
    path: str
    kind: ArchiveKind
    package: str | None
    version: str | None
    bytes: int  # allocated bytes of everything below, hardlinks counted in full
    shared_bytes: int  # bytes in files with other hard links (freed only when all links go)
    files: int
    referenced: bool
    referrers: tuple[str, ...]
    owner: Owner | None
    last_used: float | None  # newest atime of a regular file (relatime: about a day's precision)
    modified: float | None  # newest mtime of anything below
    problems: tuple[str, ...] = ()
    dist_info: tuple[str, ...] = ()
    # Links from buckets an older uv wrote (prune removes those buckets first, so they do not
    # keep the archive) and from cached environments (prune removes those too).
    stale_referrers: tuple[str, ...] = ()
    environment_referrers: tuple[str, ...] = ()

    @property
    def reclaimable_bytes(self) -> int:
        return self.bytes - self.shared_bytes


@dataclass(frozen=True, slots=True)
class Entry:
    """A reference from a bucket into the archive: a wheel entry, a built sdist, an environment."""

    bucket: str
    path: str
    kind: str  # "wheel" | "sdist" | "environment"
    index: str  # "pypi", "index/<digest>", "url/<digest>", "path/<digest>", "git/<digest>", ...
    package: str | None
    version: str | None
    archive_id: str | None
    state: LinkState
    raw_target: str = ""
    link_kind: str = "symlink"  # "symlink" (Unix) or "file" (a Windows link file)


@dataclass(frozen=True, slots=True)
class SdistShard:
    """One source distribution shard: its revision pointer and its revision directories."""

    bucket: str
    path: str
    index: str
    package: str | None
    version: str | None
    current_revision: str | None  # from revision.http / revision.rev; None if missing/corrupt
    revisions: tuple[str, ...]
    pointer_problem: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionDir:
    """A built sdist revision: the directory holding `metadata.msgpack` (docs/uv-cache-format.md
    §3)."""

    path: str
    package: str | None  # from metadata.msgpack (url/path/git shards have no name in the path)
    entries: tuple[tuple[str, str], ...]  # (name, "dir" | "file" | "link")


@dataclass(frozen=True, slots=True)
class TmpDir:
    path: str
    location: str  # "root" or the bucket it sits in
    bytes: int
    files: int
    age_seconds: float  # since the newest modification inside it
    owner: Owner | None
    is_dir: bool = True


@dataclass(frozen=True, slots=True)
class RootItem:
    """One entry directly in the cache root."""

    name: str
    kind: str  # "bucket" | "tmp" | "control" | "file" | "dir" | "symlink" | "other"
    owner: Owner | None
    is_symlink: bool = False
    target: str | None = None
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the scan could not read or understand, recorded instead of raised."""

    kind: str  # "corrupt" | "unreadable" | "vanished" | "odd-name" | "error"
    path: str
    detail: str


@dataclass(slots=True)
class Snapshot:
    """What one scan saw. Built by core.scan; read by diagnose, plan, the CLI and the GUI."""

    root: str
    real_root: str
    scanned_at: float
    duration: float = 0.0
    complete: bool = True  # False when cancelled
    total_bytes: int = 0
    total_files: int = 0
    total_dirs: int = 0
    root_owner: Owner | None = None
    root_device: int | None = None
    root_is_symlink: bool = False
    # How links are read (core/cache/links.py `detect_style`): "symlink" (Unix uv), "file" (Windows
    # uv's link files) or "mixed" (both uvs wrote here: each kind counts as a reference).
    link_style: str = "symlink"
    layout_source: str = "default"  # "detected" | "requested" (--layout) | "default" (no links)
    layout_evidence: tuple[int, int] = (0, 0)  # (symlinks, link files) into archive-v*
    uv_version: str | None = None  # the uv the bucket statuses were judged against
    root_items: list[RootItem] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    archives: list[Archive] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    shards: list[SdistShard] = field(default_factory=list)
    tmp_dirs: list[TmpDir] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vanished: int = 0
    has_tag: bool = False
    tag_valid: bool = False
    # For plans: allocated (bytes, of which in files with other hard links) of every walked
    # unit and every directory inside the link buckets; each bucket's top-level children.
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    top: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # bucket -> (path, kind)
    revision_dirs: list[RevisionDir] = field(default_factory=list)

    def counts_link(self, link_kind: str) -> bool:
        """Whether a link of this kind keeps an archive, as the uv that wrote the cache decides
        (docs/uv-cache-format.md §6: symlinks on Unix, link files on Windows)."""
        return self.link_style in {link_kind, "mixed"}

    def size_of(self, path: str) -> tuple[int, int]:
        return self.sizes.get(path, (0, 0))

    def archive(self, archive_id: str) -> Archive | None:
        for a in self.archives:
            if a.id == archive_id:
                return a
        return None

    def bucket(self, name: str) -> Bucket | None:
        for b in self.buckets:
            if b.name == name:
                return b
        return None


@dataclass(frozen=True, slots=True)
class Progress:
    """A step of long work. `total` is 0 when unknown."""

    phase: str
    done: int = 0
    total: int = 0
    bytes: int = 0
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    path: str | None
    message: str
    fix: str | None
    details: dict[str, Any] = field(default_factory=dict)
    bytes: int = 0
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "path": display_path(self.path) if self.path is not None else None,
            "message": self.message,
            "fix": self.fix,
        }
        if self.details:
            out["details"] = self.details
        if self.bytes:
            out["bytes"] = self.bytes
        if self.count:
            out["count"] = self.count
        return out


class CancelToken:
    """Cooperative cancellation shared between a UI (or Ctrl+C) and a generator."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:  # a method, so type checkers do not narrow it
        return self._event.is_set()


def display_path(path: str) -> str:
    """A printable, JSON-safe form of a path: undecodable bytes shown as \\xNN escapes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


@dataclass(slots=True)
class TraceStep:
    """One step of the test-write (core.testwrite), as `test-write --json` reports it."""

    step: str  # "lock" | "mkdtemp" | "write" | "mkdir" | "rename" | "link" | "cleanup" | ...
    ok: bool
    path: str | None = None
    target: str | None = None
    errno: int | None = None
    winerror: int | None = None
    error: str | None = None  # the error text as uv would print it
    duration_ms: float = 0.0
    start_ms: float = 0.0  # since the test-write began
    explanation: str | None = None
    note: str | None = None  # what was done, for a passing step
    attempts: list[dict[str, Any]] = field(default_factory=list)  # Windows rename retries
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step,
            "ok": self.ok,
            "path": display_path(self.path) if self.path else None,
            "target": display_path(self.target) if self.target else None,
            "errno": self.errno,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 3),
            "explanation": self.explanation,
        }
        if self.winerror is not None:
            out["winerror"] = self.winerror
        out["start_ms"] = round(self.start_ms, 3)
        if self.note:
            out["note"] = self.note
        if self.attempts:
            out["attempts"] = self.attempts
        if self.skipped:
            out["skipped"] = True
        return out
