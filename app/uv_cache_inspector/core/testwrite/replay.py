"""The test-write: uv's own write-and-rename routine replayed on the cache, traced step by step.

What uv does for every new wheel (docs/uv-cache-format.md §4, `Cache::persist`, and §5 for the
lock): take the shared lock on `<root>/.lock`; unpack into `tempdir_in(<root>)` (a `.tmpXXXXXX`
directory; sdists and builds use their bucket instead); `create_dir_all(archive-v0)`;
`rename_with_retry(.tmpXXXXXX -> archive-v0/<16-char id>)` (retried on Windows only, for
PermissionDenied, 10 times from 10 ms doubling); then the link (a relative symlink on Unix, a link
file on Windows). We do the same with a tiny wheel-like payload, including files named like native
extensions (what antivirus reacts to), create the link in a scratch directory, and remove every
trace afterwards, also after a failure (unless asked to keep it).

Every step records its timing and outcome; a failed step carries the error as uv would print it
and an explanation computed from the state at that moment by the diagnosis (`diagnosis.explain`:
its precondition checks for a refusal, its reading of the error number and the filesystem facts
it checks), and for a refusal nothing on disk explains, the processes with files open there
where the platform tells.
The real uv binary runs against the cache the same way in `with_uv.py`.
"""

from __future__ import annotations

import errno as errnos
import os
import re
import secrets
import shutil
import string
import sys
import time
from collections.abc import Callable, Generator
from contextlib import ExitStack
from dataclasses import dataclass, field

from uv_cache_inspector.core.cache.layout import NEWEST_KNOWN, BucketSet, buckets_for
from uv_cache_inspector.core.errors import CacheInUseError, CacheNotFoundError, NotACacheError
from uv_cache_inspector.core.model import TraceStep
from uv_cache_inspector.core.platform.access import UvUser, resolve_user
from uv_cache_inspector.core.testwrite.common import ProbeResult, owner_of, payload

ID_ALPHABET = "_-" + string.digits + string.ascii_letters  # uv-fastid (docs/uv-cache-format.md §3)
TMP_ALPHABET = string.ascii_letters + string.digits  # the tempfile crate's names
WINDOWS_RETRIES = 10
FIRST_DELAY = 0.010


def archive_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(16))


def tmp_name() -> str:
    return ".tmp" + "".join(secrets.choice(TMP_ALPHABET) for _ in range(6))


# -- errors as uv prints them, and why -------------------------------------------------------


def uv_error_text(step: str, exc: OSError, path: str | None, target: str | None) -> str:
    """fs-err's wording (docs/uv-cache-format.md §4), with the OS's own message and number."""
    os_msg = f"{exc.strerror or os.strerror(exc.errno or 0)} (os error {exc.errno})"
    if step == "rename":
        return f"failed to rename file from {path} to {target}: {os_msg}"
    if step == "link":
        return f"failed to create symlink from {target} to {path}: {os_msg}"
    if step in {"mkdtemp", "mkdir", "scratch"}:
        return f"failed to create directory `{path}`: {os_msg}"
    if step == "write":
        return f"failed to write to file `{path}`: {os_msg}"
    if step == "lock":
        return f"failed to open file `{path}`: {os_msg}"
    if step == "cleanup":
        return f"failed to remove directory `{path}`: {os_msg}"
    return f"{step} failed for `{path}`: {os_msg}"


# What each step does, in the diagnosis's words (explain's operations).
_OPS = {
    "lock": "lock",
    "mkdtemp": "create_temp",
    "write": "write",
    "mkdir": "create_dir",
    "scratch": "create_dir",
    "rename": "rename",
    "link": "symlink",
    "cleanup": "remove_dir",
}


def explain_failure(
    step: str, exc: OSError, path: str | None, target: str | None, user: UvUser, root: str
) -> str:
    """Why a step failed, from the state of the filesystem right now."""
    from uv_cache_inspector.core.diagnosis import explain

    code = exc.errno
    where = path or root
    if code in {errnos.EACCES, errnos.EPERM}:
        if step == "rename" and path and target:
            found = explain.check_rename(path, target, user, root)
        elif step == "lock" and path:
            found = explain.check_open(path, user, root)
        elif path:
            found = explain.check_create(
                path, user, root, "a directory" if step != "write" else "a file"
            )
        else:
            found = []
        if found:
            return found[0].message
        holders = _holders(where)
        if holders:
            return (
                f"the operating system refused it, and {holders} has files open there "
                "(on Windows, antivirus or another uv)"
            )
        return (
            "the operating system refused it although the permissions allow it now: a "
            "transient lock (antivirus, indexer, another process), an ACL, a sandbox "
            "(macOS, Codex, Claude Code), or WSL1's rename bug (uv issue #11018)"
        )
    # Every other error as the diagnosis reads uv's: one table of error numbers (oserrors), one
    # of causes, and the same evidence on disk (a read-only mount, a full disk, two devices).
    paths = (target, path) if step == "link" else (path, target)  # (source, target), as uv says
    why = explain.explain_error(_OPS.get(step, step), [p for p in paths if p], exc, user, root)
    return why.evidence[0].message if why.evidence else why.title


