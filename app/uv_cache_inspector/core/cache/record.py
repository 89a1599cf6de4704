"""One unpacked wheel checked against its `*.dist-info/RECORD`: the verify worker's task.

The wheel spec (binary-distribution-format, "The .dist-info directory") makes RECORD a CSV of
`path,algorithm=urlsafe-base64-digest-without-padding,size`; RECORD itself (and signatures,
`RECORD.jws`/`RECORD.p7s`) has no hash. What uv itself changes in an unpacked archive was read
in its source (crates/uv-install-wheel/src/wheel.rs, `validate_and_heal_record`, uv >= 0.11.6):
before persisting an archive uv rewrites RECORD when it does not match the zip, dropping entries
for files the zip lacks and adding the zip's unlisted files with a size and *no* hash (so only
their size can be checked), and it allows the two signature files unlisted. Everything uv adds
at install time (`INSTALLER`, `REQUESTED`, `direct_url.json`, `uv_cache.json`, the rewritten
RECORD, entry-point scripts) is written atomically into the environment, never into the archive:
the linker copies RECORD instead of linking it (crates/uv-install-wheel/src/linker.rs). Python
writes `__pycache__` next to modules it imports; unlisted files there are ignored.

A verdict per file is kept with the file's (size, mtime, ctime, inode): while all four stay the
same the file has not been written (writing moves ctime, which no user can set back), so the
next run takes the verdict instead of hashing again. A file whose times are within
`RACY_SECONDS` of the check is not remembered (file times move in coarse clock ticks: an edit
in the same tick would keep them).

Spawned walker processes import this module (`core.workers`, task "verify"): stdlib only, plus
`core.treewalk` for the descriptor walk that never follows a link.
"""

from __future__ import annotations

import base64
import csv
import errno
import hashlib
import io
import os
import posixpath
import stat
import time
from typing import NamedTuple

from uv_cache_inspector.core.cache.links import dist_info_name_version, normalize_name
from uv_cache_inspector.core.cache.treewalk import DIR_FLAGS, NOFOLLOW, open_dir, walk

# Verdicts of one file listed in RECORD.
OK = 0
HASH_DIFFERS = 1
SIZE_DIFFERS = 2
NOT_A_FILE = 3

_VERDICTS = (OK, HASH_DIFFERS, SIZE_DIFFERS, NOT_A_FILE)

# Changes reported for one path of an archive.
MODIFIED = "modified"
MISSING = "missing"
UNEXPECTED = "unexpected"
UNREADABLE = "unreadable"

MAX_RECORD_BYTES = 64 * 1024 * 1024
RACY_SECONDS = 2.0
CHUNK = 1024 * 1024
UNSIGNED_EXTRAS = ("RECORD.jws", "RECORD.p7s")  # allowed in .dist-info without a RECORD line

_FILE_FLAGS = os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_FD_WALK = os.scandir in os.supports_fd and os.open in os.supports_dir_fd and NOFOLLOW != 0
# Fixed-size digests hashlib always has (the shake_* ones need a length: not RECORD hashes).
_ALGORITHMS = frozenset(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
_CONSTRUCTORS = {a: getattr(hashlib, a) for a in _ALGORITHMS}

Expected = tuple[str | None, int | None]  # (the hash as RECORD writes it, size)
FileKey = tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, inode)
# The remembered verdicts of one archive: RECORD's own key, then {path: (*key, verdict)}.
ArchiveState = tuple[FileKey, dict[str, tuple[int, int, int, int, int]]]


class Problem(NamedTuple):
    path: str  # relative to the archive, with "/"
    change: str  # MODIFIED | MISSING | UNEXPECTED | UNREADABLE
    detail: str
    links: int  # the file's link count (0 when it is missing)
    dev: int
    ino: int


