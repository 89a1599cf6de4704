"""`uvci explain`: uv's error text, explained (with what the cache shows, when it is here)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    cache_context,
    diagnosis_options,
    run_diagnosis,
)
from uv_cache_inspector.cli.output import emit_json, print_finding
from uv_cache_inspector.core.errors import InspectorError

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.diagnosis.explain import Explanation, Failure
    from uv_cache_inspector.core.model import Finding


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers, "explain", "explain a uv error message (argument, or - / nothing for stdin)"
    )
    p.add_argument("text", nargs="?", default="-", help="uv's error text, or - for stdin")
    diagnosis_options(p)
    p.set_defaults(func=run)


def _read_explain_input(arg: str) -> str | bytes:
    if arg != "-":
        return arg
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read()


def run(args: argparse.Namespace) -> int:
    """Explain uv's error text. Works without a cache (the message may come from another
    machine): the text alone says a lot, and what could not be checked is said plainly."""
    from uv_cache_inspector.core.diagnosis import explain as ex
    from uv_cache_inspector.core.findings import severity_rank
    from uv_cache_inspector.core.model import Owner, display_path
    from uv_cache_inspector.core.platform.access import resolve_user

    data = _read_explain_input(args.text)
    ctx = cache_context(args)
    root = os.path.realpath(ctx.location.path)
    cache_present = os.path.isdir(root)
    try:
        root_owner: Owner | None = Owner.from_stat(os.stat(root)) if cache_present else None
    except OSError:
        root_owner = None
    user = resolve_user(root_owner, getattr(args, "owner", None))
    failures, explained, prepared = ex.explain_text(data, user, root, cache_present=cache_present)
    notices = list(prepared.notes)
    if prepared.binary:
        notices.insert(
            0,
            "this looks like binary data, not uv's output"
            + (
                f" ({prepared.nul_bytes} NUL byte{'s' if prepared.nul_bytes != 1 else ''})"
                if prepared.nul_bytes
                else ""
            ),
        )
    if not cache_present:
        notices.append(
            f"no uv cache at {display_path(root)}: the message is explained from its text alone"
        )
    related: list[Finding] = []
    if cache_present and failures:
        try:
            diag = run_diagnosis(args, ctx, deep=False, stream_human=False)
        except InspectorError:
            diag = None
        if diag is not None:
            keys = {(e.finding.code, e.finding.path) for e in explained}
            related = [
                f
                for f in diag.findings
                if f.severity.value != "info" and (f.code, f.path) not in keys
            ]
    findings = [e.finding for e in explained]
    for e in explained:
        findings.extend(e.evidence[1:])
    findings = sorted(findings, key=severity_rank) + related
    if args.json:
        emit_json(
            {
                "cache_dir": display_path(root),
                "cache_present": cache_present,
                "findings": [f.to_json() for f in findings],
                "failures": [
                    {
                        "operation": f.op,
                        "paths": list(f.paths),
                        "errno": f.errno,
                        "os_message": f.os_message,
                        "text": f.line,
                        "errno_name": f.errno_name,
                        "platform": f.platform,
                        "kind": f.kind,
                        "chain": list(f.chain),
                        "resource": f.resource,
                    }
                    for f in failures
                ],
                "explanations": [e.to_json() for e in explained],
                "primary": 0 if explained else None,
                "notices": notices,
            }
        )
    else:
        _print_explanations(failures, explained, related, notices)
    if not failures:
        return EXIT_USAGE
    return EXIT_FINDINGS if any(f.severity.value == "error" for f in findings) else EXIT_OK


def _print_explanations(
    failures: list[Failure],
    explained: list[Explanation],
    related: list[Finding],
    notices: list[str],
) -> None:
    from uv_cache_inspector.core.diagnosis.explain import escape

    for n in notices:
        print(f"note: {escape(n)}")
    if notices:
        print()
    if not failures:
        print(
            "No uv failure found in that text: paste uv's whole error output (the lines "
            "with 'failed to ...', 'Caused by:' and '(os error N)')."
        )
        return
    for i, e in enumerate(explained):
        story = e.story()
        f = e.failure
        if i == 0:
            print(f"uv said: {escape(f.line)}")
        else:
            print(f"Also: {escape(f.line)}")
        print(f"  {escape(story['headline'])} ({e.finding.code})")
        print(f"  What uv tried:  {escape(story['tried'])}")
        print(f"  Refused:        {escape(story['refused'])}")
        print(f"  Why:            {escape(story['why'])}")
        if story["todo"]:
            print(f"  What to do:     {escape(story['todo'])}")
        for c in story["checked"]:
            print(f"  Checked:        {escape(c)}")
        for c in story["unchecked"]:
            print(f"  Not checked:    {escape(c)}")
        others = [] if e.evidence else list(e.candidates[1:])
        if others and i == 0:
            print("  Other causes the text allows:")
            for c in others[:5]:
                print(f"    - {c.cause}: {escape(c.why)}")
        for extra in e.evidence[1:]:
            print_finding(extra)
        print()
    if len(failures) > len(explained):
        print(f"... and {len(failures) - len(explained)} more failures, not explained")
    if related:
        print("What uvci doctor sees in this cache:")
        for finding in related:
            print_finding(finding)
