"""The diagnosis rules, one module per family of causes (the families of core/findings.py).

A rule is a small function of one `Inputs` that yields findings. Shallow rules need only the
quick look: they run first and stream within a fraction of a second on any cache size. Deep
rules need the full scan. A finding is identified by (code, path): a deep rule may refine a
shallow finding (adding counts and sizes). To add a rule: write it in its family's module, add
its code to core/findings.py, and list it below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from uv_cache_inspector.core.diagnosis.inputs import Inputs
from uv_cache_inspector.core.diagnosis.rules.entries import (
    rule_archives,
    rule_corrupt,
    rule_links,
    rule_verified,
)
from uv_cache_inspector.core.diagnosis.rules.filesystem import (
    rule_cross_device,
    rule_disk_space,
    rule_mounts_inside,
    rule_network,
    rule_open_files,
    rule_read_only,
    rule_tmp_cleaner,
    rule_wsl,
)
from uv_cache_inspector.core.diagnosis.rules.location import (
    rule_buckets,
    rule_location,
    rule_mixed_versions,
    rule_not_a_cache,
)
from uv_cache_inspector.core.diagnosis.rules.locktmp import rule_lock, rule_orphaned_tmp
from uv_cache_inspector.core.diagnosis.rules.permissions import (
    rule_permissions,
    rule_shared_cache,
    rule_unreadable,
)
from uv_cache_inspector.core.model import Finding

SHALLOW_RULES: tuple[Callable[[Inputs], Iterable[Finding]], ...] = (
    rule_not_a_cache,
    rule_permissions,
    rule_read_only,
    rule_mounts_inside,
    rule_lock,
    rule_cross_device,
    rule_wsl,
    rule_network,
    rule_disk_space,
    rule_location,
    rule_open_files,
    rule_tmp_cleaner,
    rule_mixed_versions,
    rule_buckets,
    rule_shared_cache,
    rule_verified,
)
DEEP_RULES: tuple[Callable[[Inputs], Iterable[Finding]], ...] = (
    rule_permissions,
    rule_shared_cache,
    rule_orphaned_tmp,
    rule_buckets,
    rule_links,
    rule_archives,
    rule_corrupt,
    rule_unreadable,
    rule_cross_device,
)
# Orphans need to know who has files open; that costs a process walk, so it runs after the
# first findings are out (but before the deep scan when there are root .tmp* to judge).
TMP_RULES = (rule_orphaned_tmp,)


__all__ = ["DEEP_RULES", "SHALLOW_RULES", "TMP_RULES", "rule_not_a_cache"]