class ArchiveCheck(NamedTuple):
    """What checking one archive found (sent back from a worker as a tuple)."""

    path: str
    status: str  # "verified" | "cannot-verify" | "skipped" (not a chosen package) | "gone"
    reason: str = ""  # why it cannot be verified
    kind: str = "wheel"  # "wheel" | "environment" (a cached venv: pyvenv.cfg) | "other"
    package: str | None = None  # normalized, from the .dist-info name
    version: str | None = None
    files: int = 0  # files compared with RECORD
    hashed: int = 0  # of which hashed in this run
    hashed_bytes: int = 0
    reused: int = 0  # of which judged by the remembered verdict (unchanged since)
    problems: list[Problem] = []  # noqa: RUF012 - a NamedTuple default, never mutated
    state: ArchiveState | None = None  # the verdicts to remember, when they changed
    state_changed: bool = False  # False: the remembered verdicts stand as they were


def file_key(st: os.stat_result) -> FileKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def parse_record(data: bytes) -> tuple[dict[str, Expected], int]:
    """RECORD -> ({normalized path: (hash text or None, size or None)}, entries outside).

    Paths are normalized as uv reads them (a leading "/" dropped, `./a` is `a`); entries that
    climb out of the archive (`../../bin/x`, written by old tools) are counted, not listed.
    Hashes are decoded only for the files that are hashed (`decode_hash`): a second verify
    hashes nothing, and most of a RECORD's parsing was the decoding.
    """
    text = data.decode("utf-8", "surrogateescape")
    out: dict[str, Expected] = {}
    outside = 0
    for row in csv.reader(io.StringIO(text, newline="")):
        if not row:
            continue
        path = row[0]
        if path.startswith(("/", ".")) or "/." in path or "//" in path:
            path = posixpath.normpath(path.lstrip("/"))
            if path in {".", ".."} or path.startswith("../"):
                outside += 1
                continue
        if not path.strip():
            continue
        n = len(row)
        size = row[2] if n > 2 else ""
        out[path] = (
            row[1] or None if n > 1 else None,
            int(size) if size.isdigit() else None,
        )
    return out, outside


_DIGEST_SIZES: dict[str, int] = {}


def decode_hash(text: str) -> tuple[str, bytes] | None:
    """`sha256=<urlsafe base64, no padding>` -> (algorithm, digest); None for anything that is
    not a well-formed hash of an algorithm hashlib always has (then only the size counts)."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or name not in _ALGORITHMS:
        return None
    value = value.strip()
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), b"-_", validate=True)
    except ValueError:
        return None
    size = _DIGEST_SIZES.get(name)
    if size is None:
        size = _DIGEST_SIZES[name] = hashlib.new(name).digest_size
    return (name, raw) if len(raw) == size else None


def _read_all(fd: int, limit: int) -> bytes:
    parts = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > limit:
        raise ValueError(f"larger than {limit // (1024 * 1024)} MiB")
    return b"".join(parts)


def _split_hash(text: str) -> tuple[str, str] | None:
    """`sha256=<value>` -> ("sha256", value without padding), for an algorithm we can run."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or name not in _ALGORITHMS:
        return None
    return name, value.strip().rstrip("=")


def _digest(fd: int, algorithm: str, size: int) -> tuple[bytes, int]:
    """Hash an open file to its end: (digest, bytes read). A read shorter than the buffer is
    the end of a regular file, so a small file takes one read (the caller checks the size)."""
    h = _CONSTRUCTORS[algorithm]()
    buf = _buffer()
    view = memoryview(buf)
    total = 0
    if size > CHUNK and hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except OSError:
            pass
    readv = getattr(os, "readv", None)
    while True:
        if readv is not None:
            n = readv(fd, [buf])
            h.update(view[:n])
        else:  # pragma: no cover - Windows has no readv
            chunk = os.read(fd, CHUNK)
            n = len(chunk)
            h.update(chunk)
        total += n
        if n < CHUNK:
            return h.digest(), total