def _holders(path: str) -> str:
    from uv_cache_inspector.core.platform import processes

    try:
        users = processes.using([path]).get(path, [])
    except Exception:
        return ""
    return ", ".join(p.label() for p in users)


# -- the routine -----------------------------------------------------------------------------


class RenameFailedError(PermissionError):
    """The last PermissionError of rename_with_retry, with every attempt recorded."""

    def __init__(self, exc: PermissionError, attempts: list[dict[str, object]]) -> None:
        super().__init__(exc.errno, exc.strerror, exc.filename, None, exc.filename2)
        self.attempts = attempts
        self.winerror = getattr(exc, "winerror", None)


def rename_with_retry(
    src: str,
    dst: str,
    *,
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
    rename: Callable[[str, str], None] = os.rename,
) -> list[dict[str, object]]:
    """uv's rename_with_retry: retries only PermissionDenied, 10 ms doubling (Windows only in
    uv). Returns the attempts; raises RenameFailedError (with the attempts) when they run out."""
    attempts: list[dict[str, object]] = []
    delay = FIRST_DELAY
    for attempt in range(retries + 1):
        t0 = time.perf_counter()
        try:
            rename(src, dst)
        except PermissionError as exc:
            attempts.append(
                {
                    "attempt": attempt + 1,
                    "ok": False,
                    "errno": exc.errno,
                    "winerror": getattr(exc, "winerror", None),
                    "ms": round((time.perf_counter() - t0) * 1000, 3),
                }
            )
            if attempt == retries:
                raise RenameFailedError(exc, attempts) from exc
            sleep(delay)
            attempts[-1]["slept_ms"] = round(delay * 1000, 3)
            delay *= 2
            continue
        attempts.append(
            {"attempt": attempt + 1, "ok": True, "ms": round((time.perf_counter() - t0) * 1000, 3)}
        )
        return attempts
    return attempts  # pragma: no cover - the loop returns or raises


def temp_parent(root: str, bucket: str, bucket_set: BucketSet) -> str:
    """Where uv makes its temporary directory (docs/uv-cache-format.md §4)."""
    if bucket in {"root", "wheels", "archive"}:
        return root
    if bucket == "builds":
        return os.path.join(root, f"builds-v{bucket_set.current.get('builds', 0)}")
    if bucket == "sdists":
        return os.path.join(root, f"sdists-v{bucket_set.current.get('sdists', 11)}")
    from uv_cache_inspector.core.errors import UsageError

    raise UsageError(f"unknown bucket {bucket!r}: use root, sdists or builds")


def replay(
    root: str,
    *,
    bucket: str = "root",
    keep: bool = False,
    owner: str | None = None,
    retries: int | None = None,
    bucket_set: BucketSet | None = None,
    lock_timeout: float = 10.0,
    link_style: str | None = None,
) -> Generator[TraceStep, None, ProbeResult]:
    """Replay uv's persist routine on the cache at `root`, one TraceStep at a time.

    The last step is always the cleanup (or what was kept). Closing the generator early (a
    cancelled UI) still removes every trace, silently.
    """
    from uv_cache_inspector.core.cache import lock

    if not os.path.isdir(root):
        raise CacheNotFoundError(f"uv has not created a cache at {root}")
    root = os.path.realpath(root)
    if not (
        os.path.exists(os.path.join(root, "CACHEDIR.TAG"))
        or any(re.fullmatch(r"[a-z-]+-v\d+", n) for n in os.listdir(root))
    ):
        raise NotACacheError(f"{root} is not a uv cache; the test-write only writes into one")
    run_state = _Run(
        root=root,
        user=resolve_user(owner_of(root), owner),
        bucket_set=bucket_set or buckets_for(NEWEST_KNOWN),
        retries=(WINDOWS_RETRIES if sys.platform == "win32" else 0) if retries is None else retries,
        style=link_style or ("file" if sys.platform == "win32" else "symlink"),
        bucket=bucket,
    )
    with ExitStack() as stack:
        finished = False
        try:
            yield from run_state.steps_until_failure(stack, lock, lock_timeout)
            finished = True
        finally:
            if not finished and not keep:
                _cleanup(run_state.cleanup, root, run_state.user, run_state.t_begin)
        if keep:
            kept = [p for _, p in run_state.cleanup]
            last = TraceStep(
                "cleanup",
                ok=True,
                skipped=True,
                start_ms=run_state.elapsed_ms(),
                note="kept: " + ", ".join(os.path.relpath(p, root) for p in kept),
            )
        else:
            kept = []
            last = _cleanup(run_state.cleanup, root, run_state.user, run_state.t_begin)
        run_state.steps.append(last)
        yield last
    return ProbeResult(all(x.ok for x in run_state.steps), run_state.steps, kept)


