"""The scan's second part: the link buckets (wheels, sdists, environments), walked by a thread.

Every link is read as uv's prune reads it (docs/uv-cache-format.md §6, `uv cache
prune`): symlinks and Windows link files both, and which of them uv counts is decided later
from what the cache holds (a Windows cache read from WSL or Linux has link files and no symlinks),
not by the OS. What it finds goes into a `LinkWalk`, merged once the thread is done (merge.py).
"""

from __future__ import annotations

import errno
import os
from array import array
from dataclasses import dataclass, field

from uv_cache_inspector.core.cache import links
from uv_cache_inspector.core.cache.layout import LINK_BUCKET_KINDS
from uv_cache_inspector.core.cache.scan.common import HAS_BLOCKS, Tally, ext, is_tmp, owner_tuple
from uv_cache_inspector.core.cache.scan.root import RootListing
from uv_cache_inspector.core.cache.walk import Listed, UnitResult, list_dir, walk_unit
from uv_cache_inspector.core.model import (
    CancelToken,
    Entry,
    LinkState,
    Mark,
    Owner,
    Problem,
    RevisionDir,
    SdistShard,
)

# Names and extensions uv's reference walk skips (docs/uv-cache-format.md §6).
_SKIP_NAMES = frozenset({"src", ".lock", ".gitignore"})
_SKIP_EXTS = frozenset({"lock", "whl", "http", "rev", "msgpack"})
_INDEX_WITH_DIGEST = frozenset({"index", "url", "path", "git", "editable"})


@dataclass
class LinkWalk:
    """What the link-bucket thread found."""

    entries: list[Entry] = field(default_factory=list)
    # Link files that did not parse: entries only if the cache turns out to be Windows-written.
    corrupt_files: list[Entry] = field(default_factory=list)
    symlinks: int = 0  # evidence of the layout: symlinks into archive-v*
    link_files: int = 0  # ... and link files naming archive-v*
    shards: list[SdistShard] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    units: list[tuple[UnitResult, str, str]] = field(default_factory=list)  # (result, bucket, role)
    tallies: dict[str, Tally] = field(default_factory=dict)
    linked_ino: array[int] = field(default_factory=lambda: array("Q"))
    linked_bytes: array[int] = field(default_factory=lambda: array("Q"))
    dev: int = 0
    vanished: int = 0
    error: BaseException | None = None
    own: dict[str, list[int]] = field(default_factory=dict)  # dir -> [bytes, shared] (own)
    top: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    revision_dirs: list[RevisionDir] = field(default_factory=list)

    def sizes(self) -> dict[str, tuple[int, int]]:
        """Cumulative sizes: every directory's own bytes plus everything below it."""
        total = {p: [b, s] for p, (b, s) in self.own.items()}
        for path in sorted(total, key=lambda p: -p.count(os.sep)):
            parent = os.path.dirname(path)
            if parent in total and parent != path:
                total[parent][0] += total[path][0]
                total[parent][1] += total[path][1]
        return {p: (b, s) for p, (b, s) in total.items()}


def _could_be_link(name: str) -> bool:
    return not name.startswith(".") and ext(name) not in _SKIP_EXTS and name not in _SKIP_NAMES


