"""`uvci`: the command-line face of the inspector (cli-contract.md).

Global options are accepted before or after the subcommand. Human output goes to stdout,
progress and warnings to stderr; `--json` prints one JSON document. Errors the user can act on are
one line on stderr with the contract's exit code, never a traceback.

Each subcommand is a module of this package holding its arguments (`add_parser`) and what it
does (`run`); this one builds the parser from them and turns what goes wrong into exit codes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from uv_cache_inspector import __version__
from uv_cache_inspector.cli import (
    doctor,
    explain,
    install_shortcut,
    prune,
    repair,
    report,
    scan,
    test_write,
    verify,
    watch,
)
from uv_cache_inspector.cli.common import EXIT_OK, EXIT_USAGE, global_options
from uv_cache_inspector.cli.output import safe_streams
from uv_cache_inspector.core.errors import InspectorError, UsageError

# The subcommands, in the order `uvci --help` lists them.
COMMANDS = (
    scan,
    doctor,
    explain,
    test_write,
    repair,
    prune,
    verify,
    watch,
    install_shortcut,
    report,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


class _Version(argparse.Action):
    """`--version`: the version and which walker scans (compiled, or the Python fallback and
    why), on one line, as bug reports need it (argparse's own action would wrap it)."""

    # kwargs: what argparse passes to every action, handed on as they are.
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from uv_cache_inspector.core.cache.walk import walker_description

        print(f"uvci {__version__} ({walker_description()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="uvci",
        description="See what is inside uv's package cache, find out why it broke, fix it safely.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and the walker")
    global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


# -- entry point -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    saved = sys.stdout, sys.stderr
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = saved


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same clean stop as Ctrl+C (exit 143)."""


def _on_sigterm(*_: object) -> None:
    raise _Terminated


def _main(argv: list[str]) -> int:
    if argv[:1] and argv[0].startswith("--uvci-"):  # a child of this program (core/selfexec.py)
        from uv_cache_inspector.entry import run_child

        child = run_child(argv)
        if child is not None:
            return child
        argv = argv[1:]  # CLI_FLAG: the command line itself
    safe_streams()
    import signal
    import threading

    try:
        # Inside the try: from the instant the handler exists, its exception is caught here.
        if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.func(args)
    except InspectorError as exc:
        print(f"uvci: {exc}", file=sys.stderr)
        return exc.exit_code
    except _Terminated:
        print("uvci: terminated (SIGTERM); what was done so far is in the journal", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("uvci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `uvci scan | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code