@dataclass
class _Run:
    """The state of one test-write: what was made, to be undone in reverse order."""

    root: str
    user: UvUser
    bucket_set: BucketSet
    retries: int
    style: str
    bucket: str
    steps: list[TraceStep] = field(default_factory=list)
    cleanup: list[tuple[str, str]] = field(default_factory=list)  # (kind, path)
    t_begin: float = field(default_factory=time.perf_counter)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t_begin) * 1000

    def step(
        self,
        name: str,
        fn: Callable[[], str | None],
        path: str | None = None,
        target: str | None = None,
    ) -> TraceStep:
        t0 = time.perf_counter()
        s = TraceStep(name, ok=True, path=path, target=target, start_ms=self.elapsed_ms())
        try:
            s.note = fn()
        except OSError as exc:
            s.ok = False
            s.errno = exc.errno
            s.winerror = getattr(exc, "winerror", None)
            s.error = uv_error_text(name, exc, path, target)
            s.explanation = explain_failure(name, exc, path, target, self.user, self.root)
        s.duration_ms = (time.perf_counter() - t0) * 1000
        self.steps.append(s)
        return s

    def steps_until_failure(
        self, stack: ExitStack, lock: object, lock_timeout: float
    ) -> Generator[TraceStep, None, None]:
        root = self.root
        # 1. The shared lock, as every uv command takes it, held to the end.
        s = self._lock(stack, lock, lock_timeout)
        yield s
        if not s.ok:
            return
        # 2. The temporary directory uv unpacks into.
        tmp = os.path.join(temp_parent(root, self.bucket, self.bucket_set), tmp_name())

        def mkdtemp() -> str:
            os.mkdir(tmp)
            self.cleanup.append(("dir", tmp))
            return f"created {os.path.relpath(tmp, root)}"

        s = self.step("mkdtemp", mkdtemp, tmp)
        yield s
        if not s.ok:
            return
        # 3. The payload, written as uv unzips a wheel.
        files = payload()

        def write() -> str:
            for rel, data in files.items():
                full = os.path.join(tmp, rel)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as fh:
                    fh.write(data)
            return f"{len(files)} files, {sum(len(d) for d in files.values())} bytes"

        s = self.step("write", write, tmp)
        yield s
        if not s.ok:
            return
        # 4. create_dir_all(archive-v0).
        archive_dir = os.path.join(root, "archive-v0")

        def mkdir() -> str:
            if os.path.isdir(archive_dir):
                return "archive-v0 exists"
            os.makedirs(archive_dir)
            self.cleanup.insert(0, ("dir-if-empty", archive_dir))
            return "created archive-v0"

        s = self.step("mkdir", mkdir, archive_dir)
        yield s
        if not s.ok:
            return
        # 5. rename_with_retry(tmp -> archive-v0/<id>).
        target = os.path.join(archive_dir, archive_id())
        attempts: list[dict[str, object]] = []

        def rename() -> str:
            try:
                attempts.extend(rename_with_retry(tmp, target, retries=self.retries))
            except RenameFailedError as exc:
                attempts.extend(exc.attempts)
                raise
            self.cleanup.remove(("dir", tmp))
            self.cleanup.append(("dir", target))
            n = len(attempts)
            return f"renamed into archive-v0 ({n} attempt{'s' if n != 1 else ''})"

        s = self.step("rename", rename, tmp, target)
        s.attempts = list(attempts)
        yield s
        if not s.ok:
            return
        # 6. The link, made the way uv does on this platform, in a scratch directory.
        scratch = os.path.join(root, tmp_name())

        def scratch_dir() -> str:
            os.mkdir(scratch)
            self.cleanup.append(("dir", scratch))
            return f"created {os.path.relpath(scratch, root)}"

        s = self.step("scratch", scratch_dir, scratch)
        yield s
        if not s.ok:
            return
        link = os.path.join(scratch, "link")

        def make_link() -> str:
            if self.style == "symlink":
                rel = os.path.relpath(target, scratch)
                os.symlink(rel, link)
                if os.path.realpath(link) != os.path.realpath(target):
                    raise OSError(errnos.ELOOP, "the link does not resolve to the archive")
                return f"relative symlink {rel}"
            content = "archive-v0/" + os.path.basename(target)
            with open(link, "x", encoding="utf-8") as fh:
                fh.write(content)
            return f"link file containing {content}"

        yield self.step("link", make_link, link, target)

    def _lock(self, stack: ExitStack, lock: object, timeout: float) -> TraceStep:
        """uv's LockedFile (uv-fs `locked_file.rs`): open `.lock` read+write; if that fails,
        make a temporary file in the cache root and persist it (no-clobber) as `.lock`, then
        open `.lock` read+write; then flock it shared. On a read-only cache the temporary file
        is what fails first ("Could not acquire lock / Could not create temporary file").
        We never create `.lock`: where uv would persist the temporary file, we stop."""
        lock_path = os.path.join(self.root, ".lock")
        t0 = time.perf_counter()
        s = TraceStep("lock", ok=True, path=lock_path, start_ms=self.elapsed_ms())
        try:
            try:
                os.close(os.open(lock_path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0)))
            except OSError as first:
                tmp = os.path.join(self.root, tmp_name())
                s.target = tmp
                try:
                    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                except OSError as exc:
                    s.ok = False
                    s.errno = exc.errno
                    s.error = (
                        "Could not acquire lock\n  cause: Could not create temporary file\n"
                        f'  cause: {exc.strerror} (os error {exc.errno}) at path "{tmp}"'
                    )
                    s.explanation = explain_failure("mkdtemp", exc, tmp, None, self.user, self.root)
                    return s
                os.close(fd)
                os.unlink(tmp)
                if not os.path.lexists(lock_path):
                    s.skipped = True
                    s.note = (
                        "no .lock: uv < 0.8.19 or uv never ran here; uv would create it "
                        "from a temporary file (which works here); the inspector never "
                        "creates it"
                    )
                    return s
                raise first from None
            state = stack.enter_context(lock.shared(self.root, timeout=timeout))  # type: ignore[attr-defined]
            del state
            s.note = "shared lock taken, as every uv command does"
        except CacheInUseError as exc:
            s.ok = False
            s.error = str(exc)
            s.explanation = (
                "uv cache clean or prune holds the lock exclusively; uv would wait, then fail "
                "after UV_LOCK_TIMEOUT"
            )
        except OSError as exc:
            s.ok = False
            s.errno = exc.errno
            s.error = uv_error_text("lock", exc, lock_path, None)
            s.explanation = explain_failure("lock", exc, lock_path, None, self.user, self.root)
        finally:
            s.duration_ms = (time.perf_counter() - t0) * 1000
            self.steps.append(s)
        return s


def _cleanup(items: list[tuple[str, str]], root: str, user: UvUser, t_begin: float) -> TraceStep:
    t0 = time.perf_counter()
    s = TraceStep("cleanup", ok=True, start_ms=(t0 - t_begin) * 1000)
    removed = []
    for kind, path in reversed(items):
        try:
            if kind == "dir-if-empty":
                if os.path.isdir(path) and not os.listdir(path):
                    os.rmdir(path)
                    removed.append(path)
                continue
            if os.path.islink(path) or os.path.isfile(path):
                os.unlink(path)
            elif os.path.isdir(path):
                shutil.rmtree(path)
            removed.append(path)
        except OSError as exc:
            s.ok = False
            s.path = path
            s.errno = exc.errno
            s.error = uv_error_text("cleanup", exc, path, None)
            s.explanation = (
                explain_failure("cleanup", exc, path, None, user, root)
                + "; remove it by hand, or with `uvci repair`"
            )
    s.note = f"removed {len(removed)} item{'s' if len(removed) != 1 else ''}"
    s.duration_ms = (time.perf_counter() - t0) * 1000
    return s
