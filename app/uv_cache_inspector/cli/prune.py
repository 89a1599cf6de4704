"""`uvci prune`: what uv no longer uses (by default what `uv cache prune` removes), planned, then
(with --yes) removed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import EXIT_FINDINGS, EXIT_OK, add_command, cache_context
from uv_cache_inspector.cli.output import (
    ProgressLine,
    drive,
    emit_json,
    print_plan,
    report_results,
    result_json,
)
from uv_cache_inspector.cli.plans import (
    apply_options,
    apply_plan,
    current_user,
    elevated,
    load_plan,
    privileged_options,
)
from uv_cache_inspector.core.errors import UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.actions.model import Plan
    from uv_cache_inspector.core.cache.context import CacheContext
    from uv_cache_inspector.core.model import Snapshot


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers,
        "prune",
        "remove what uv no longer uses (by default exactly what `uv cache prune` removes)",
    )
    apply_options(p)
    p.add_argument("--ci", action="store_true", help="like `uv cache prune --ci`")
    p.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME",
        help="remove this package's entries (like `uv cache clean NAME`); repeatable",
    )
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="also remove entries not used for DAYS days",
    )
    p.add_argument(
        "--max-size",
        metavar="SIZE",
        help="also remove least recently used entries until the cache fits SIZE (e.g. 20G)",
    )
    p.add_argument(
        "--venv",
        action="append",
        default=[],
        metavar="PATH",
        help="an environment to protect (symlink link mode); repeatable",
    )
    privileged_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import check_target
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.fmt import parse_size

    ctx = cache_context(args)
    real = check_target(ctx.location.path)
    situation = ops.lock_situation(real)
    if args.yes:
        ops.check_may_act(situation, args.while_in_use, args.force)
    try:
        max_size = parse_size(args.max_size) if args.max_size else None
    except ValueError as exc:
        raise UsageError(f"--max-size: {exc} (use e.g. 500M or 20G)") from None
    options = ops.PruneOptions(
        ci=args.ci,
        packages=tuple(args.package),
        older_than_days=args.older_than,
        max_size=max_size,
        venvs=tuple(args.venv),
        while_in_use=args.while_in_use,
    )
    ops.prune_policy(options)  # bad options are refused before the scan
    snap = drive(
        scan(
            real,
            bucket_set=ctx.bucket_set,
            uv_version=ctx.uv_version_label,
            workers=args.workers,
            link_style=ctx.link_style,
        ),
        ProgressLine(),
    )
    if args.plan:  # the privileged helper: only what a fresh plan of its own also wants
        saved = load_plan(args.plan)
        plan, guard = elevate.intersect(saved, _fresh_prune(snap, ctx, saved, args)), None
    else:
        plan, guard = ops.prune(snap, ctx.bucket_set(), options, None if args.force else situation)
    notice = situation.notice() if guard is not None else None
    if notice and not args.json:
        print(notice)
    mine, privileged = ops.split_privileged(plan)
    if not args.yes:
        if args.json:
            emit_json(result_json(plan, [], dry_run=True, extra={"while_in_use": notice}))
        else:
            print_plan(plan, args.verbose)
            if privileged:
                print(
                    f"{len(privileged)} action(s) need administrator rights: `uvci prune "
                    "--yes` asks for them."
                )
            if plan.actions:
                print(PRUNE_SIZES)
                print("Run `uvci prune --yes` (with the same options) to apply it.")
        return EXIT_OK
    result = apply_plan(plan, args, only=mine, guard=guard)
    results = list(result.results)
    extra: dict[str, object] = {"journal": result.journal, "while_in_use": result.while_in_use}
    if privileged:
        me = current_user()
        results += elevated(plan, privileged, me, args, extra)
    if args.json:
        emit_json(result_json(plan, results, dry_run=False, extra=extra))
    else:
        report_results(results, result.journal, plan.kept, result.journal_error)
        if results:
            print(PRUNE_SIZES)
    return EXIT_FINDINGS if any(not r.done for r in results) else EXIT_OK


PRUNE_SIZES = (
    "(Sizes are space on disk, each hard-linked file once, as `uv cache size` counts; "
    "`uv cache prune` reports file lengths, every hard link again, so its figure differs.)"
)


def _fresh_prune(snap: Snapshot, ctx: CacheContext, saved: Plan, args: argparse.Namespace) -> Plan:
    """What this process would plan itself for the saved plan's request (a Delete of chosen
    rows, or a prune with the saved options)."""
    from uv_cache_inspector.core import operations as ops

    chosen = saved.policy.get("delete")
    if isinstance(chosen, list):
        return ops.delete(snap, [str(p) for p in chosen])[0]
    pol = saved.policy
    fresh_options = ops.PruneOptions(
        ci=bool(pol.get("ci")),
        packages=tuple(pol.get("packages") or ()),
        older_than_days=pol.get("older_than_days"),
        max_size=pol.get("max_size"),
        venvs=tuple(args.venv),
    )
    return ops.prune(snap, ctx.bucket_set(), fresh_options)[0]
