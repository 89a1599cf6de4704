"""Verify: find the edits that leaked into the cache, and make the next install pristine.

uv installs by hard-linking files out of `archive-v0` (docs/uv-cache-format.md §7), so a file edited
in place in an environment (a debugging print, an editor that writes in place) is the cache's file
too, and every later install of that version, in every project, gets the edit (uv issues #10579,
#10896, #15700). `verify()` checks every unpacked wheel against its RECORD (`core.record`, in the
worker pool), reports a `modified-archive` finding per changed archive with each file's link count
and the environments found to share it, and remembers its verdicts in the user's state directory so
that checking an unchanged cache again hashes nothing.

`actions.delete.verify_plan()` removes the modified archives with every link that names them, links
first (the plan/apply machinery of prune: uv finds a usable cache at every instant), so the next
install unpacks a fresh copy. Environments keep their edited files until reinstalled; the report
names the command. Cached environments in the cache that share an edited file go too (uv recreates
them on demand).

The CLI (`uvci verify`) and the app's Tools → Verify both run `verify()`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shlex
import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.links import normalize_name
from uv_cache_inspector.core.cache.record import (
    MISSING,
    UNREADABLE,
    ArchiveCheck,
    ArchiveState,
    check_many,
    file_key,
)
from uv_cache_inspector.core.errors import CacheUnreadableError, CancelledError, NotACacheError
from uv_cache_inspector.core.model import (
    CancelToken,
    Finding,
    Progress,
    Severity,
    Snapshot,
    display_path,
)

STATE_ENV = "UVCI_STATE_DIR"
STATE_VERSION = 1
CODE = "modified-archive"
MAX_FILES_IN_MESSAGE = 8


# -- where the verdicts are remembered ---------------------------------------------------------


def state_dir() -> str:
    """$UVCI_STATE_DIR, else the user's state directory (platformdirs), `verify` below it."""
    if os.environ.get(STATE_ENV):
        return os.environ[STATE_ENV]
    from platformdirs import user_state_dir

    return os.path.join(user_state_dir("uv-cache-inspector", appauthor=False), "verify")


