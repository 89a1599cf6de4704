"""The quick look: what the first second of a diagnosis needs, on any cache size.

lstat of the root, its entries, and the entries one level below each bucket (ownership and
modes of the top two levels, where the causes of uv's rename and open failures live), the
CACHEDIR.TAG, and the age of the top-level `.tmp*` directories from their own mtime. A few
thousand syscalls at most, against the full scan's hundreds of thousands.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from uv_cache_inspector.core.cache.layout import (
    CACHEDIR_TAG_SIGNATURE,
    not_a_cache_reason,
    parse_bucket,
)
from uv_cache_inspector.core.errors import (
    CacheNotFoundError,
    CacheUnreadableError,
    NotACacheError,
)
from uv_cache_inspector.core.model import Owner

_NT = os.name == "nt"
MAX_CHILDREN = 50_000  # per bucket: a bigger archive-v0 is sampled by the full scan


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    rel: tuple[str, ...]
    owner: Owner
    mtime: float
    device: int
    is_symlink: bool = False


@dataclass
class QuickLook:
    root: str
    real_root: str
    root_node: Node
    nodes: list[Node] = field(default_factory=list)  # depth 1 and 2, no symlinks followed
    has_tag: bool = False
    tag_valid: bool = False
    buckets: list[str] = field(default_factory=list)
    tmp_dirs: list[Node] = field(default_factory=list)  # at the root
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False

    def not_a_cache_reason(self) -> str | None:
        """None when the top level is uv's evidence of a cache (core.layout's one rule)."""
        names = [
            (n.rel[0], n.owner.is_dir and not n.is_symlink) for n in self.nodes if len(n.rel) == 1
        ]
        return not_a_cache_reason(names, self.tag_valid)

    def looks_like_uv_cache(self) -> bool:
        return self.not_a_cache_reason() is None


def _node(path: str, rel: tuple[str, ...], st: os.stat_result) -> Node:
    return Node(path, rel, Owner.from_stat(st), st.st_mtime, st.st_dev, stat.S_ISLNK(st.st_mode))


def quick_look(root: str) -> QuickLook:
    try:
        st = os.stat(root)
    except FileNotFoundError as exc:
        raise CacheNotFoundError(f"uv has not created a cache at {root}") from exc
    except NotADirectoryError as exc:
        raise NotACacheError(f"{root} is not a directory") from exc
    except OSError as exc:
        raise CacheUnreadableError(f"cannot open {root}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise NotACacheError(f"{root} is a file, not a cache directory")
    real = os.path.realpath(root)
    q = QuickLook(root, real, _node(real, (), st))
    try:
        with os.scandir(real) as it:
            top = list(it)
    except OSError as exc:
        q.unreadable.append((real, f"{exc.strerror} (os error {exc.errno})"))
        return q
    for e in sorted(top, key=lambda e: e.name):
        try:
            est = e.stat(follow_symlinks=False)
            if _NT:
                # Windows: a directory entry's stat has st_dev 0 (and no st_ino): without the
                # volume's serial, every bucket would look like another filesystem.
                est = os.lstat(e.path)
        except OSError:
            continue
        node = _node(e.path, (e.name,), est)
        q.nodes.append(node)
        if e.name == "CACHEDIR.TAG" and stat.S_ISREG(est.st_mode):
            q.has_tag = True
            try:
                with open(e.path, "rb") as fh:
                    q.tag_valid = fh.read(64).startswith(CACHEDIR_TAG_SIGNATURE)
            except OSError:
                q.tag_valid = False
        if e.name.startswith(".tmp"):
            q.tmp_dirs.append(node)
            continue
        if stat.S_ISDIR(est.st_mode) and parse_bucket(e.name):
            q.buckets.append(e.name)
            _children(q, e.path, e.name)
    return q


def _children(q: QuickLook, path: str, name: str) -> None:
    try:
        with os.scandir(path) as it:
            for i, c in enumerate(it):
                if i >= MAX_CHILDREN:
                    q.truncated = True
                    break
                try:
                    cst = c.stat(follow_symlinks=False)
                except OSError:
                    continue
                q.nodes.append(_node(c.path, (name, c.name), cst))
    except OSError as exc:
        q.unreadable.append((path, f"{exc.strerror} (os error {exc.errno})"))
