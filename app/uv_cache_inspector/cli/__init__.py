"""`uvci`, the command line. `main` (in main.py) builds the parser from one module per subcommand,
each holding its arguments (`add_parser`) next to what it does (`run`); common.py, plans.py and
output.py hold what several of them share.

`uv_cache_inspector.cli.main` is the function here (pyproject's `uvci` script, `__main__.py`);
the module of that name is imported as `from uv_cache_inspector.cli.main import ...`.
"""

from __future__ import annotations

from uv_cache_inspector.cli.main import main

__all__ = ["main"]
