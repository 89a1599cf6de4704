"""`uvci report`: a Markdown report to paste into a bug report."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import (
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


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(subparsers, "report", "a Markdown report to paste into a bug report")
    diagnosis_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.diagnosis.report import markdown

    ctx = cache_context(args)
    diag = run_diagnosis(args, ctx, deep=True, stream_human=False)
    text = markdown(diag)
    if args.json:
        emit_json({**findings_json(diag, ctx), "markdown": text})
    else:
        sys.stdout.write(text)
    return EXIT_OK