def state_files(real_root: str, directory: str | None = None) -> tuple[str, str]:
    """(verdicts file, summary file) of the cache at `real_root`: one pair per cache."""
    key = hashlib.sha256(real_root.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    base = os.path.join(directory or state_dir(), key)
    return base + ".msgpack", base + ".json"


def _inside(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _load_verdicts(path: str, real_root: str) -> dict[str, ArchiveState]:
    import msgpack

    try:
        with open(path, "rb") as fh:
            data = msgpack.unpackb(
                fh.read(),
                use_list=False,
                strict_map_key=False,
                raw=False,
                unicode_errors="surrogateescape",
            )
    except (OSError, ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return {}
    if (
        not isinstance(data, dict)
        or data.get("version") != STATE_VERSION
        or data.get("root") != real_root
        or not isinstance(data.get("archives"), dict)
    ):
        return {}
    return data["archives"]  # type: ignore[no-any-return]


def _write_atomic(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _save_verdicts(path: str, real_root: str, archives: dict[str, ArchiveState]) -> None:
    import msgpack

    packed = msgpack.packb(
        {"version": STATE_VERSION, "root": real_root, "archives": archives},
        use_bin_type=True,
        unicode_errors="surrogateescape",
    )
    _write_atomic(path, packed)


def load_summary(real_root: str, directory: str | None = None) -> dict[str, Any] | None:
    """What the last verify of this cache found (for doctor and the app), or None."""
    _, path = state_files(real_root, directory)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return None
    if data.get("root") != real_root:
        return None
    return data


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str  # relative to the archive, "/"-separated
    change: str  # "modified" | "missing" | "unexpected" | "unreadable"
    detail: str
    links: int  # the file's link count: 1 + the places that share this very file
    places: tuple[str, ...] = ()  # where the shared file was found (environments)
    key: tuple[int, int, int, int] = (0, 0, 0, 0)  # (size, mtime_ns, ctime_ns, inode) as seen

    def to_json(self) -> dict[str, Any]:
        return {
            "path": display_path(self.path),
            "change": self.change,
            "detail": self.detail,
            "links": self.links,
            "places": [display_path(p) for p in self.places],
        }


def _archive_json(aid: str, path: str, package: str | None, version: str | None) -> dict[str, Any]:
    return {"id": aid, "path": display_path(path), "package": package, "version": version}


@dataclass(frozen=True, slots=True)
class ModifiedArchive:
    id: str
    path: str
    package: str | None
    version: str | None
    files: tuple[ChangedFile, ...]
    environments: tuple[str, ...] = ()  # cached environments in this cache that share a file

    @property
    def other_links(self) -> int:
        return max((f.links - 1 for f in self.files), default=0)

    def label(self) -> str:
        return f"{self.package} {self.version or ''}".strip() if self.package else self.id

    def to_json(self) -> dict[str, Any]:
        return {
            **_archive_json(self.id, self.path, self.package, self.version),
            "files": [f.to_json() for f in self.files],
            "other_links": self.other_links,
            "cached_environments": [display_path(p) for p in self.environments],
        }


@dataclass(frozen=True, slots=True)
class Unverifiable:
    id: str
    path: str
    package: str | None
    version: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        ident = _archive_json(self.id, self.path, self.package, self.version)
        return {**ident, "reason": self.reason}


@dataclass
class VerifyReport:
    root: str
    started_at: float
    packages: tuple[str, ...] = ()
    verified: int = 0  # archives compared with their RECORD
    files: int = 0
    hashed: int = 0
    hashed_bytes: int = 0
    reused: int = 0  # files judged by a remembered verdict
    duration: float = 0.0
    modified: list[ModifiedArchive] = field(default_factory=list)
    cannot_verify: list[Unverifiable] = field(default_factory=list)
    environments_checked: list[str] = field(default_factory=list)
    state_file: str | None = None
    state_note: str | None = None  # why nothing was remembered, when that happened

    @property
    def findings(self) -> list[Finding]:
        return [modified_finding(m) for m in self.modified]

    def to_json(self) -> dict[str, Any]:
        return {
            "cache_dir": display_path(self.root),
            "verified_at": self.started_at,
            "duration_seconds": round(self.duration, 3),
            "packages": list(self.packages),
            "archives": {
                "verified": self.verified,
                "modified": len(self.modified),
                "cannot_verify": len(self.cannot_verify),
            },
            "files": {"checked": self.files, "hashed": self.hashed, "remembered": self.reused},
            "bytes_hashed": self.hashed_bytes,
            "findings": [f.to_json() for f in self.findings],
            "modified": [m.to_json() for m in self.modified],
            "cannot_verify": [u.to_json() for u in self.cannot_verify],
            "environments_checked": [display_path(p) for p in self.environments_checked],
            "reinstall": reinstall_commands(self.modified),
            "state_file": display_path(self.state_file) if self.state_file else None,
            "state_note": self.state_note,
        }


def reinstall_commands(modified: Iterable[ModifiedArchive]) -> list[str]:
    """The commands that give environments sharing an edit the pristine files again (after the
    fix: with the archive gone, uv unpacks a fresh copy)."""
    out: list[str] = []
    for m in modified:
        if not m.package:
            continue
        name = m.package
        spec = f"{name}=={m.version}" if m.version else name
        venvs = sorted({p for f in m.files for p in f.places if p not in m.environments})
        out.extend(
            f"uv pip install --python {shlex.quote(venv)} --reinstall-package {name} "
            f"{shlex.quote(spec)}"
            for venv in venvs
        )
        out.append(f"uv pip install --reinstall-package {name} {shlex.quote(spec)}")
        out.append(f"uv sync --reinstall-package {name}")
    return list(dict.fromkeys(out))


def _file_words(f: ChangedFile) -> str:
    text = f"{f.path} {f.change} ({f.detail}"
    if f.links > 1:
        others = f.links - 1
        text += f"; shared with {others} other place{'s' if others != 1 else ''}"
    return text + ")"


def modified_finding(m: ModifiedArchive, found_at: float | None = None) -> Finding:
    """The `modified-archive` finding of one archive (verify, and doctor from the summary)."""
    shown = "; ".join(_file_words(f) for f in m.files[:MAX_FILES_IN_MESSAGE])
    more = len(m.files) - MAX_FILES_IN_MESSAGE
    if more > 0:
        shown += f"; and {more} more"
    when = f" (found by `uvci verify` {fmt.since(found_at)})" if found_at else ""
    n = len(m.files)
    message = (
        f"{m.label()} in the cache differs from its RECORD{when}: {n} file"
        f"{'s' if n != 1 else ''} changed after uv unpacked it, so every install of it gets "
        f"the change: {shown}."
    )
    name = m.package or "NAME"
    fix = (
        "`uvci verify --fix` removes the archive with the links that name it, so the next "
        "install unpacks a fresh copy. Environments that share the edited files keep them "
        f"until reinstalled (`uv pip install --reinstall-package {name}`, or "
        f"`uv sync --reinstall-package {name}` in a project)."
    )
    return Finding(
        F.MODIFIED_ARCHIVE,  # CODE, written out: the README's code table is checked by name
        Severity.ERROR,
        m.path,
        message,
        fix,
        {
            "package": m.package,
            "version": m.version,
            "archive_id": m.id,
            "files": [f.to_json() for f in m.files],
            "other_links": m.other_links,
        },
        count=n,
    )


# -- where else the edited files are -----------------------------------------------------------


def _site_dirs(env: str) -> list[str]:
    """The site-packages directories of an environment (posix and Windows layouts)."""
    found = glob.glob(os.path.join(glob.escape(env), "lib", "python*", "site-packages"))
    found += glob.glob(os.path.join(glob.escape(env), "Lib", "site-packages"))
    return sorted({os.path.realpath(p) for p in found if os.path.isdir(p)})


def _installed_names(rel: str) -> list[tuple[str, str]]:
    """Where a file of the wheel lands, relative to (site-packages | the environment)."""
    head, _, rest = rel.partition("/")
    if head.endswith(".data") and rest:
        scheme, _, inner = rest.partition("/")
        if scheme in {"purelib", "platlib"}:
            return [("site", inner)]
        if scheme == "scripts":
            return [("env", f"bin/{inner}"), ("env", f"Scripts/{inner}")]
        if scheme == "data":
            return [("env", inner)]
        return []
    return [("site", rel)]


def _places(env: str, rel: str, dev: int, ino: int) -> list[str]:
    hits = []
    for where, name in _installed_names(rel):
        bases = _site_dirs(env) if where == "site" else [env]
        for base in bases:
            p = os.path.join(base, *name.split("/"))
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (dev, ino):
                hits.append(env)
    return hits


def environment_candidates(cached: Sequence[str], venvs: Sequence[str]) -> list[str]:
    """Cached environments in the cache, then the environments the user named."""
    named = [os.path.abspath(v) for v in venvs if v and os.path.isdir(v)]
    return list(dict.fromkeys([*cached, *named]))


# -- the operation -----------------------------------------------------------------------------


def _archives(root: str, snapshot: Snapshot | None) -> tuple[str, dict[str, int]]:
    """(real root, {archive path: weight}). Without a snapshot the cache is not scanned: a look
    at its root and a listing of archive-v0 is all verify needs (the workers see the rest)."""
    if snapshot is not None:
        if not (snapshot.has_tag or snapshot.buckets):
            raise NotACacheError(f"{snapshot.root} is not a uv cache: nothing to verify")
        return snapshot.real_root, {a.path: max(1, a.bytes) for a in snapshot.archives}
    from uv_cache_inspector.core.diagnosis.quick import quick_look

    quick = quick_look(root)  # raises for a missing root, a file, an unreadable root
    if not quick.looks_like_uv_cache():
        raise NotACacheError(
            f"{root} is not a uv cache (no CACHEDIR.TAG, no uv buckets): nothing to verify"
        )
    archive_dir = os.path.join(quick.real_root, "archive-v0")
    try:
        with os.scandir(archive_dir) as it:
            names = sorted(e.name for e in it if not e.name.startswith(".tmp"))
    except FileNotFoundError:
        names = []
    except OSError as exc:
        raise CacheUnreadableError(f"cannot list {archive_dir}: {exc.strerror or exc}") from exc
    return quick.real_root, {os.path.join(archive_dir, n): 1 for n in names}


def verify(
    root: str,
    *,
    snapshot: Snapshot | None = None,
    packages: Sequence[str] = (),
    venvs: Sequence[str] = (),
    cancel: CancelToken | None = None,
    workers: int | None = None,
    use_state: bool = True,
    state_directory: str | None = None,
) -> Generator[Progress, None, VerifyReport]:
    """Check the unpacked wheels of the cache at `root` (only `packages`, when given) against
    their RECORD. Yields Progress; returns the VerifyReport. A `snapshot` of a scan already
    made gives the archives' sizes (for progress and balancing); without one the cache is not
    scanned. Raises CacheNotFoundError / NotACacheError for the root and CancelledError when
    `cancel` fires (nothing is remembered then)."""
    from uv_cache_inspector.core.cache.workers import WorkerPool, chunked, default_worker_count

    token = cancel or CancelToken()
    started = time.time()
    t0 = time.perf_counter()
    yield Progress("verifying", message="listing the archives")
    real, weights = _archives(root, snapshot)
    names = frozenset(normalize_name(p) for p in packages)
    report = VerifyReport(real, started, tuple(sorted(names)))
    verdicts_file, summary_file = state_files(real, state_directory)
    remembered = _load_verdicts(verdicts_file, real) if use_state else {}

    def weight(path: str) -> int:
        if weights[path] > 1:
            return weights[path]
        try:
            return 1 + len(remembered[os.path.basename(path)][1])
        except (KeyError, IndexError, TypeError):  # not remembered (or a damaged state)
            return 1

    # The big ones first, so that the pool ends together (sizes from the snapshot, or the
    # number of files the last verify saw).
    paths = sorted(weights, key=lambda p: (-weight(p), p))
    units = [(p, remembered.get(os.path.basename(p)), names) for p in paths]
    total = sum(weights.values()) or 1
    yield Progress("verifying", 0, total, 0, f"{len(units):,} archives")

    results: list[ArchiveCheck] = []
    done = 0
    count = default_worker_count() if workers is None else workers
    pool: WorkerPool | None = None
    if count > 1 and len(units) > 1:
        try:
            pool = WorkerPool(min(count, len(units)), task="verify")
        except OSError:
            pool = None
    try:
        batches: Iterable[list[ArchiveCheck]] = (
            pool.run(chunked(units, len(pool.procs)))
            if pool is not None
            else (check_many([u]) for u in units)
        )
        for batch in batches:
            for r in batch:
                results.append(r)
                report.hashed_bytes += r.hashed_bytes
                done += weights[r.path]
            if token.cancelled():
                raise CancelledError("verify cancelled")
            label = (batch[-1].package or "") if batch else ""
            yield Progress("verifying", done, total, report.hashed_bytes, label)
    finally:
        if pool is not None:
            pool.end(token.cancelled())

    cached_envs = [r.path for r in results if r.kind == "environment"]
    places_in = environment_candidates(sorted(cached_envs), venvs)
    report.environments_checked = places_in
    new_state: dict[str, ArchiveState] | None = None if names else {}
    changed = False
    for r in sorted(results, key=lambda r: r.path):
        aid = os.path.basename(r.path)
        if r.status in {"gone", "skipped"}:
            continue
        if r.status == "cannot-verify":
            report.cannot_verify.append(Unverifiable(aid, r.path, r.package, r.version, r.reason))
            continue
        report.verified += 1
        report.files += r.files
        report.hashed += r.hashed
        report.reused += r.reused
        state = r.state if r.state_changed else remembered.get(aid)
        changed = changed or r.state_changed
        if new_state is not None and state is not None:
            new_state[aid] = state
        edits = [p for p in r.problems if p.change != UNREADABLE]
        if edits:
            report.modified.append(_modified(r, places_in))
        elif r.problems:  # nothing differs that could be read: not a verdict of "modified"
            first = r.problems[0]
            n = len(r.problems)
            report.cannot_verify.append(
                Unverifiable(
                    aid,
                    r.path,
                    r.package,
                    r.version,
                    f"{n} file{'s' if n != 1 else ''} cannot be read ({first.path}: "
                    f"{first.detail})",
                )
            )
    report.cannot_verify.sort(key=lambda u: (u.package or "~", u.version or "", u.id))
    report.modified.sort(key=lambda m: (m.package or "~", m.version or "", m.id))
    report.duration = time.perf_counter() - t0
    _remember(report, remembered, new_state, changed, results, verdicts_file, summary_file)
    yield Progress("done", total, total, report.hashed_bytes)
    return report


def _modified(r: ArchiveCheck, places_in: Sequence[str]) -> ModifiedArchive:
    files = []
    envs: set[str] = set()
    for p in r.problems:
        places: list[str] = []
        if p.links > 1:
            for env in places_in:
                places += _places(env, p.path, p.dev, p.ino)
        envs.update(e for e in places if e.startswith(os.path.dirname(r.path) + os.sep))
        key = (0, 0, 0, 0)
        if p.change != MISSING:
            try:
                key = file_key(os.lstat(os.path.join(r.path, *p.path.split("/"))))
            except OSError:
                key = (0, 0, 0, 0)
        files.append(ChangedFile(p.path, p.change, p.detail, p.links, tuple(places), key))
    aid = os.path.basename(r.path)
    return ModifiedArchive(aid, r.path, r.package, r.version, tuple(files), tuple(sorted(envs)))


def _remember(
    report: VerifyReport,
    remembered: dict[str, ArchiveState],
    new_state: dict[str, ArchiveState] | None,
    changed: bool,
    results: Sequence[ArchiveCheck],
    verdicts_file: str,
    summary_file: str,
) -> None:
    """Save the verdicts and the summary, in the user's state directory (never in the cache)."""
    real = report.root
    if _inside(verdicts_file, real):
        report.state_note = (
            f"the state directory {verdicts_file} is inside the cache: nothing was remembered"
        )
        return
    verified_ids = {os.path.basename(r.path) for r in results}
    if new_state is None:  # --package: the other archives' verdicts stay as they were
        merged = dict(remembered)
        for r in results:
            aid = os.path.basename(r.path)
            if r.status != "verified":
                merged.pop(aid, None)
            elif r.state_changed and r.state is not None:
                merged[aid] = r.state
        new_state = merged
        changed = True
    elif set(new_state) != set(remembered):
        changed = True
    old = load_summary(real, os.path.dirname(summary_file))
    modified = {
        k: v
        for k, v in ((old or {}).get("modified") or {}).items()
        if report.packages and k not in verified_ids and os.path.isdir(v.get("path", ""))
    }
    for m in report.modified:
        modified[m.id] = {
            **m.to_json(),
            "path": m.path,
            "keys": {f.path: list(f.key) for f in m.files},
            "found_at": report.started_at,
        }
    summary = {
        "version": STATE_VERSION,
        "root": real,
        "verified_at": report.started_at,
        "complete_at": report.started_at if not report.packages else (old or {}).get("complete_at"),
        "packages": list(report.packages),
        "archives": report.verified,
        "cannot_verify": len(report.cannot_verify),
        "files": report.files,
        "modified": modified,
    }
    try:
        if changed:
            _save_verdicts(verdicts_file, real, new_state)
        _write_atomic(summary_file, json.dumps(summary, indent=1).encode("utf-8"))
        report.state_file = verdicts_file
    except OSError as exc:
        report.state_note = f"could not remember the verdicts in {verdicts_file}: {exc}"


# -- what doctor and the app say without hashing -----------------------------------------------


def _still_as_found(entry: dict[str, Any]) -> bool:
    """The recorded files of a modified archive are as they were when verify saw them."""
    path = entry.get("path") or ""
    if not os.path.isdir(path):
        return False
    for rel, key in (entry.get("keys") or {}).items():
        full = os.path.join(path, *rel.split("/"))
        try:
            now: tuple[int, ...] = file_key(os.lstat(full))
        except OSError:
            now = (0, 0, 0, 0)
        if tuple(key) != now:
            return False
    return True


def summary_findings(real_root: str, now: float | None = None) -> list[Finding]:
    """Doctor's view of the last verify: when it ran, and the archives it found modified that
    are still as it found them (no hashing: a few lstat calls)."""
    summary = load_summary(real_root)
    if summary is None:
        return []  # never verified: nothing to report (a note on every doctor run is noise)
    out: list[Finding] = []
    changed_since = 0
    for entry in (summary.get("modified") or {}).values():
        if not os.path.isdir(entry.get("path") or ""):
            continue
        if not _still_as_found(entry):
            changed_since += 1
            continue
        files = tuple(
            ChangedFile(
                f.get("path", ""),
                f.get("change", ""),
                f.get("detail", ""),
                int(f.get("links", 1)),
                tuple(f.get("places", ())),
            )
            for f in entry.get("files", [])
        )
        m = ModifiedArchive(
            entry.get("id", ""),
            entry["path"],
            entry.get("package"),
            entry.get("version"),
            files,
            tuple(entry.get("cached_environments", ())),
        )
        out.append(modified_finding(m, entry.get("found_at")))
    when = summary.get("complete_at") or summary.get("verified_at")
    scope = (
        "all unpacked wheels"
        if summary.get("complete_at")
        else f"only {', '.join(summary.get('packages') or [])}"
    )
    text = (
        f"Contents last verified {fmt.since(when, now)} ({scope}): "
        f"{len(out)} archive{'s' if len(out) != 1 else ''} found modified"
        + (f", {changed_since} more changed since (verify again)" if changed_since else "")
        + "."
    )
    out.append(
        Finding(
            F.LAST_VERIFIED,
            Severity.INFO,
            None,
            text,
            "`uvci verify` checks again (unchanged files are not hashed again)."
            if changed_since or out
            else None,
            {"verified_at": summary.get("verified_at"), "complete_at": summary.get("complete_at")},
        )
    )
    return out
