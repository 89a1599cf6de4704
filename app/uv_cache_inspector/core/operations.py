"""The operations people ask for, each in one Qt-free function that the CLI and the app call.

Two front ends that build the same operation from their own pieces drift apart (issue 12,
item 5: the app's Prune left out the venv and link-mode protection that `uvci prune` had). So
every input an operation needs is resolved here, once:

- `lock_situation`: may we act now, must we go on while uv runs, or must we wait;
- `prune`, `repair`, `delete`: the plan, with what running uv processes use taken out when the
  cache is in use (core.inuse);
- `elevated_results`: what the privileged helper did, from its JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.errors import CacheInUseError, UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.core.actions.apply import ActionResult
    from uv_cache_inspector.core.actions.inuse import Guard
    from uv_cache_inspector.core.actions.model import Action, Plan, PrunePolicy
    from uv_cache_inspector.core.cache.layout import BucketSet
    from uv_cache_inspector.core.diagnosis.engine import Diagnosis
    from uv_cache_inspector.core.model import Finding, Snapshot


# -- the lock -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockSituation:
    """What uv's cache lock says about acting now."""

    free: bool  # nobody holds it (or the cache has no lock file): act under the lock
    own_launcher: bool  # only the `uv run`/`uvx` that started us holds it: go on, guarded
    holders: tuple[str, ...] = ()
    exclusive: bool = False  # a `uv cache clean/prune` holds it: wait

    @property
    def guarded(self) -> bool:
        """Acting now means acting while uv runs (what it uses is left alone)."""
        return not self.free

    def notice(self) -> str | None:
        """One line for people, when we go on while uv runs."""
        if self.free:
            return None
        who = ", ".join(self.holders) or "a uv process"
        if self.own_launcher:
            return (
                f"The cache lock is held only by the uv that started this program ({who}); "
                "going on, leaving alone what running uv processes use."
            )
        return f"uv is using this cache ({who}); what running uv processes use is left alone."


def lock_situation(root: str) -> LockSituation:
    from uv_cache_inspector.core.actions import inuse
    from uv_cache_inspector.core.cache import lock

    state = lock.probe(root)
    if not state.held:
        return LockSituation(free=True, own_launcher=False)
    pids = [h.pid for h in state.holders]
    return LockSituation(
        free=False,
        own_launcher=inuse.only_own_launchers(pids),
        holders=tuple(h.label() for h in state.holders),
        exclusive=bool(state.exclusive),
    )


def check_may_act(situation: LockSituation, while_in_use: bool, force: bool) -> None:
    """Raise CacheInUseError unless acting now is allowed (by the lock, by our own launcher
    holding it, by the user's explicit --while-in-use, or by --force)."""
    if force or situation.free or situation.own_launcher:
        return
    who = ", ".join(situation.holders) or "another uv process"
    if situation.exclusive:
        raise CacheInUseError(
            f"uv is cleaning or pruning this cache right now ({who}); nothing was changed. "
            "Try again when it is done.",
            situation.holders,
        )
    if not while_in_use:
        raise CacheInUseError(
            f"uv is using this cache right now ({who}); nothing was changed. Try again when it "
            "is done, or free what it does not use with --while-in-use.",
            situation.holders,
        )


# -- prune --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneOptions:
    ci: bool = False
    packages: tuple[str, ...] = ()
    older_than_days: float | None = None
    max_size: int | None = None
    venvs: tuple[str, ...] = ()  # environments to protect; empty: the active one / ./.venv
    while_in_use: bool = False


def _active_venv(env: Mapping[str, str] | None = None, cwd: str | None = None) -> str | None:
    env = os.environ if env is None else env
    if env.get("VIRTUAL_ENV"):
        return env["VIRTUAL_ENV"]
    venv = os.path.join(cwd or os.getcwd(), ".venv")
    return venv if os.path.isdir(venv) else None


def prune_policy(options: PruneOptions) -> PrunePolicy:
    """The policy of a prune, with every input resolved the same way for the CLI and the app:
    the environments to protect and uv's configured link mode (symlink mode makes venvs depend
    on archives)."""
    from uv_cache_inspector.core.actions.model import PrunePolicy
    from uv_cache_inspector.core.cache.location import setting

    if options.older_than_days is not None and not (0 < options.older_than_days < 1e6):
        raise UsageError(
            f"--older-than {options.older_than_days:g}: give a number of days above 0 (e.g. 30)"
        )
    if options.packages and (options.ci or options.max_size is not None):
        raise UsageError(
            "--package narrows the prune to packages; it does not combine with --ci or --max-size"
        )
    link_mode, _ = setting("link-mode", env_var="UV_LINK_MODE")
    venvs = options.venvs or tuple(v for v in [_active_venv()] if v)
    return PrunePolicy(
        ci=options.ci,
        packages=options.packages,
        older_than_days=options.older_than_days,
        max_size=options.max_size,
        venvs=venvs,
        link_mode=link_mode,
    )


