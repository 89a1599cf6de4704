"""Bucket names, uv's release table, and which buckets are current, stale or unknown.

Facts from docs/uv-cache-format.md §2 ("Which buckets each release reads"). Bucket versions are
always read from directory names; this table only says which versions a given uv release reads.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from uv_cache_inspector.core.model import BucketStatus

BUCKET_RE = re.compile(r"^(?P<kind>[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*)-v(?P<version>\d+)$")

# Control files at the root that uv's prune keeps (docs/uv-cache-format.md §6, prune step 2).
ROOT_CONTROL_FILES = frozenset({"CACHEDIR.TAG", ".gitignore", ".git", ".lock"})
CACHEDIR_TAG_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"

# Buckets whose entries link into archive-v0 (docs/uv-cache-format.md §3, §6 "archive garbage
# collection"). "built-wheels" is sdists' name before 0.4.13.
LINK_BUCKET_KINDS = frozenset({"wheels", "sdists", "built-wheels"})


Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """'0.13.9' or 'uv 0.13.9 (abc 2026-01-01)' -> (0, 13, 9)."""
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def format_version(v: Version) -> str:
    return f"{v[0]}.{v[1]}.{v[2]}"


@functools.lru_cache(maxsize=4096)  # asked once per link of a scan, for a handful of names
def parse_bucket(name: str) -> tuple[str, int] | None:
    """'wheels-v8' -> ('wheels', 8); anything else -> None."""
    m = BUCKET_RE.match(name)
    if not m:
        return None
    return m.group("kind"), int(m.group("version"))


@dataclass(frozen=True, slots=True)
class Change:
    """Bucket versions introduced by a release. When the table only brackets the release
    (docs/uv-cache-format.md §2, the "between X and Y" rows), `since` is the first release known to
    have it and `after` the last known not to: releases in between may have either."""

    since: Version
    buckets: dict[str, int]
    after: Version | None = None
    removed: tuple[str, ...] = ()


# uv 0.3.0 is the baseline; every later change in release order (docs/uv-cache-format.md §2).
BASELINE: dict[str, int] = {
    "built-wheels": 3,
    "wheels": 1,
    "simple": 12,
    "flat-index": 0,
    "interpreter": 2,
    "git": 0,
    "builds": 0,
    "environments": 1,
    "archive": 0,
}
BASELINE_VERSION: Version = (0, 3, 0)

CHANGES: tuple[Change, ...] = (
    Change((0, 4, 13), {"sdists": 4, "wheels": 2, "simple": 13}, removed=("built-wheels",)),
    Change((0, 4, 16), {"flat-index": 1}),
    Change((0, 4, 25), {"sdists": 5}),
    Change((0, 5, 0), {"sdists": 6, "wheels": 3, "simple": 14, "flat-index": 2, "interpreter": 3}),
    Change((0, 5, 9), {"interpreter": 4}),
    Change((0, 5, 19), {"simple": 15}),
    Change((0, 5, 26), {"sdists": 7}),
    Change((0, 6, 0), {"sdists": 8, "wheels": 4, "environments": 2}),
    Change((0, 6, 4), {"wheels": 5}),
    Change((0, 6, 8), {"sdists": 9}),
    Change((0, 7, 5), {"simple": 16}),
    Change((0, 8, 4), {"python": 0}),
    Change((0, 8, 13), {"binaries": 0}),
    Change((0, 8, 15), {"simple": 17}),
    Change((0, 8, 18), {"simple": 18}),
    Change((0, 9, 27), {"simple": 19}),
    Change((0, 10, 0), {"wheels": 6, "simple": 20}),
    Change((0, 11, 3), {"simple": 21}),
    Change((0, 11, 16), {"osv": 0}),
    Change((0, 11, 27), {"flat-index": 3, "simple": 22}),
    Change((0, 11, 30), {"flat-index": 4, "simple": 24}),
    # files-v0: the content-addressed store (preview `content-addressed-cache`); kept by every
    # release's prune since 0.12.8 (docs/uv-cache-format.md §2, runs of 0.12.6-0.13.9).
    Change((0, 12, 8), {"files": 0}),
    Change((0, 12, 13), {"flat-index": 5, "simple": 25}),
    Change((0, 12, 19), {"git": 1}),
    Change(
        (0, 13, 0),
        {"sdists": 10, "wheels": 7, "flat-index": 6, "simple": 26, "python": 1, "osv": 1},
    ),
    Change((0, 13, 2), {"flat-index": 7, "simple": 27}),
    Change((0, 13, 8), {"interpreter": 5}),
    Change((0, 13, 9), {"sdists": 11, "wheels": 8, "git": 2, "simple": 28}),
)

NEWEST_KNOWN: Version = CHANGES[-1].since

# Every bucket kind any release has used, with the highest version we know of.
KNOWN_MAX: dict[str, int] = dict(BASELINE)
for _c in CHANGES:
    for _k, _v in _c.buckets.items():
        KNOWN_MAX[_k] = max(KNOWN_MAX.get(_k, -1), _v)
KNOWN_KINDS = frozenset(KNOWN_MAX) | {"environments"}


@dataclass(frozen=True, slots=True)
class BucketSet:
    """The buckets a uv release reads. `possible` adds those it may read where the release
    table is uncertain (never call those stale)."""

    uv_version: Version
    current: dict[str, int]
    possible: dict[str, frozenset[int]]
    beyond_table: bool  # the release is newer than our table: higher versions may be current

    def names(self) -> list[str]:
        return sorted(f"{k}-v{v}" for k, v in self.current.items())


def buckets_for(version: Version) -> BucketSet:
    """The buckets uv `version` considers current (its own list, docs/uv-cache-format.md §2)."""
    current = dict(BASELINE)
    possible: dict[str, set[int]] = {}
    for change in CHANGES:
        if version >= change.since:
            for kind in change.removed:
                current.pop(kind, None)
            current.update(change.buckets)
        elif change.after is not None and version > change.after:
            # Inside a "between" row: this release has the old or the new version.
            for kind, v in change.buckets.items():
                possible.setdefault(kind, set()).add(v)
    for kind, v in current.items():
        possible.setdefault(kind, set()).add(v)
    return BucketSet(
        uv_version=version,
        current=current,
        possible={k: frozenset(v) for k, v in possible.items()},
        beyond_table=version > NEWEST_KNOWN,
    )


@functools.lru_cache(maxsize=256)  # a walk over the release table, asked once per link
def uv_versions_for_bucket(kind: str, version: int) -> tuple[Version, Version | None] | None:
    """The range of uv releases that use bucket `kind-vN`: (first, first release that stopped)."""
    first: Version | None = BASELINE_VERSION if BASELINE.get(kind) == version else None
    stopped: Version | None = None
    for change in CHANGES:
        if change.buckets.get(kind) == version and first is None:
            first = change.since
        elif (
            first is not None
            and stopped is None
            and (kind in change.buckets or kind in change.removed)
        ):
            stopped = change.since
    if first is None:
        return None
    return first, stopped


@functools.lru_cache(maxsize=256)
def describe_uv_range(kind: str, version: int) -> str:
    rng = uv_versions_for_bucket(kind, version)
    if rng is None:
        return "written by a uv release we do not know"
    first, stopped = rng
    if stopped is None:
        return f"written by uv {format_version(first)} or newer"
    return f"written by uv {format_version(first)} to before {format_version(stopped)}"


def classify(name: str, bucket_set: BucketSet) -> tuple[BucketStatus, str]:
    """Status of a root directory `name` relative to the newest uv on this machine."""
    parsed = parse_bucket(name)
    if parsed is None:
        return BucketStatus.UNKNOWN, "not a uv bucket name"
    kind, version = parsed
    if kind == "archive" and version == 0:
        return BucketStatus.CURRENT, "every uv release"
    cur = bucket_set.current.get(kind)
    possible = bucket_set.possible.get(kind, frozenset())
    if version in possible or cur == version:
        return BucketStatus.CURRENT, describe_uv_range(kind, version)
    if kind not in KNOWN_KINDS:
        return BucketStatus.UNKNOWN, "a bucket kind this inspector does not know"
    newest_possible = max(possible) if possible else None
    if newest_possible is not None and version > newest_possible:
        return BucketStatus.UNKNOWN, "newer than the newest uv found on this machine"
    if version > KNOWN_MAX.get(kind, -1):
        return BucketStatus.UNKNOWN, "newer than any uv release this inspector knows"
    if cur is None and bucket_set.beyond_table:
        return BucketStatus.UNKNOWN, "not used by uv releases this inspector knows"
    return BucketStatus.STALE, describe_uv_range(kind, version)


# -- is this directory a uv cache? -------------------------------------------------------------
# Every uv release writes CACHEDIR.TAG and `.gitignore` when it first uses a cache (uv PR #526,
# Dec 2023, before 0.1.0). The tag's signature is the generic cache-directory one (cargo, tox
# and others write it too), and a name such as `report-v2` or `node-v18` only looks like a
# bucket; so neither alone proves a uv cache (issue 12, item 1).


def is_known_bucket(name: str) -> bool:
    """A directory name some uv release writes at the cache root (`wheels-v8`, `archive-v0`)."""
    parsed = parse_bucket(name)
    return parsed is not None and parsed[0] in KNOWN_KINDS


def uv_writes_at_root(name: str, is_dir: bool) -> bool:
    if name.startswith(".tmp"):
        return True
    if is_dir:
        return is_known_bucket(name) or name == ".git"
    return name in ROOT_CONTROL_FILES


def not_a_cache_reason(names: list[tuple[str, bool]], tag_valid: bool) -> str | None:
    """None when `names` (the root's (name, is_dir) pairs) are uv's evidence of a cache: uv's
    CACHEDIR.TAG beside at least one bucket that uv writes; or, without the tag, only things uv
    writes, at least one of them a bucket. Otherwise why not, for people."""
    buckets = [n for n, d in names if d and is_known_bucket(n)]
    if tag_valid and buckets:
        return None
    foreign = sorted(n for n, d in names if not uv_writes_at_root(n, d))
    if buckets and not foreign:
        return None
    if not buckets:
        return "no bucket that uv writes (such as archive-v0 or wheels-v8)" + (
            "" if tag_valid else " and no CACHEDIR.TAG"
        )
    shown = ", ".join(foreign[:3]) + (" …" if len(foreign) > 3 else "")
    return f"no CACHEDIR.TAG, and names uv never writes at a cache's top level ({shown})"