class _Checker:
    """The state of one archive's check while its tree is walked."""

    def __init__(
        self,
        archive: str,
        expected: dict[str, Expected],
        prior: dict[str, tuple[int, int, int, int, int]],
        dist_info: str,
    ) -> None:
        self.archive = archive
        self.expected = expected
        self.prior = prior
        self.dist_info = dist_info
        self.files = self.hashed = self.hashed_bytes = self.reused = 0
        self.problems: list[Problem] = []
        self.verdicts: dict[str, tuple[int, int, int, int, int]] = {}
        self.changed = False
        self.racy_after_ns = time.time_ns() - int(RACY_SECONDS * 1e9)

    def ignorable(self, path: str) -> bool:
        if "__pycache__" in path.split("/"):
            return True
        head, _, name = path.rpartition("/")
        return head == self.dist_info and name in UNSIGNED_EXTRAS

    def visit(self, rel: str, st: os.stat_result, pfd: int, name: str) -> None:
        """One entry of the tree: `name` in the directory `pfd` (or, where there are no
        directory descriptors, pfd -1 and the full path as `name`)."""
        fmt = stat.S_IFMT(st.st_mode)
        exp = self.expected.pop(rel, None)
        if fmt == stat.S_IFDIR:
            return  # a directory named in RECORD is not a file to compare
        if exp is None:
            if not self.ignorable(rel):
                what = "" if fmt == stat.S_IFREG else "; not a regular file"
                self.problems.append(
                    Problem(
                        rel,
                        UNEXPECTED,
                        f"not in RECORD ({st.st_size:,} bytes{what})",
                        st.st_nlink,
                        st.st_dev,
                        st.st_ino,
                    )
                )
            return
        self.files += 1
        hash_text, size = exp
        key = file_key(st)
        known = self.prior.get(rel)
        if fmt != stat.S_IFREG:
            verdict = NOT_A_FILE
        elif (
            type(known) is tuple and len(known) == 5 and known[:4] == key and known[4] in _VERDICTS
        ):
            verdict = known[4]
            self.reused += 1
        elif size is not None and size != st.st_size:
            verdict = SIZE_DIFFERS
        elif hash_text is None or (expected := _split_hash(hash_text)) is None:
            verdict = OK  # RECORD gives no hash (RECORD itself, or healed by uv): size only
        else:
            try:
                verdict, stable = self.hash(pfd, name, expected, hash_text, st)
            except OSError as exc:
                self.problems.append(
                    Problem(rel, UNREADABLE, _err(exc), st.st_nlink, st.st_dev, st.st_ino)
                )
                self.changed = self.changed or known is not None
                return
            if not stable:
                key = (-1, -1, -1, -1)  # being written right now: never remembered
        if verdict != OK:
            self.problems.append(
                Problem(
                    rel,
                    MODIFIED,
                    _verdict_text(verdict, st, size, hash_text),
                    st.st_nlink,
                    st.st_dev,
                    st.st_ino,
                )
            )
        if key[0] >= 0 and max(st.st_mtime_ns, st.st_ctime_ns) < self.racy_after_ns:
            entry = (*key, verdict)
            if known != entry:
                self.changed = True
            self.verdicts[rel] = entry
        elif known is not None:
            self.changed = True

    def hash(
        self, pfd: int, name: str, expected: tuple[str, str], text: str, st: os.stat_result
    ) -> tuple[int, bool]:
        """(verdict, stable): stable when as many bytes were read as the walk saw (read twice
        when not). A file written while it is read, or between the walk's stat and the read,
        has a new ctime by then: the verdict remembered with the walk's stat is never used
        again, so no second stat is needed to stay safe."""
        algorithm, value = expected
        stable = False
        for _attempt in range(2):
            fd = os.open(name, _FILE_FLAGS, dir_fd=pfd) if pfd >= 0 else os.open(name, _FILE_FLAGS)
            try:
                got, n = _digest(fd, algorithm, st.st_size)
            finally:
                os.close(fd)
            self.hashed += 1
            self.hashed_bytes += n
            stable = n == st.st_size
            if stable:
                break
        # RECORD's form of our digest against RECORD's text: no decoding on the usual path.
        if base64.urlsafe_b64encode(got).rstrip(b"=").decode() == value:
            return OK, stable
        if decode_hash(text) is None:
            return OK, stable  # a malformed hash in RECORD: as if none (the size matched)
        return HASH_DIFFERS, stable


