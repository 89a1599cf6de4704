"""What every rule reads: `Inputs` (the quick look, the machine's facts, the lock, the user uv
runs as, the uv releases, and the full scan once it is done), the thresholds the rules use, and
`finding()`, how a rule makes a finding.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.layout import (
    BucketSet,
)
from uv_cache_inspector.core.cache.location import CacheLocation
from uv_cache_inspector.core.cache.lock import LockState
from uv_cache_inspector.core.cache.uv_binaries import UvBinary
from uv_cache_inspector.core.diagnosis.quick import QuickLook
from uv_cache_inspector.core.model import (
    Finding,
    Severity,
    Snapshot,
)
from uv_cache_inspector.core.platform import EnvFacts
from uv_cache_inspector.core.platform.access import (
    UvUser,
)
from uv_cache_inspector.core.platform.processes import ProcInfo

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


DEFAULT_ORPHAN_AGE = 3600.0


LOW_SPACE_WARN = 2 * 1024**3


LOW_SPACE_ERROR = 256 * 1024**2


LOW_INODES_WARN = 50_000


LOW_INODES_ERROR = 5_000


NOFILE_MIN = 1024


UV_FIRST_LOCKING = (0, 8, 19)


GROUP_OVER = 5  # more findings than this of one code under one directory become one finding


@dataclass
class Inputs:
    root: str
    quick: QuickLook
    facts: EnvFacts
    lock: LockState
    user: UvUser
    binaries: list[UvBinary]
    bucket_set: BucketSet
    now: float
    location: CacheLocation | None = None
    orphan_age: float = DEFAULT_ORPHAN_AGE
    venv: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    snapshot: Snapshot | None = None
    tmp_users: dict[str, list[ProcInfo]] = field(default_factory=dict)

    def rel(self, path: str) -> tuple[str, ...]:
        rel = os.path.relpath(path, self.quick.real_root)
        return () if rel == "." else tuple(rel.split(os.sep))

    def short(self, path: str) -> str:
        """A path as the user reads it: relative to the cache root when inside it."""
        rel = self.rel(path)
        if rel and rel[0] != "..":
            return "/".join(rel)
        return fmt.user_path(path)


def finding(
    code: str,
    severity: Severity,
    path: str | None,
    message: str,
    fix: str | None,
    *,
    count: int = 0,
    nbytes: int = 0,
    **details: Any,
) -> Finding:
    return Finding(code, severity, path, message, fix, details, nbytes, count)


def shell_quote(path: str) -> str:
    """Quote a path for a shell command the user pastes."""
    return "'" + path.replace("'", "'\\''") + "'"
