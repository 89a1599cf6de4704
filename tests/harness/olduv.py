"""Older uv releases, as users have them beside a newer one (issue 12: caches shared by releases).

The binary comes out of the release's wheel on PyPI (the same download the fixture-cache maker
uses), once per machine: it is kept in UVCI_OLD_UV_DIR (default /tmp/uvci-old-uv).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

STORE = Path(os.environ.get("UVCI_OLD_UV_DIR", "/tmp/uvci-old-uv"))


def old_uv(version: str) -> Path:
    """A directory holding only `uv` of `version` (to put alone on PATH)."""
    from tests.fixtures.make_fixture_caches import fetch_uv

    bindir = STORE / version
    uv = bindir / "uv"
    if uv.exists():
        return bindir
    bindir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        got = fetch_uv(version, Path(tmp))
        partial = bindir / "uv.partial"
        partial.write_bytes(got.read_bytes())
    partial.chmod(0o755)
    partial.rename(uv)
    return bindir
