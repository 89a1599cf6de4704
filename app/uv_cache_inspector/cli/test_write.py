"""`uvci test-write`: uv's write-and-rename routine replayed on the cache, step by step."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import EXIT_FINDINGS, EXIT_OK, add_command, cache_context
from uv_cache_inspector.cli.output import emit_json
from uv_cache_inspector.core.errors import UsageError

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers
    from uv_cache_inspector.core.model import TraceStep


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers, "test-write", "replay uv's atomic write-and-rename routine on the cache, traced"
    )
    p.add_argument("--keep", action="store_true", help="leave what it wrote, for inspection")
    p.add_argument(
        "--bucket",
        choices=["root", "sdists", "builds"],
        default="root",
        help="where to make the temporary directory (sdists and builds use their "
        "bucket, wheels the root)",
    )
    p.add_argument(
        "--with-uv",
        action="store_true",
        help="also run the real uv against the cache (under strace when available)",
    )
    p.add_argument("--no-strace", action="store_true", help="do not trace uv with strace")
    p.add_argument(
        "--owner",
        metavar="USER",
        help="the user who runs uv (when run as root, the test-write runs as this user; "
        "default: the cache's owner or SUDO_UID)",
    )
    p.set_defaults(func=run)


def _print_step(s: TraceStep) -> None:
    status = "skip" if s.skipped else ("ok  " if s.ok else "FAIL")
    text = s.error if not s.ok and s.error else (s.note or "")
    first, *rest = (text or "").splitlines() or [""]
    print(f"  {status}  {s.step:<8} {s.duration_ms:8.1f} ms  {first}")
    for line in rest:
        print(f"{'':26}{line}")
    if len(s.attempts) > 1 or any("warning" in a for a in s.attempts):  # retries (Windows)
        for a in s.attempts:
            what = "ok" if a.get("ok") else f"errno {a.get('errno')}"
            if a.get("winerror") is not None:
                what += f" (winerror {a['winerror']})"
            if a.get("warning"):
                what += f"; {a['warning']}"
            print(f"{'':26}attempt {a.get('attempt')}: {what} after {a.get('ms', 0):.1f} ms")
    if not s.ok and s.explanation:
        print(f"{'':8}why: {s.explanation}")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core import fmt
    from uv_cache_inspector.core.testwrite.common import run
    from uv_cache_inspector.core.testwrite.replay import replay
    from uv_cache_inspector.core.testwrite.runas import as_user, runs_as_someone_else
    from uv_cache_inspector.core.testwrite.with_uv import with_uv

    ctx = cache_context(args)
    root = ctx.location.path
    steps: list[TraceStep] = []
    show = _print_step
    quiet = args.json
    other = runs_as_someone_else(root, args.owner)
    if not quiet:
        print(f"Test write on {fmt.user_path(root)}: uv's persist routine, step by step")
        if other is not None:
            print(f"(as {other.describe()}: the user uv runs as; root would pass every step)")
    if other is not None:
        newest = ctx.newest_uv if args.with_uv else None
        if args.with_uv and newest is None:
            raise UsageError("--with-uv needs a uv executable (on PATH, or --uv PATH)")
        result = run(
            as_user(
                root,
                other,
                bucket=args.bucket,
                keep=args.keep,
                uv=newest.path if newest else None,
                use_strace=not args.no_strace,
            ),
            None if quiet else show,
        )
        return _test_write_done(args, root, result.steps, result.ok)
    gen = replay(
        root, bucket=args.bucket, keep=args.keep, owner=args.owner, bucket_set=ctx.bucket_set()
    )
    result = run(gen, None if args.json else show)
    steps.extend(result.steps)
    ok = result.ok
    if args.with_uv:
        newest = ctx.newest_uv
        if newest is None:
            raise UsageError("--with-uv needs a uv executable (on PATH, or --uv PATH)")
        if not quiet:
            print(f"\nThe real uv ({newest.version_str}, {fmt.user_path(newest.path)}):")
        gen2 = with_uv(
            root,
            newest.path,
            use_strace=not args.no_strace,
            keep=args.keep,
            owner=args.owner,
            python=sys.executable,
        )
        result2 = run(gen2, None if args.json else show)
        steps.extend(result2.steps)
        ok = ok and result2.ok
    return _test_write_done(args, root, steps, ok)


def _test_write_done(args: argparse.Namespace, root: str, steps: list[TraceStep], ok: bool) -> int:
    if args.json:
        emit_json({"ok": ok, "cache_dir": root, "steps": [s.to_json() for s in steps]})
    else:
        failed = next((s for s in steps if not s.ok), None)
        print()
        print(
            "Every step passed: uv can write to this cache."
            if ok
            else f"The write fails at {failed.step if failed else '?'}."
        )
    return EXIT_OK if ok else EXIT_FINDINGS
