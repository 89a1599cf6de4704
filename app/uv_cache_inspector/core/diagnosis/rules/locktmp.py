"""Rules about uv's lock and its temporary folders: who holds the lock, uv releases that take
none, orphaned `.tmp*` folders.
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
    Finding,
    Severity,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def rule_lock(inp: Inputs) -> Iterable[Finding]:
    lock = inp.lock
    if lock.supported is False:
        yield finding(
            F.LOCK_UNSUPPORTED,
            WARNING,
            lock.path,
            f"This filesystem does not support the locks uv uses ({lock.error}): uv carries on "
            "with a warning, and a prune or clean while uv runs can break installs.",
            "Keep the cache on a local filesystem (UV_CACHE_DIR), or never prune while uv runs.",
        )
    if lock.held:
        who = ", ".join(h.label() for h in lock.holders) or "a uv process the inspector cannot see"
        long_running = [
            h
            for h in lock.holders
            if h.process and h.process.started and inp.now - h.process.started > 3600
        ]
        if lock.exclusive:
            yield finding(
                F.CACHE_IN_USE,
                WARNING,
                lock.path,
                f"uv is cleaning or pruning this cache right now ({who}); other uv commands wait "
                "for it.",
                "Wait for it to finish before changing anything.",
                holders=[h.label() for h in lock.holders],
            )
        else:
            extra = ""
            if long_running:
                since = fmt.since(
                    long_running[0].process.started if long_running[0].process else None, inp.now
                )
                extra = (
                    f" {long_running[0].label()} has held it since {since}: "
                    "`uv cache prune` will wait for it (uv run and uvx hold the lock "
                    "for their whole life)."
                )
            yield finding(
                F.CACHE_IN_USE,
                INFO,
                lock.path,
                f"uv is using this cache right now: {who}.{extra}",
                "Repairs and prunes wait until uv is done (or use --force, at your own risk).",
                holders=[h.label() for h in lock.holders],
            )


def _tmp_candidates(inp: Inputs) -> list[tuple[str, float, int, int, str]]:
    """(path, age seconds, bytes, files, location) of every .tmp* we know of."""
    if inp.snapshot is not None:
        return [
            (t.path, t.age_seconds, t.bytes, t.files, t.location) for t in inp.snapshot.tmp_dirs
        ]
    return [(n.path, inp.now - n.mtime, 0, 0, "root") for n in inp.quick.tmp_dirs]


def rule_orphaned_tmp(inp: Inputs) -> Iterable[Finding]:
    sees_all = hasattr(os, "geteuid") and os.geteuid() == 0
    uncertain = (
        bool(inp.lock.held)
        and not sees_all
        and any(
            h.process is None or (h.process.username and h.process.username != inp.user.name)
            for h in inp.lock.holders
        )
    )
    for path, age, nbytes, files, location in _tmp_candidates(inp):
        users = inp.tmp_users.get(path, [])
        if users:
            continue  # a live process has files (or its working directory) in there
        if age < inp.orphan_age:
            continue  # too recent: probably a uv run in progress
        if uncertain:
            continue  # uv runs as someone whose open files we cannot see: do not guess
        where = "the cache root" if location == "root" else location
        size = f", {fmt.size(nbytes)}" if nbytes else ""
        pruned = location == "root"
        yield finding(
            F.ORPHANED_TMP,
            WARNING,
            path,
            f"{inp.short(path)} in {where} is a temporary folder left behind by an interrupted "
            f"uv run ({fmt.age(age)} old{size}); nothing uses it.",
            "`uvci repair` removes it"
            + (" (so does `uv cache prune`)." if pruned else " (`uv cache prune` leaves it)."),
            count=files,
            nbytes=nbytes,
            age_seconds=round(age),
            location=location,
        )