_BUFFER: list[bytearray] = []


def _buffer() -> bytearray:
    """One read buffer per process (allocating a MiB per archive cost more than its reads)."""
    if not _BUFFER:
        _BUFFER.append(bytearray(CHUNK))
    return _BUFFER[0]


def _verdict_text(verdict: int, st: os.stat_result, size: int | None, hash_text: str | None) -> str:
    if verdict == SIZE_DIFFERS:
        return f"{st.st_size:,} bytes; RECORD says {size:,}"
    if verdict == NOT_A_FILE:
        return "no longer a regular file"
    algorithm = (hash_text or "").partition("=")[0] or "RECORD"
    return f"content differs from its {algorithm} hash"


def _err(exc: OSError) -> str:
    return f"{exc.strerror or exc} (os error {exc.errno})" if exc.errno else str(exc)


def _top(archive: str) -> list[tuple[str, bool]]:
    """(name, is a directory) of what is directly in `archive`, never through a link."""
    fd = os.open(archive, DIR_FLAGS) if _FD_WALK else -1
    try:
        with os.scandir(fd if fd >= 0 else archive) as it:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    finally:
        if fd >= 0:
            os.close(fd)


def check_archive(
    archive: str, prior: ArchiveState | None = None, packages: frozenset[str] = frozenset()
) -> ArchiveCheck:
    """Compare every file of the unpacked wheel at `archive` with its RECORD (only if its
    package is one of `packages`, when given). Never raises for what is inside the archive;
    the archive vanishing gives status "gone"."""
    try:
        top = _top(archive)
    except FileNotFoundError:
        return ArchiveCheck(archive, "gone")
    except OSError as exc:
        not_dir = exc.errno in {errno.ENOTDIR, errno.ELOOP}
        why = "not a directory" if not_dir else f"cannot list it: {_err(exc)}"
        return ArchiveCheck(archive, "skipped" if packages else "cannot-verify", why, "other")
    dist = sorted(n for n, is_dir in top if is_dir and n.endswith(".dist-info"))
    parsed = dist_info_name_version(dist[0]) if dist else None
    package = normalize_name(parsed[0]) if parsed else None
    version = parsed[1] if parsed else None
    chosen = not packages or package in packages
    if any(n == "pyvenv.cfg" for n, _ in top):
        why = "a cached environment: uv builds it, no RECORD covers it"
        return ArchiveCheck(archive, "cannot-verify" if chosen else "skipped", why, "environment")
    if not chosen:
        return ArchiveCheck(archive, "skipped", "", "wheel", package, version)

    def cannot(reason: str, kind: str = "wheel") -> ArchiveCheck:
        return ArchiveCheck(archive, "cannot-verify", reason, kind, package, version)

    if not dist:
        return cannot("no .dist-info directory: not an unpacked wheel", "other")
    if len(dist) > 1:
        return cannot(f"{len(dist)} .dist-info directories (uv installs none of them)")
    dist_info = dist[0]
    record_rel = f"{dist_info}/RECORD"
    try:
        rfd = _open_in(archive, record_rel)
        try:
            rst = os.fstat(rfd)
            data = _read_all(rfd, MAX_RECORD_BYTES)
        finally:
            os.close(rfd)
    except FileNotFoundError:
        return cannot("no RECORD in its .dist-info")
    except (OSError, ValueError) as exc:
        reason = _err(exc) if isinstance(exc, OSError) else str(exc)
        return cannot(f"RECORD cannot be read: {reason}")
    try:
        expected, _outside = parse_record(data)
    except csv.Error as exc:
        return cannot(f"RECORD is not valid CSV: {exc}")
    record_key = file_key(rst)
    known, matched = _remembered(prior, record_key)
    checker = _Checker(archive, expected, known, dist_info)
    try:
        _walk_files(archive, checker)
    except FileNotFoundError:
        return ArchiveCheck(archive, "gone")
    except OSError as exc:
        return cannot(f"cannot read it all: {_err(exc)}")
    for rel in sorted(checker.expected):
        checker.problems.append(Problem(rel, MISSING, "listed in RECORD, not on disk", 0, 0, 0))
    if len(checker.verdicts) != len(known):
        checker.changed = True
    checker.problems.sort()
    changed = checker.changed or not matched
    return ArchiveCheck(
        archive,
        "verified",
        "",
        "wheel",
        package,
        version,
        checker.files,
        checker.hashed,
        checker.hashed_bytes,
        checker.reused,
        checker.problems,
        (record_key, checker.verdicts) if changed else None,  # unchanged: not sent back
        changed,
    )


