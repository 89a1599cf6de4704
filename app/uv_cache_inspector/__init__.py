"""uv Cache Inspector: see what is inside uv's package cache, diagnose it, fix it safely."""

from __future__ import annotations

__version__ = "0.1.0"
