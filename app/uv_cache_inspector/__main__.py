"""`python -m uv_cache_inspector` is the same as `uvci`."""

from __future__ import annotations

import sys

from uv_cache_inspector.cli import main

if __name__ == "__main__":
    sys.exit(main())
