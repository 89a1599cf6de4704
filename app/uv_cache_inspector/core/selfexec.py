"""How the program runs itself again, in one place: the flags and the command lines.

Three kinds of child start from this program:

- scan and verify workers (cache/workers.py): `WORKER_FLAG`, or the interpreter with `-S` and
  only this package on its path;
- the test-write as the user uv runs as (testwrite/runas.py, `as_user`): `TESTWRITE_FLAG`,
  running `testwrite.child`, never the command line;
- the elevated helper (actions/elevate.py): the command line itself (`uvci repair --plan ...`),
  which a user may also paste into a terminal.

A frozen build (PyInstaller) has no interpreter to hand a `-c` to: its two programs (`uvci`
and `uv-cache-inspector`) accept the flags as their first argument instead; `entry.run_child`
is what both call before anything else.
"""

from __future__ import annotations

import os
import sys

WORKER_FLAG = "--uvci-walk-worker"  # a scan or verify worker (cache/walk.py worker_main)
TESTWRITE_FLAG = "--uvci-test-write-child"  # the test-write as another user (testwrite/child.py)
CLI_FLAG = "--uvci-cli"  # the command line, whichever of the frozen programs was started

WORKER_MODULE = "uv_cache_inspector.core.cache.walk"
TESTWRITE_MODULE = "uv_cache_inspector.core.testwrite.child"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def package_parent() -> str:
    """The directory that holds the uv_cache_inspector package (for a child's PYTHONPATH)."""
    core = os.path.dirname(os.path.realpath(__file__))
    return os.path.dirname(os.path.dirname(core))


def python_child(
    module: str, flag: str, python: str | None = None, *, isolated: bool = False, func: str = "main"
) -> list[str]:
    """The command that runs `module.func(argv)` in a new process: the frozen program with
    `flag`, or an interpreter (`python`, default this one; `isolated`: without site, `-S`)."""
    if frozen():
        return [sys.executable, flag]
    start = f"import sys; from {module} import {func}; sys.exit({func}(sys.argv[1:]))"
    return [python or sys.executable, *(["-S"] if isolated else []), "-c", start]


def worker_command() -> tuple[list[str], dict[str, str]]:
    """A walker process: only this package on its path, no site (it starts faster)."""
    env = dict(os.environ)
    if not frozen():
        here = package_parent()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    return python_child(WORKER_MODULE, WORKER_FLAG, isolated=True, func="worker_main"), env


def cli_command() -> list[str]:
    """This program's command line (`uvci`), as a command to run or to paste."""
    if frozen():
        return [sys.executable, CLI_FLAG]
    return [sys.executable, "-m", "uv_cache_inspector"]
