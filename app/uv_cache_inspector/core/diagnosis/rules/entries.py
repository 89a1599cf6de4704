"""Rules about the entries themselves, from the full scan: links, archives, corrupt side files,
and what the last `uvci verify` found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis.inputs import (
    Inputs,
    finding,
)
from uv_cache_inspector.core.model import (
    ArchiveKind,
    BucketStatus,
    Finding,
    LinkState,
    Severity,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def rule_links(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    # Links in buckets the newest uv does not read cannot break it (prune removes those
    # buckets whole): only current buckets' links are worth a finding.
    current = {b.name for b in snap.buckets if b.status is not BucketStatus.STALE}
    live = [e for e in snap.entries if e.bucket in current]
    dangling = [e for e in live if e.state is LinkState.DANGLING]
    moved = [e for e in live if e.state is LinkState.MOVED]
    outside = [e for e in live if e.state is LinkState.OUTSIDE]
    for e in dangling:
        yield finding(
            F.DANGLING_LINK,
            WARNING,
            e.path,
            f"{inp.short(e.path)} ({e.package or 'unknown'} {e.version or ''}) points at archive "
            f"{e.archive_id}, which no longer exists: uv re-downloads it, or fails with "
            '"failed to read directory" (uv issue #6147).',
            "`uvci repair` removes the dangling link.",
            archive=e.archive_id,
        )
    for e in moved:
        yield finding(
            F.ABSOLUTE_LINKS,
            WARNING,
            e.path,
            f"{inp.short(e.path)} is an absolute link into another cache location "
            f"({e.raw_target}): the cache was moved or shared with a container, and uv treats "
            "the entry as missing.",
            "`uvci repair` removes such links (uv re-downloads); uv >= 0.11.17 writes relative "
            "links that survive a move.",
            target=e.raw_target,
        )
    for e in outside:
        yield finding(
            F.LINK_OUTSIDE_CACHE,
            WARNING,
            e.path,
            f"{inp.short(e.path)} points outside the cache ({e.raw_target}); uv never writes "
            "such links.",
            "Remove it (`uvci repair`); the inspector never follows it.",
            target=e.raw_target,
        )
    for e in snap.entries:
        if e.state is LinkState.CORRUPT:
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                e.path,
                f"{inp.short(e.path)} should be a link file (archive-v0/<id>) but cannot be read "
                "as one.",
                "`uvci repair` removes it; uv re-creates the entry on the next install.",
            )


def rule_archives(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    unref = [a for a in snap.archives if not a.referenced]
    if unref:
        total = sum(a.bytes for a in unref)
        envs = sum(1 for a in unref if a.kind is ArchiveKind.ENVIRONMENT)
        extra = f", {envs} of them cached environments" if envs else ""
        yield finding(
            F.UNREFERENCED_ARCHIVE,
            INFO,
            os.path.join(snap.real_root, "archive-v0"),
            f"{fmt.plural(len(unref), 'unpacked archive')} ({fmt.size(total)}{extra}) "
            f"{'is' if len(unref) == 1 else 'are'} no longer linked from any current entry; "
            f"`uv cache prune` would delete {'it' if len(unref) == 1 else 'them'}.",
            "`uvci prune` removes them (it shows its plan first).",
            count=len(unref),
            nbytes=total,
        )
    unreadable = [m.path for m in snap.marks if m.reason == "unreadable"]
    for a in snap.archives:
        incomplete = [p for p in a.problems if p.startswith(("incomplete", "empty"))]
        prefix = a.path + os.sep
        if incomplete and any(u == a.path or u.startswith(prefix) for u in unreadable):
            # We could not read all of it (another user's, in a shared cache): that says
            # nothing about whether it is complete; the permission rules report it instead.
            continue
        if incomplete or a.kind is ArchiveKind.FILE:
            who = f" ({a.package} {a.version or ''})" if a.package else ""
            yield finding(
                F.INCOMPLETE_ARCHIVE,
                WARNING,
                a.path,
                f"Archive {a.id}{who} is {'; '.join(incomplete or list(a.problems))}: an "
                "interrupted write or a partial restore left it, and installing from it fails.",
                "`uvci repair` removes it with the links that name it; uv unpacks it again.",
                referenced=a.referenced,
            )
        mismatch = [p for p in a.problems if p.startswith("linked as")]
        if mismatch:
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                a.path,
                f"Archive {a.id} is {mismatch[0]}.",
                "`uvci repair` removes it with the links that name it.",
            )


def rule_corrupt(inp: Inputs) -> Iterable[Finding]:
    snap = inp.snapshot
    if snap is None:
        return
    for p in snap.problems:
        if p.kind == "corrupt":
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                p.path,
                f'{inp.short(p.path)} is damaged ({p.detail}): uv fails with "Failed to '
                'deserialize cache entry" or refetches it.',
                "`uvci repair` removes it; uv re-creates it on the next install.",
            )
        elif p.kind == "pointer-dangling":
            yield finding(
                F.DANGLING_LINK,
                WARNING,
                p.path,
                f"{inp.short(p.path)} {p.detail}.",
                "`uvci repair` removes it; uv downloads the package again when needed.",
            )
    for shard in snap.shards:
        if shard.pointer_problem and shard.pointer_problem != "missing":
            yield finding(
                F.CORRUPT_ENTRY,
                WARNING,
                shard.path,
                f"The revision pointer of {inp.short(shard.path)} is damaged "
                f"({shard.pointer_problem}).",
                "`uvci repair` removes the shard; uv builds the source distribution again.",
            )


def rule_verified(inp: Inputs) -> Iterable[Finding]:
    """When `uvci verify` last ran, and the archives it found modified that are still as it
    found them (core.verify; read from the user's state directory, nothing is hashed)."""
    from uv_cache_inspector.core.diagnosis.verify import summary_findings

    return summary_findings(inp.quick.real_root, inp.now)
