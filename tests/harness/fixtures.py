"""The committed fixture caches (tests/fixtures/caches, made by make_fixture_caches.py)."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

CACHES = Path(__file__).resolve().parents[1] / "fixtures" / "caches"
RELEASES = ["0.5.31", "0.8.24", "0.10.12", "0.12.24", "0.13.9"]


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CACHES / f"{name}.json").read_text())
    return data


def extract(name: str, dest: Path | None = None) -> Path:
    """Extract fixture `name` ("uv-0.5.31", "windows-shaped") and return its cache root.

    Without `dest` it goes to the path it was made at, so the absolute symlinks that uv releases
    before 0.11.17 wrote resolve; with `dest` it lands elsewhere (a moved cache).
    """
    m = manifest(name)
    root = Path(m["root"]) if dest is None else dest / "cache"
    if dest is None:
        if not str(root).startswith("/tmp/uvci-fixtures/"):
            raise ValueError(f"refusing to extract a fixture to {root}")
        shutil.rmtree(root.parent, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(CACHES / f"{name}.tar.gz") as tf:
        kwargs: dict[str, Any] = {}
        if hasattr(tarfile, "fully_trusted_filter"):
            kwargs["filter"] = "fully_trusted"  # our own tarball, with absolute symlinks
        tf.extractall(root.parent, **kwargs)
    return root
