"""The diagnosis: cache + environment -> findings, each with a plain sentence and a concrete fix.

`diagnose()` gathers the inputs (inputs.py), runs the rules (rules/, one module per family:
location, permissions, lock & temporary folders, filesystem, entries) shallow ones first, then
the full scan and the deep rules, and returns a `Diagnosis`. Failure modes only a reported error
can show (Windows-only ones among them) are explain's (explain/).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.layout import (
    BucketSet,
)
from uv_cache_inspector.core.cache.location import CacheLocation
from uv_cache_inspector.core.cache.lock import LockState
from uv_cache_inspector.core.cache.uv_binaries import UvBinary
from uv_cache_inspector.core.diagnosis.inputs import DEFAULT_ORPHAN_AGE, GROUP_OVER, Inputs
from uv_cache_inspector.core.diagnosis.rules import (
    DEEP_RULES,
    SHALLOW_RULES,
    TMP_RULES,
    rule_not_a_cache,
)
from uv_cache_inspector.core.model import (
    CancelToken,
    Finding,
    Owner,
    Progress,
    Severity,
    Snapshot,
)
from uv_cache_inspector.core.platform.access import (
    UvUser,
    resolve_user,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def group(findings: list[Finding], over: int = GROUP_OVER) -> list[Finding]:
    """Many findings of one code under one directory become one finding naming the directory."""
    buckets: dict[tuple[str, str], list[Finding]] = {}
    order: list[tuple[str, str]] = []
    for f in findings:
        parent = os.path.dirname(f.path) if f.path else ""
        key = (f.code, parent)
        if key not in buckets:
            order.append(key)
        buckets.setdefault(key, []).append(f)
    out: list[Finding] = []
    for key in order:
        items = buckets[key]
        if len(items) <= over or not key[1]:
            out.extend(items)
            continue
        first = items[0]
        severity = min((f.severity for f in items), key=[ERROR, WARNING, INFO].index)
        nbytes = sum(f.bytes for f in items)
        size = f" ({fmt.size(nbytes)})" if nbytes else ""
        out.append(
            Finding(
                code=first.code,
                severity=severity,
                path=key[1],
                message=f"{len(items)} entries in {os.path.basename(key[1])}{size}: "
                f"{first.message}",
                fix=first.fix,
                details={
                    "paths": [f.path for f in items],  # all of them: repair acts on each
                    "count": len(items),
                    **{k: v for k, v in first.details.items() if k != "paths"},
                },
                bytes=nbytes,
                count=len(items),
            )
        )
    return out


@dataclass
class Diagnosis:
    root: str
    findings: list[Finding]
    inputs: Inputs
    snapshot: Snapshot | None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is ERROR]

    # What the CLI and the app need from the inputs, without reaching into them.
    @property
    def real_root(self) -> str:
        return self.inputs.quick.real_root

    @property
    def user(self) -> UvUser:
        """The user uv runs as (the cache's owner, SUDO_UID, --owner)."""
        return self.inputs.user

    @property
    def root_owner(self) -> Owner:
        return self.inputs.quick.root_node.owner

    @property
    def bucket_set(self) -> BucketSet:
        return self.inputs.bucket_set

    @property
    def lock(self) -> LockState:
        return self.inputs.lock


def _key(f: Finding) -> tuple[str, str | None]:
    return f.code, f.path


def diagnose(
    root: str,
    *,
    location: CacheLocation | None = None,
    binaries: Callable[[], list[UvBinary]] | list[UvBinary] | None = None,
    bucket_set: Callable[[], BucketSet] | BucketSet | None = None,
    venv: str | None = None,
    owner: str | None = None,
    orphan_age: float = DEFAULT_ORPHAN_AGE,
    cancel: CancelToken | None = None,
    deep: bool = True,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    scan_pool: Any = None,
    link_style: str | None = None,
) -> Generator[Finding | Progress, None, Diagnosis]:
    """Yield findings as soon as they are known (shallow ones first), then progress of the deep
    scan and the deep findings; return the Diagnosis. A finding yielded again (same code and
    path) replaces the earlier one."""
    from uv_cache_inspector.core import platform as plat
    from uv_cache_inspector.core.cache import lock as lockmod
    from uv_cache_inspector.core.cache.layout import NEWEST_KNOWN, buckets_for
    from uv_cache_inspector.core.diagnosis.quick import quick_look

    token = cancel or CancelToken()
    yield Progress("quick look", message=root)
    quick = quick_look(root)
    facts = plat.gather(quick.real_root, venv)
    lock = lockmod.probe(quick.real_root)
    user = resolve_user(quick.root_node.owner, owner, env)
    bins = binaries() if callable(binaries) else list(binaries or [])
    bs = bucket_set() if callable(bucket_set) else bucket_set
    if bs is None:
        bs = buckets_for(NEWEST_KNOWN)
    inp = Inputs(
        root=root,
        quick=quick,
        facts=facts,
        lock=lock,
        user=user,
        binaries=bins,
        bucket_set=bs,
        now=time.time(),
        location=location,
        orphan_age=orphan_age,
        venv=venv,
        env=dict(os.environ if env is None else env),
    )
    emitted: dict[tuple[str, str | None], Finding] = {}

    def emit(items: Iterable[Finding]) -> Generator[Finding, None, None]:
        for f in items:
            k = _key(f)
            if emitted.get(k) != f:
                emitted[k] = f
                yield f

    if not quick.looks_like_uv_cache() and quick.nodes:
        # Not a uv cache: nothing else applies, and nothing here will be touched.
        yield from emit(rule_not_a_cache(inp))
        return Diagnosis(root, _final(emitted), inp, None)
    for rule in SHALLOW_RULES:
        yield from emit(rule(inp))
    if quick.tmp_dirs:
        from uv_cache_inspector.core.platform import processes

        inp.tmp_users = processes.using(n.path for n in quick.tmp_dirs)
        for rule in TMP_RULES:
            yield from emit(rule(inp))
    if not deep:
        return Diagnosis(root, _final(emitted), inp, None)
    if token.cancelled():
        from uv_cache_inspector.core.errors import CancelledError

        raise CancelledError("diagnosis cancelled")

    from uv_cache_inspector.core.cache.scan import scan

    gen = scan(
        quick.real_root,
        bucket_set=bs,
        cancel=token,
        workers=workers,
        read_pointers=True,
        pool=scan_pool,
        link_style=link_style,
    )
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            snap: Snapshot = stop.value
            break
        yield p
    inp.snapshot = snap
    tmp_paths = [t.path for t in snap.tmp_dirs if t.age_seconds >= orphan_age]
    if tmp_paths:
        from uv_cache_inspector.core.platform import processes

        inp.tmp_users = processes.using(tmp_paths)
    deep_findings: list[Finding] = []
    for rule in DEEP_RULES:
        deep_findings.extend(rule(inp))
    deep_findings = group(deep_findings)
    # The deep scan sees inside a .tmp* (a file written a minute ago means a uv run is still
    # busy there): a shallow orphan verdict it does not confirm is withdrawn.
    confirmed = {_key(f) for f in deep_findings}
    for k in [k for k in emitted if k[0] == F.ORPHANED_TMP and k not in confirmed]:
        del emitted[k]
    yield from emit(deep_findings)
    return Diagnosis(root, _final(emitted), inp, snap)


def _final(emitted: Mapping[tuple[str, str | None], Finding]) -> list[Finding]:
    findings = list(emitted.values())
    # A grouped finding replaces the individual ones it covers.
    grouped = {(f.code, p) for f in findings for p in f.details.get("paths", [])}
    findings = [f for f in findings if (f.code, f.path) not in grouped]
    return sorted(findings, key=lambda f: (F.severity_rank(f), f.code, f.path or ""))
