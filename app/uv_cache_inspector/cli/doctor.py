"""`uvci doctor`: the scan and the diagnosis, each finding printed as soon as it is known."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    add_command,
    cache_context,
    diagnosis_options,
    findings_json,
    run_diagnosis,
)
from uv_cache_inspector.cli.output import emit_json

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.model import Finding


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers, "doctor", "scan and diagnose: name the cause of every known cache failure"
    )
    diagnosis_options(p)
    p.add_argument(
        "--quick",
        action="store_true",
        help="only the checks that need no full scan (well under a second)",
    )
    p.set_defaults(func=run)


def _summary(findings: list[Finding]) -> str:
    counts = {
        s: sum(1 for f in findings if f.severity.value == s) for s in ("error", "warning", "info")
    }
    if not findings:
        return "No problems found: uv can use this cache."
    parts = [
        f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
        f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
        f"{counts['info']} note{'s' if counts['info'] != 1 else ''}",
    ]
    return "Summary: " + ", ".join(parts) + "."


def run(args: argparse.Namespace) -> int:
    ctx = cache_context(args)
    diag = run_diagnosis(args, ctx, deep=not args.quick, stream_human=not args.json)
    if args.json:
        emit_json(findings_json(diag, ctx))
    elif not diag.findings:
        print("No problems found: uv can use this cache.")
    else:
        print()
        print(_summary(diag.findings))
    return EXIT_FINDINGS if diag.errors else EXIT_OK
