"""Rules about where the cache is and what wrote it: not a uv cache, location settings, stale
and unknown buckets, several uv releases on one cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.layout import (
    classify,
    describe_uv_range,
    format_version,
    parse_bucket,
)
from uv_cache_inspector.core.diagnosis.inputs import (
    UV_FIRST_LOCKING,
    Inputs,
    finding,
)
from uv_cache_inspector.core.model import (
    BucketStatus,
    Finding,
    Severity,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def rule_not_a_cache(inp: Inputs) -> Iterable[Finding]:
    q = inp.quick
    if q.looks_like_uv_cache():
        if not q.has_tag:
            yield finding(
                F.MISSING_CACHEDIR_TAG,
                INFO,
                inp.root,
                "The cache has no CACHEDIR.TAG; uv writes one on its next run, and backup tools "
                "use it to skip the cache.",
                "Nothing to do: the next uv command recreates it.",
            )
        return
    if not q.nodes:
        return  # an empty directory: uv's next run fills it
    yield finding(
        F.NOT_A_UV_CACHE,
        ERROR,
        inp.root,
        f"{fmt.user_path(inp.root)} does not look like a uv cache: it has "
        f"{q.not_a_cache_reason()}, so the inspector will not change anything in it.",
        "Run `uv cache dir` to see where uv keeps its cache, and open that directory.",
    )


def rule_location(inp: Inputs) -> Iterable[Finding]:
    loc = inp.location
    if loc is None:
        return
    if loc.disagreement:
        yield finding(
            F.LOCATION_DISAGREEMENT,
            WARNING,
            inp.root,
            loc.disagreement,
            "Check UV_CACHE_DIR and any uv.toml / [tool.uv] cache-dir settings.",
        )
    if loc.no_cache_note:
        yield finding(
            F.UV_NO_CACHE,
            INFO,
            None,
            loc.no_cache_note,
            "Unset UV_NO_CACHE if uv should use this cache.",
        )
    for w in loc.warnings:
        yield finding(F.LOCATION_WARNING, WARNING, None, w, "Unset it or give it a value.")
    if inp.quick.root != inp.quick.real_root:
        yield finding(
            F.CACHE_IS_SYMLINK,
            INFO,
            inp.root,
            f"The cache directory is a link to {fmt.user_path(inp.quick.real_root)}; uv follows "
            "it, and everything below must be on that filesystem.",
            None,
        )


def _bucket_sizes(inp: Inputs) -> dict[str, tuple[int, int]]:
    if inp.snapshot is None:
        return {}
    return {b.name: (b.bytes, b.files) for b in inp.snapshot.buckets}


def rule_buckets(inp: Inputs) -> Iterable[Finding]:
    sizes = _bucket_sizes(inp)
    newest = format_version(inp.bucket_set.uv_version)
    for name in inp.quick.buckets:
        status, note = classify(name, inp.bucket_set)
        path = os.path.join(inp.quick.real_root, name)
        nbytes, files = sizes.get(name, (0, 0))
        size = f" It takes {fmt.size(nbytes)}." if nbytes else ""
        if status is BucketStatus.STALE:
            yield finding(
                F.STALE_BUCKET,
                INFO,
                path,
                f"{name} was {note}; uv {newest} no longer reads it.{size}",
                "`uvci prune` (like `uv cache prune`) removes it.",
                count=files,
                nbytes=nbytes,
                written_by=note,
            )
        elif status is BucketStatus.UNKNOWN:
            yield finding(
                F.UNKNOWN_BUCKET,
                INFO,
                path,
                f"{name} is {note} (uv {newest}): another uv writes this cache, so it is left "
                "alone.",
                "Nothing to do; see which uv versions use this cache (`uv --version`).",
                count=files,
                nbytes=nbytes,
            )


def rule_mixed_versions(inp: Inputs) -> Iterable[Finding]:
    by_kind: dict[str, list[int]] = {}
    for name in inp.quick.buckets:
        parsed = parse_bucket(name)
        if parsed and parsed[0] != "archive":
            by_kind.setdefault(parsed[0], []).append(parsed[1])
    mixed = {k: sorted(v) for k, v in by_kind.items() if len(v) > 1}
    versions = sorted({b.version for b in inp.binaries if b.version})
    if mixed:
        kinds = ", ".join(f"{k}-v{'/v'.join(map(str, v))}" for k, v in sorted(mixed.items()))
        ranges = sorted(
            {describe_uv_range(k, v[-1]) for k, v in mixed.items()}
            | {describe_uv_range(k, v[0]) for k, v in mixed.items()}
        )
        yield finding(
            F.MIXED_UV_VERSIONS,
            WARNING,
            inp.root,
            f"Several uv releases write this cache ({kinds}): each release's `uv cache prune` "
            "deletes the other's buckets, and an older uv can fail on entries a newer one wrote.",
            "Use one uv version for this cache, or give each its own UV_CACHE_DIR.",
            buckets=mixed,
            written_by=ranges,
        )
    elif len(versions) > 1:
        found = ", ".join(
            f"{b.version_str} ({fmt.user_path(b.path)})" for b in inp.binaries if b.version
        )
        yield finding(
            F.MIXED_UV_VERSIONS,
            WARNING,
            None,
            f"This machine has several uv versions ({found}); if more than one uses this cache, "
            "each one's prune deletes the other's buckets.",
            "Remove the old uv, or give it its own UV_CACHE_DIR.",
            versions=[format_version(v) for v in versions],
        )
    old = [b for b in inp.binaries if b.version and b.version < UV_FIRST_LOCKING]
    for b in old:
        yield finding(
            F.UV_WITHOUT_LOCK,
            WARNING,
            b.path,
            f"uv {b.version_str} at {fmt.user_path(b.path)} is older than 0.8.19 and takes no "
            "cache lock: a prune while it installs can delete what it is using.",
            "Upgrade it (`uv self update`) or remove it.",
        )