def _remembered(
    prior: ArchiveState | None, record_key: FileKey
) -> tuple[dict[str, tuple[int, int, int, int, int]], bool]:
    """(the remembered verdicts, whether they apply): only if RECORD is unchanged and they have
    the shape we write (the state file is the user's, and could be damaged)."""
    try:
        if prior is not None and tuple(prior[0]) == record_key and isinstance(prior[1], dict):
            return prior[1], True  # each entry is checked where it is used (_Checker.visit)
    except (TypeError, IndexError, KeyError):
        pass
    return {}, False


def _open_in(archive: str, rel: str) -> int:
    """Open a file below `archive` without following a link at any level."""
    if not _FD_WALK:  # pragma: no cover - Windows: by path
        return os.open(os.path.join(archive, *rel.split("/")), _FILE_FLAGS)
    fd = os.open(archive, DIR_FLAGS)
    try:
        *dirs, name = rel.split("/")
        for d in dirs:
            nfd = open_dir(fd, d)
            os.close(fd)
            fd = nfd
        return os.open(name, _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _walk_files(archive: str, checker: _Checker) -> None:
    """Every entry below `archive`, with its path relative to it ("/"-separated)."""
    if not _FD_WALK:  # pragma: no cover - Windows: a path walk (not verified on Windows)
        for dirpath, dirnames, filenames in os.walk(archive):
            rel_dir = os.path.relpath(dirpath, archive).replace(os.sep, "/")
            prefix = "" if rel_dir == "." else rel_dir + "/"
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                checker.visit(prefix + name, os.lstat(full), -1, full)
        return
    rootfd = os.open(archive, DIR_FLAGS)
    prefixes = {rootfd: ""}

    def opener(pfd: int, name: str) -> int:
        fd = open_dir(pfd, name)
        prefixes[fd] = f"{prefixes[pfd]}{name}/"
        return fd

    def visit(pfd: int, name: str, st: os.stat_result) -> None:
        checker.visit(prefixes[pfd] + name, st, pfd, name)

    try:
        walk(rootfd, visit, opener=opener)
    finally:
        os.close(rootfd)


Unit = tuple[str, ArchiveState | None, frozenset[str]]  # (archive, remembered, packages)


def check_many(units: list[Unit]) -> list[ArchiveCheck]:
    """The worker task: one ArchiveCheck per unit. A bug here must not take the worker (and
    the whole verify) down: it becomes that archive's reason."""
    out = []
    for path, prior, packages in units:
        try:
            out.append(check_archive(path, prior, packages))
        except Exception as exc:
            out.append(ArchiveCheck(path, "cannot-verify", f"internal error: {exc!r}", "other"))
    return out
