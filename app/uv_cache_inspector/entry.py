"""What both programs (`uvci` and `uv-cache-inspector`) do first when started as a child of this
program: a frozen build has no interpreter to run a module with, so its children are started
with a flag instead (core/selfexec.py lists them)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from uv_cache_inspector.core.selfexec import CLI_FLAG, TESTWRITE_FLAG, WORKER_FLAG


def run_child(argv: Sequence[str]) -> int | None:
    """The exit code of the child that `argv[0]` names; None for CLI_FLAG (the caller runs the
    command line with `argv[1:]`). An unknown `--uvci-*` flag is refused."""
    flag, rest = argv[0], list(argv[1:])
    if flag == WORKER_FLAG:
        from uv_cache_inspector.core.cache.walk import worker_main

        return worker_main(rest)
    if flag == TESTWRITE_FLAG:
        from uv_cache_inspector.core.testwrite.child import main

        return main(rest)
    if flag == CLI_FLAG:
        return None
    print(f"uvci: unknown option {flag}", file=sys.stderr)
    return 2
