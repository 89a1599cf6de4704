"""`uvci install-shortcut`: the app in the application menu, Start menu or ~/Applications."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from uv_cache_inspector.cli.common import EXIT_OK, add_command
from uv_cache_inspector.cli.output import emit_json

if TYPE_CHECKING:
    from uv_cache_inspector.cli.common import Subparsers


def add_parser(subparsers: Subparsers) -> None:
    p = add_command(
        subparsers,
        "install-shortcut",
        "add the app to the application menu / Start menu / ~/Applications for this user",
    )
    p.add_argument("--uninstall", action="store_true", help="remove what it added, and only that")
    p.add_argument("--dry-run", action="store_true", help="say what it would write or remove")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from uv_cache_inspector.core.platform import shortcut

    result = (
        shortcut.uninstall(dry_run=args.dry_run)
        if args.uninstall
        else shortcut.install(dry_run=args.dry_run)
    )
    if args.json:
        emit_json(result.to_json())
    else:
        print(result.summary())
    return EXIT_OK
