"""`uvci`, the command line: `main` (cli/main.py) builds the parser from one module per
subcommand (arguments and `run` side by side), output.py holds what their output shares."""

from __future__ import annotations

from uv_cache_inspector.cli.main import main

__all__ = ["main"]
