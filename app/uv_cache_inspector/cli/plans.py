"""What the commands that plan and apply share (repair, prune, verify --fix): their options,
applying a plan, and the privileged part done elsewhere."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.output import ProgressLine, drive
from uv_cache_inspector.core.errors import UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.core.actions.apply import ActionResult, ApplyResult
    from uv_cache_inspector.core.actions.inuse import Guard
    from uv_cache_inspector.core.actions.model import Action, Plan
    from uv_cache_inspector.core.platform.access import UvUser


def privileged_options(p: argparse.ArgumentParser) -> None:
    """What repair and prune take for the part only an administrator may do."""
    p.add_argument("--plan", metavar="FILE", help=argparse.SUPPRESS)  # the privileged helper
    p.add_argument(
        "--no-elevate",
        action="store_true",
        help="never ask for administrator rights; print the command instead",
    )


def apply_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dry-run", action="store_true", help="only show the plan (default)")
    g.add_argument("--yes", "-y", action="store_true", help="apply the plan")
    p.add_argument(
        "--force",
        action="store_true",
        help="act even while uv holds the cache lock (at your own risk)",
    )
    p.add_argument(
        "--while-in-use",
        action="store_true",
        help="go on while uv runs (uv run / uvx servers hold the lock for hours): only what "
        "no running uv uses is touched, re-checked before each deletion",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="list every action")
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)


def apply_plan(
    plan: Plan,
    args: argparse.Namespace,
    only: set[str] | None = None,
    guard: Guard | None = None,
) -> ApplyResult:
    from uv_cache_inspector.core.actions.apply import apply

    return drive(
        apply(
            plan,
            force=args.force,
            only=only,
            while_in_use=getattr(args, "while_in_use", False),
            guard=guard,
        ),
        ProgressLine(),
    )


def elevated(
    plan: Plan,
    privileged: list[Action],
    user: UvUser,
    args: argparse.Namespace,
    extra: dict[str, object],
) -> list[ActionResult]:
    """Run the privileged part through pkexec/sudo/UAC/osascript, or say what to paste."""
    from uv_cache_inspector.core import operations as ops
    from uv_cache_inspector.core.actions import elevate
    from uv_cache_inspector.core.actions.apply import ActionResult
    from uv_cache_inspector.core.actions.model import Plan

    sub = Plan(
        plan.root,
        plan.kind,
        privileged,
        for_uid=user.uid,
        uv_version=plan.uv_version,
        policy=plan.policy,
    )
    method = "none" if args.no_elevate else elevate.choose()
    extra["elevation"] = method
    if method == "none":
        # Exactly the actions left undone, saved: not a fresh operation that could do more.
        paste = elevate.paste_for(sub, user.name)
        extra["paste_command"] = paste
        if not args.json:
            why = "--no-elevate was given" if args.no_elevate else elevate.why_no_prompt()
            print(f"Some actions need administrator rights ({why}). Run:")
            print(f"  {paste}")
        return [
            ActionResult(a, error=f"needs administrator rights: run `{paste}`") for a in privileged
        ]
    proc = elevate.run(sub, method, user.uid)
    return ops.elevated_results(
        privileged, proc.stdout, proc.stderr.strip() or "administrator step did not run"
    )


def load_plan(path: str) -> Plan:
    from uv_cache_inspector.core.actions.model import Plan

    try:
        with open(path, encoding="utf-8") as fh:
            return Plan.load(fh.read())
    except OSError as exc:
        raise UsageError(f"--plan {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--plan {path}: not a plan file") from None


def current_user() -> UvUser:
    from uv_cache_inspector.core.platform.access import resolve_user

    return resolve_user(None)
