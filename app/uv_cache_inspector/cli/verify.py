"""`uvci verify`: every unpacked wheel checked against its RECORD; with --fix, the plan that makes
the next install pristine."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    add_command,
    cache_context,
    venv_path,
)
from uv_cache_inspector.cli.output import (
    ProgressLine,
    drive,
    emit_json,
    print_plan,
    report_results,
    result_json,
)
from uv_cache_inspector.cli.plans import apply_options, apply_plan
from uv_cache_inspector.core.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.diagnosis.verify import ModifiedArchive, VerifyReport


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers,
        "verify",
        "check every unpacked wheel against its RECORD hashes: edits that leaked into the cache "
        "through hard links",
    )
    p.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME",
        help="only this package's archives; repeatable",
    )
    p.add_argument(
        "--venv",
        action="append",
        default=[],
        metavar="PATH",
        help="an environment to look in for the edited files (default: $VIRTUAL_ENV or "
        "./.venv); repeatable",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="plan removing the modified archives with their links, so the next install "
        "unpacks fresh copies (with --yes: apply it)",
    )
    p.add_argument(
        "--no-state",
        action="store_true",
        help="hash every file again, ignoring the verdicts remembered from earlier runs",
    )
    apply_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.actions.delete import verify_plan
    from uv_cache_inspector.core.cache.scan import scan
    from uv_cache_inspector.core.diagnosis.verify import verify

    if args.yes and not args.fix:
        raise UsageError("--yes applies the fix: use it with --fix")
    ctx = cache_context(args)
    root = ctx.location.path
    progress = ProgressLine()
    venvs = tuple(args.venv) or tuple(v for v in [venv_path(None)] if v)
    report = drive(
        verify(
            root,
            packages=tuple(args.package),
            venvs=venvs,
            workers=args.workers,
            use_state=not args.no_state,
        ),
        progress,
    )
    data = report.to_json()
    code = EXIT_FINDINGS if report.modified else EXIT_OK
    plan = None
    if args.fix and report.modified:  # the links that name the archives: a scan finds them
        snap = drive(
            scan(
                root,
                bucket_set=ctx.bucket_set,
                uv_version=ctx.uv_version_label,
                workers=args.workers,
            ),
            progress,
        )
        plan = verify_plan(snap, report.modified)
    if not args.json:
        _print_verify(report)
    if plan is None:
        if args.json:
            emit_json(data)
        elif report.modified:
            print("Run `uvci verify --fix` to see how to make the next install pristine.")
        return code
    if not args.yes:
        if args.json:
            data["fix"] = result_json(plan, [], dry_run=True, extra={})
            emit_json(data)
        else:
            print()
            print_plan(plan, args.verbose)
            print("Run `uvci verify --fix --yes` to apply it.")
            _print_reinstall(report.modified, "Then reinstall")
        return code
    result = apply_plan(plan, args)
    if args.json:
        data["fix"] = result_json(
            plan, result.results, dry_run=False, extra={"journal": result.journal}
        )
        emit_json(data)
    else:
        print()
        report_results(result.results, result.journal)
        if not result.failed:
            print(
                "The next install of "
                + ", ".join(m.label() for m in report.modified)
                + " unpacks a fresh copy."
            )
            _print_reinstall(report.modified, "Now reinstall")
    return code


def _print_reinstall(modified: Sequence[ModifiedArchive], lead: str) -> None:
    from uv_cache_inspector.core.diagnosis.verify import reinstall_commands

    print(
        "Environments that share the edited files keep them until reinstalled. "
        f"{lead} them, with one of:"
    )
    for cmd in reinstall_commands(modified):
        print(f"  {cmd}")


def _print_verify(report: VerifyReport) -> None:
    from uv_cache_inspector.core import fmt

    root = report.root
    for m in report.modified:
        print(f"MODIFIED {m.label()}  [{os.path.relpath(m.path, root)}]")
        for f in m.files:
            shared = ""
            if f.links > 1:
                n = f.links - 1
                shared = f"; {n} other link{'s' if n != 1 else ''}"
            print(f"  {f.change:<10} {f.path}  ({f.detail}{shared})")
            for place in f.places:
                print(f"{'':13}also in {fmt.user_path(place)}")
            unnamed = f.links - 1 - len(f.places)
            if f.links > 1 and unnamed > 0:
                print(
                    f"{'':13}{unnamed} more link{'s' if unnamed != 1 else ''} in environments "
                    "not checked (--venv PATH names them)"
                )
    if report.modified:
        print()
    reasons: dict[str, int] = {}
    for u in report.cannot_verify:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    print(
        f"Verified {report.verified:,} unpacked wheel{'s' if report.verified != 1 else ''} "
        f"({report.files:,} files: {report.hashed:,} hashed, {fmt.size(report.hashed_bytes)}; "
        f"{report.reused:,} unchanged since the last verify) in {report.duration:.2f} s."
    )
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"Cannot verify {n:,}: {reason}.")
    if report.packages and not report.verified and not report.cannot_verify:
        print(f"No unpacked archive of {', '.join(report.packages)} in this cache.")
    if report.state_file:
        print(f"Remembered in {fmt.user_path(report.state_file)}.")
    if report.state_note:
        print(f"Note: {report.state_note}.")
    if report.modified:
        n = len(report.modified)
        print(f"{n} archive{'s' if n != 1 else ''} modified.")
    else:
        print("No archive differs from its RECORD.")
