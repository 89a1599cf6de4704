"""What the subcommands share besides output: the exit codes, the global options, the cache's
context, and the diagnosis that doctor, explain, repair and report run."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.output import ProgressLine, print_finding
from uv_cache_inspector.core.errors import CancelledError

if TYPE_CHECKING:
    from uv_cache_inspector.core.cache.context import CacheContext
    from uv_cache_inspector.core.diagnosis.engine import Diagnosis

    # What `ArgumentParser.add_subparsers` returns (argparse does not name the class publicly).
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_IN_USE = 3


def global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: str | None = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--cache-dir",
        metavar="PATH",
        default=default,
        help="the cache to inspect (default: found exactly as uv finds it)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="machine-readable output on stdout",
    )
    parser.add_argument(
        "--uv",
        metavar="PATH",
        action="append",
        default=argparse.SUPPRESS if suppress else [],
        help="a uv executable to consider besides those on PATH (repeatable)",
    )
    parser.add_argument(
        "--layout",
        choices=["auto", "windows", "unix"],
        default=argparse.SUPPRESS if suppress else "auto",
        help="how links in the cache are read: Windows link files or Unix symlinks "
        "(default: auto, from what is in the cache)",
    )


def add_command(subparsers: Subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    """A subcommand's parser, which accepts the global options after its name too."""
    p = subparsers.add_parser(name, help=help_text, description=help_text)
    global_options(p, suppress=True)
    return p


def cache_context(args: argparse.Namespace) -> CacheContext:
    from uv_cache_inspector.core.cache.context import make_context

    return make_context(args.cache_dir, args.uv or (), layout=args.layout).start()


def venv_path(arg: str | None) -> str | None:
    if arg:
        return arg
    env = os.environ.get("VIRTUAL_ENV")
    if env:
        return env
    return ".venv" if os.path.isdir(".venv") else None


# -- the diagnosis ---------------------------------------------------------------------------


def diagnosis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--owner",
        metavar="USER",
        help="the user who runs uv (default: you; as root: SUDO_UID or the cache's owner)",
    )
    p.add_argument(
        "--venv",
        metavar="PATH",
        help="an environment to check against the cache (default: $VIRTUAL_ENV or ./.venv)",
    )
    p.add_argument(
        "--orphan-age",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="how old an unused .tmp* directory must be to count as orphaned",
    )
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)


def run_diagnosis(
    args: argparse.Namespace, ctx: CacheContext, *, deep: bool, stream_human: bool
) -> Diagnosis:
    """Run the diagnosis; print findings as they arrive when asked to (human output).

    On the command's own context: the cache it located and the uv binaries it is finding are
    handed to the diagnosis, which would otherwise look for both again."""
    from uv_cache_inspector.core.diagnosis.engine import diagnose
    from uv_cache_inspector.core.model import CancelToken, Progress

    if stream_human:
        from uv_cache_inspector.core import fmt

        print(f"Cache: {fmt.user_path(ctx.location.path)} ({ctx.location.detail})")
        print()
    shown: set[tuple[str, str | None]] = set()
    progress = ProgressLine()
    gen = diagnose(
        ctx.location.path,
        location=ctx.location,
        binaries=lambda: ctx.binaries,
        bucket_set=ctx.bucket_set,
        venv=venv_path(getattr(args, "venv", None)),
        owner=getattr(args, "owner", None),
        orphan_age=getattr(args, "orphan_age", 3600),
        cancel=CancelToken(),
        deep=deep,
        workers=getattr(args, "workers", None),
        link_style=ctx.link_style,
    )
    try:
        while True:
            try:
                item = next(gen)
            except StopIteration as stop:
                diag: Diagnosis = stop.value
                return diag
            if isinstance(item, Progress):
                progress(item)
                continue
            key = (item.code, item.path)
            if stream_human and key not in shown:
                shown.add(key)
                progress.clear()
                print_finding(item)
    except KeyboardInterrupt:
        gen.close()
        raise CancelledError("interrupted") from None
    finally:
        progress.clear()


def findings_json(
    diag: Diagnosis, ctx: CacheContext, extra: dict[str, object] | None = None
) -> dict[str, object]:
    from uv_cache_inspector.core.model import display_path

    inp = diag.inputs
    out: dict[str, object] = {
        "cache_dir": display_path(diag.root),
        "findings": [f.to_json() for f in diag.findings],
        "uv_user": {"uid": inp.user.uid, "name": inp.user.name, "how": inp.user.how},
        "lock": inp.lock.describe(),
        "uv_versions": [
            {"path": b.path, "version": b.version_str, "found": b.how_found} for b in inp.binaries
        ],
        "location": ctx.location.to_json(),
    }
    if extra:
        out.update(extra)
    return out