class LinkWalker:
    """Phase 2, on its own thread: reads what the root listing found (never changes it)."""

    def __init__(
        self,
        listing: RootListing,
        token: CancelToken,
        requested_style: str | None,
        read_pointers: bool,
    ) -> None:
        self.token = token
        self.requested_style = requested_style  # None: decided from the links found
        self.read_pointers = read_pointers
        self.root_device = listing.snap.root_device or 0
        self.bucket_paths = listing.bucket_paths
        self.archive_names = listing.archive_names
        self.archive_dir = listing.archive_dir
        self.archive_dir_real = listing.archive_dir_real

    def walk(self, out: LinkWalk) -> None:
        try:
            out.dev = self.root_device
            for name, (path, st, kind, _sym) in sorted(self.bucket_paths.items()):
                if self.token.cancelled():
                    return
                if kind in LINK_BUCKET_KINDS or kind == "environments":
                    self._walk_link_bucket(name, kind, path, st, out)
        except BaseException as exc:  # surfaced by the caller; never lost in a thread
            out.error = exc

    def _walk_link_bucket(
        self, bucket: str, kind: str, path: str, bst: os.stat_result, out: LinkWalk
    ) -> None:
        real_bucket = os.path.realpath(path)
        tally = out.tallies.setdefault(bucket, Tally())
        # (dir path, rel parts, owner of the dir)
        stack: list[tuple[str, tuple[str, ...], tuple[int, int, int]]] = [
            (path, (), owner_tuple(bst))
        ]
        while stack:
            if self.token.cancelled():
                return
            dpath, parts, downer = stack.pop()
            try:
                listing = list_dir(dpath)
            except FileNotFoundError:
                out.vanished += 1
                continue
            except OSError as exc:
                try:
                    owner: Owner | None = Owner.from_stat(os.lstat(dpath))
                except OSError:
                    owner = None
                out.marks.append(Mark(dpath, "unreadable", owner, detail=str(exc.strerror)))
                continue
            self._link_dir(
                bucket, kind, dpath, parts, downer, listing, real_bucket, tally, stack, out
            )

    def _link_dir(
        self,
        bucket: str,
        kind: str,
        dpath: str,
        parts: tuple[str, ...],
        downer: tuple[int, int, int],
        listing: list[Listed],
        real_bucket: str,
        tally: Tally,
        stack: list[tuple[str, tuple[str, ...], tuple[int, int, int]]],
        out: LinkWalk,
    ) -> None:
        """One directory of a link bucket: account every entry, read every link."""
        real_dir = os.path.join(real_bucket, *parts)
        prefix = dpath + os.sep
        duid, dgid, dmode = downer
        revision_dirs: list[str] = []
        pointer = None
        # Link files are read unless the caller said the cache is Unix-written: whether it is a
        # Windows cache is known only from what is in it.
        file_links = self.requested_style != "symlink"
        nbytes = files = sub_blocks = 0
        top = out.top.setdefault(bucket, []) if not parts else None
        if any(e[0] == "metadata.msgpack" for e in listing):
            out.revision_dirs.append(self._revision_dir(dpath, listing))
        for name, _kind, mode, ino, nlink, uid, gid, size, blocks, err, target, link_err in listing:
            if err:
                if err == errno.ENOENT:
                    out.vanished += 1
                else:
                    out.problems.append(Problem("unreadable", prefix + name, os.strerror(err)))
                continue
            alloc = blocks * 512 if HAS_BLOCKS else size
            fmt = mode & 0o170000
            if top is not None:
                top.append(
                    (
                        prefix + name,
                        "dir" if fmt == 0o040000 else "link" if fmt == 0o120000 else "file",
                    )
                )
            if fmt == 0o040000:
                full = prefix + name
                if is_tmp(name):
                    self._walk_inline(full, "tmp", downer, bucket, out)
                    continue
                if (kind == "sdists" and name == "src") or (
                    kind == "environments" and os.path.exists(full + os.sep + "pyvenv.cfg")
                ):
                    self._walk_inline(full, "tree", downer, bucket, out)
                    continue
                nbytes += alloc
                sub_blocks += alloc
                out.own.setdefault(full, [0, 0])[0] += alloc  # a directory's own block
                tally.dirs += 1
                child_owner = (uid, gid, mode & 0o7777)
                if uid != duid or gid != dgid:
                    out.marks.append(Mark(full, "owner", Owner(*child_owner, is_dir=True)))
                elif child_owner[2] != dmode:
                    out.marks.append(Mark(full, "mode", Owner(*child_owner, is_dir=True)))
                revision_dirs.append(name)
                stack.append((full, (*parts, name), child_owner))
                continue
            nbytes += alloc
            files += 1
            if uid != duid or gid != dgid:
                owner = Owner(uid, gid, mode & 0o7777, is_dir=False)
                out.marks.append(Mark(prefix + name, "owner", owner, 1, alloc))
            if fmt == 0o120000:
                if name in _SKIP_NAMES or ext(name) in _SKIP_EXTS:
                    continue
                if target is None:
                    out.problems.append(Problem("unreadable", prefix + name, os.strerror(link_err)))
                    continue
                self._symlink_entry(bucket, kind, prefix + name, parts, name, real_dir, target, out)
            elif fmt == 0o100000:
                if nlink > 1:
                    out.linked_ino.append(ino)
                    out.linked_bytes.append(alloc)
                if name in {"revision.http", "revision.rev"}:
                    pointer = name
                elif file_links and _could_be_link(name):
                    self._file_entry(bucket, kind, prefix + name, parts, name, size, out)
                elif self.read_pointers and ext(name) in {"http", "rev", "msgpack"}:
                    names = {e[0] for e in listing}
                    self._check_side_file(kind, prefix + name, name, names, out)
        tally.bytes += nbytes
        tally.files += files
        own = out.own.setdefault(dpath, [0, 0])
        own[0] += nbytes - sub_blocks
        if pointer is not None and kind in {"sdists", "built-wheels"}:
            out.shards.append(self._shard(bucket, dpath, parts, pointer, sorted(revision_dirs)))

    @staticmethod
    def _revision_dir(dpath: str, listing: list[Listed]) -> RevisionDir:
        kinds = [(e[0], e[1]) for e in listing]  # as os.DirEntry tells them
        package = None
        data = links.read_small(os.path.join(dpath, "metadata.msgpack"))
        if not isinstance(data, links.Corrupt):
            value = links.decode_msgpack(data)
            if isinstance(value, list) and value and isinstance(value[0], str):
                package = links.normalize_name(value[0])
            elif isinstance(value, dict) and isinstance(value.get("name"), str):
                package = links.normalize_name(value["name"])
        return RevisionDir(dpath, package, tuple(sorted(kinds)))

    def _walk_inline(
        self,
        path: str,
        role: str,
        parent_owner: tuple[int, int, int],
        bucket: str,
        out: LinkWalk,
    ) -> None:
        res = walk_unit(path, role, parent_owner)
        out.units.append((res, bucket, role))
        own = out.own.setdefault(path, [0, 0])
        own[0] += res.bytes
        own[1] += res.shared_bytes

    def _resolve(self, raw: str, real_dir: str) -> tuple[LinkState, str | None]:
        """Where a symlink lands, judged as uv's prune does: canonical path == an archive."""
        lt = links.parse_symlink_target(raw)
        target = os.path.normpath(os.path.join(real_dir, raw))
        parent, base = os.path.split(target)
        if parent in {self.archive_dir_real, self.archive_dir} and self.archive_dir:
            if base in self.archive_names:
                return LinkState.OK, base
            return LinkState.DANGLING, lt.archive_id
        # Through other symlinks or another spelling of the root: canonicalise, as uv does.
        real = os.path.realpath(target)
        parent, base = os.path.split(real)
        if self.archive_dir_real and parent == self.archive_dir_real:
            if base in self.archive_names:
                return LinkState.OK, base
            return LinkState.DANGLING, lt.archive_id
        if lt.archive_id is not None and lt.absolute:
            # An absolute link into some other cache's archive (uv < 0.11.17 wrote absolute
            # links; the cache was moved or shared with a container, docs/uv-cache-format.md §8).
            return LinkState.MOVED, lt.archive_id
        if not os.path.exists(real):
            return LinkState.DANGLING, lt.archive_id
        return LinkState.OUTSIDE, None

    def _entry_fields(
        self, kind: str, parts: tuple[str, ...], name: str
    ) -> tuple[str, str, str | None, str | None]:
        """(entry kind, index, package, version) from where a link sits and its name."""
        index = ""
        if parts:
            index = parts[0]
            if parts[0] in _INDEX_WITH_DIGEST and len(parts) > 1:
                index = f"{parts[0]}/{parts[1]}"
        stem = links.wheel_stem_name_version(name)
        if kind == "environments":
            return "environment", index, None, None
        if kind in {"sdists", "built-wheels"}:
            if stem:
                return "sdist", index, links.normalize_name(stem[0]), stem[1]
            return "sdist", index, None, None
        # wheels: pypi/<pkg>/<key>, index|url/<digest>/<pkg>/<key>, git/<digest>/<sha>/<stem>
        if stem:
            return "wheel", index, links.normalize_name(stem[0]), stem[1]
        package = parts[-1] if len(parts) >= 2 and parts[0] != "git" else None
        version = links.wheel_key_version(package or "", name)
        return "wheel", index, links.normalize_name(package) if package else None, version

    def _symlink_entry(
        self,
        bucket: str,
        kind: str,
        full: str,
        parts: tuple[str, ...],
        name: str,
        real_dir: str,
        raw: str,
        out: LinkWalk,
    ) -> None:
        state, aid = self._resolve(raw, real_dir)
        if aid is not None or state is LinkState.OK:
            out.symlinks += 1
        ekind, index, package, version = self._entry_fields(kind, parts, name)
        out.entries.append(
            Entry(bucket, full, ekind, index, package, version, aid, state, raw, "symlink")
        )

    def _file_entry(
        self,
        bucket: str,
        kind: str,
        full: str,
        parts: tuple[str, ...],
        name: str,
        size: int,
        out: LinkWalk,
    ) -> None:
        """A Windows link file (docs/uv-cache-format.md §3): `archive-v0/<id>` as UTF-8 text."""
        if size > 4096:
            return
        data = links.read_small(full, 4096)
        ekind, index, package, version = self._entry_fields(kind, parts, name)
        if isinstance(data, links.Corrupt):
            out.problems.append(Problem("unreadable", full, data.reason))
            return
        parsed = links.parse_link_file(data)
        if isinstance(parsed, links.Corrupt):
            if parts:  # where a link belongs; uv ignores it, the user should know
                out.corrupt_files.append(
                    Entry(
                        bucket,
                        full,
                        ekind,
                        index,
                        package,
                        version,
                        None,
                        LinkState.CORRUPT,
                        data[:80].decode("utf-8", "replace"),
                        "file",
                    )
                )
            return
        out.link_files += 1
        if parsed.archive_version != 0:
            state = LinkState.STALE_VERSION
        elif parsed.archive_id in self.archive_names:
            state = LinkState.OK
        else:
            state = LinkState.DANGLING
        out.entries.append(
            Entry(
                bucket,
                full,
                ekind,
                index,
                package,
                version,
                parsed.archive_id,
                state,
                parsed.raw,
                "file",
            )
        )

    def _check_side_file(
        self, kind: str, full: str, name: str, names: set[str], out: LinkWalk
    ) -> None:
        """Deep check of one side file (docs/uv-cache-format.md §3, "Side-file formats")."""
        data = links.read_small(full)
        if isinstance(data, links.Corrupt):
            out.problems.append(Problem("unreadable", full, data.reason))
            return
        suffix = ext(name)
        result: object
        if suffix == "http":
            result = (
                links.parse_http_archive(data) if kind == "wheels" else links.http_payload(data)
            )
        elif suffix == "rev":
            result = links.parse_rev(data) if kind == "wheels" else links.parse_revision_rev(data)
        elif kind == "wheels":  # <key>.msgpack: cached METADATA inside the .http container
            result = links.http_payload(data)
            if not isinstance(result, links.Corrupt) and not result:
                result = links.Corrupt("empty payload")
        else:  # sdist metadata.msgpack / hashes.msgpack: plain msgpack
            result = links.decode_msgpack(data)
        if isinstance(result, links.Corrupt):
            out.problems.append(Problem("corrupt", full, result.reason))
        elif isinstance(result, links.ArchivePointer):
            key = name.rsplit(".", 1)[0]
            if result.version == 0 and result.id not in self.archive_names and key in names:
                out.problems.append(
                    Problem("pointer-dangling", full, f"names archive {result.id}, which is gone")
                )

    def _shard(
        self,
        bucket: str,
        dpath: str,
        parts: tuple[str, ...],
        pointer: str,
        revisions: list[str],
    ) -> SdistShard:
        data = links.read_small(os.path.join(dpath, pointer))
        problem = None
        current: str | None = None
        if isinstance(data, links.Corrupt):
            problem = data.reason
        else:
            parsed = (
                links.parse_revision_http(data)
                if pointer.endswith(".http")
                else links.parse_revision_rev(data)
            )
            if isinstance(parsed, links.Corrupt):
                problem = parsed.reason
            else:
                current = parsed
        index = parts[0] if parts else ""
        package = version = None
        if parts and parts[0] in _INDEX_WITH_DIGEST and len(parts) > 1:
            index = f"{parts[0]}/{parts[1]}"
            rest = parts[2:]
        else:
            rest = parts[1:]
        if parts and parts[0] in {"pypi", "index"} and rest:
            package = links.normalize_name(rest[0])
            version = rest[1] if len(rest) > 1 else None
        return SdistShard(
            bucket, dpath, index, package, version, current, tuple(revisions), problem
        )
