"""A real uv process that holds the cache's shared lock for as long as a test needs."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.harness.uvcache import clean_env


@contextmanager
def uv_holding_lock(
    uv: str, cache: Path, python: str, seconds: float = 60, index_url: str | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`uv run ... python -c sleep`: uv holds the shared lock for the child's whole life
    (docs/uv-cache-format.md §5). Yields once the lock is visibly held."""
    from uv_cache_inspector.core.cache import lock

    cmd = [uv, "run", "--no-project", "--cache-dir", str(cache), "--python", python]
    if index_url:
        cmd += ["--index-url", index_url]
    cmd += ["--", "python", "-c", f"import time; time.sleep({seconds})"]
    proc = subprocess.Popen(
        cmd,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(cache.parent),
    )
    try:
        deadline = time.monotonic() + 30
        while not lock.probe(str(cache)).held:
            if proc.poll() is not None:
                raise AssertionError(
                    f"uv run exited early: {proc.stderr.read() if proc.stderr else ''}"
                )
            if time.monotonic() > deadline:
                raise AssertionError("uv run never took the cache lock")
            time.sleep(0.05)
        yield proc
    finally:
        proc.kill()
        proc.wait()