def prune(
    snap: Snapshot,
    bucket_set: BucketSet,
    options: PruneOptions,
    situation: LockSituation | None = None,
) -> tuple[Plan, Guard | None]:
    """The prune plan, and (when uv runs) the guard that re-checks each deletion."""
    from uv_cache_inspector.core.actions.prune import prune_plan

    policy = prune_policy(options)
    # Guarded when the user asked for it, or when our own launcher is the only holder; any
    # other holder makes Apply refuse until the user chooses to go on (never silently).
    own = situation is not None and situation.own_launcher
    guarded = options.while_in_use or own
    if guarded and not own:
        if options.packages or options.ci or options.max_size is not None:
            raise UsageError(
                "while uv runs, only what no uv can be using is freed (old archives, stale "
                "buckets, orphaned temporary folders, unused cached environments): --package, "
                "--ci and --max-size remove what a running uv may need"
            )
        if options.older_than_days is not None:
            raise UsageError(
                "--older-than removes archives a running uv may need; not while uv runs"
            )
    plan = prune_plan(snap, bucket_set, policy)
    return plan, (_guard(snap, plan) if guarded else None)


def _guard(snap: Snapshot, plan: Plan) -> Guard:
    from uv_cache_inspector.core.actions.inuse import guard_for, keep_what_is_used

    guard = guard_for(snap)
    keep_what_is_used(plan, guard)
    return guard


# -- repair and delete ----------------------------------------------------------------------------


def repair(
    diagnosis: Diagnosis,
    findings: Sequence[Finding] | None = None,
    situation: LockSituation | None = None,
    while_in_use: bool = False,
) -> tuple[Plan, Guard | None]:
    """The repair plan for doctor's findings (all repairable ones, or those given)."""
    from uv_cache_inspector.core.actions.repair import repair_plan
    from uv_cache_inspector.core.platform.access import is_shared

    user = diagnosis.user
    pool = diagnosis.findings if findings is None else findings
    chosen = [f for f in pool if f.code in F.REPAIRABLE]
    root_owner = diagnosis.root_owner
    plan = repair_plan(
        diagnosis.snapshot,
        chosen,
        user.uid,
        user.gid,
        diagnosis.real_root,
        shared_gid=root_owner.gid if is_shared(root_owner) else None,
    )
    guarded = while_in_use or (situation is not None and situation.own_launcher)
    snap = diagnosis.snapshot
    return plan, (_guard(snap, plan) if guarded and snap is not None else None)


def delete(
    snap: Snapshot,
    paths: Iterable[str],
    situation: LockSituation | None = None,
    while_in_use: bool = False,
) -> tuple[Plan, Guard | None]:
    """Remove chosen rows of the table (an archive goes with the links that name it)."""
    from uv_cache_inspector.core.actions.delete import delete_plan

    plan = delete_plan(snap, list(paths))
    guarded = situation is not None and (situation.own_launcher or while_in_use)
    return plan, (_guard(snap, plan) if guarded else None)


def split_privileged(plan: Plan, euid: int | None = None) -> tuple[set[str], list[Action]]:
    """(paths this process may act on, actions that need administrator rights)."""
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else 0
    privileged = [a for a in plan.actions if a.needs_privilege and euid != 0]
    mine = {a.path for a in plan.actions if a not in privileged}
    return mine, privileged


def elevated_results(
    privileged: Sequence[Action], stdout: str, failure: str = "the administrator step did not run"
) -> list[ActionResult]:
    """What the privileged helper did, read from its JSON output (empty: it did not run)."""
    from uv_cache_inspector.core.actions.apply import ActionResult

    try:
        data: Any = json.loads(stdout)
        done = {a["path"] for a in data.get("actions", []) if a.get("done")}
    except (ValueError, AttributeError, TypeError, KeyError):
        done = set()
    return [
        ActionResult(a, done=a.path in done, error=None if a.path in done else failure)
        for a in privileged
    ]
