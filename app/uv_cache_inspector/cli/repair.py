"""`uvci repair`: the plan that fixes doctor's findings, then (with --yes) applying it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    add_command,
    cache_context,
    run_diagnosis,
)
from uv_cache_inspector.cli.output import emit_json, print_plan, report_results, result_json
from uv_cache_inspector.cli.plans import (
    apply_options,
    apply_plan,
    elevated,
    load_plan,
    privileged_options,
)
from uv_cache_inspector.core.errors import UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(subparsers, "repair", "plan, then apply, the fixes for doctor's findings")
    apply_options(p)
    p.add_argument("--owner", metavar="USER", help="the user who runs uv (gets ownership back)")
    p.add_argument(
        "--orphan-age",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="how old an unused .tmp* directory must be to be removed",
    )
    privileged_options(p)
    p.set_defaults(func=run, venv=None)


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import check_target
    from uv_cache_inspector.core.platform.access import has_account

    ctx = cache_context(args)
    real = check_target(ctx.location.path)
    saved_plan = load_plan(args.plan) if args.plan else None
    situation = ops.lock_situation(real)
    if args.yes and saved_plan is None:
        ops.check_may_act(situation, args.while_in_use, args.force)
    diag = run_diagnosis(args, ctx, deep=True, stream_human=False)
    user = diag.user
    if args.owner and not has_account(user.uid) and not args.force:
        raise UsageError(
            f"--owner {args.owner}: no account on this machine has uid {user.uid}; giving the "
            "cache to it would lock every real user out. Use --force if that is what you want."
        )
    plan, guard = ops.repair(
        diag, situation=None if args.force else situation, while_in_use=args.while_in_use
    )
    notice = situation.notice() if guard is not None else None
    if notice and not args.json:
        print(notice)
    if saved_plan is not None:
        plan = elevate.intersect(saved_plan, plan)
    mine, privileged = ops.split_privileged(plan)
    if not args.yes:
        if args.json:
            emit_json(
                result_json(
                    plan, [], dry_run=True, extra={"uv_user": user.name, "while_in_use": notice}
                )
            )
        else:
            print_plan(plan, args.verbose)
            if privileged:
                from uv_cache_inspector.core import fmt

                n = fmt.plural(len(privileged), "action")
                verb = "needs" if len(privileged) == 1 else "need"
                if elevate.choose() == "none":
                    print(
                        f"{n} {verb} administrator rights, and no password prompt can open "
                        f"here ({elevate.why_no_prompt()}). Run:"
                    )
                else:
                    print(
                        f"{n} {verb} administrator rights: `uvci repair --yes` asks for "
                        "them, or run:"
                    )
                print(f"  {elevate.paste_command(real, user.name)}")
            elif plan.actions:
                print("Run `uvci repair --yes` to apply it.")
        return EXIT_OK
    result = apply_plan(plan, args, only=mine, guard=guard)
    results = list(result.results)
    extra: dict[str, object] = {"journal": result.journal, "while_in_use": result.while_in_use}
    if privileged:
        results += elevated(plan, privileged, user, args, extra)
    if args.json:
        emit_json(result_json(plan, results, dry_run=False, extra=extra))
    else:
        report_results(results, result.journal, plan.kept, result.journal_error)
    return EXIT_FINDINGS if any(not r.done for r in results) else EXIT_OK
