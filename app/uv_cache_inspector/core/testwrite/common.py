"""What the test-write's programs share: the package they write, the result of a run and how to
drive one, and whose the cache is.

`replay` (uv's write replayed), `with_uv` (the real uv, traced) and `runas` (either, as the user
who runs uv) each yield one `TraceStep` at a time and return a `ProbeResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from uv_cache_inspector.core.model import Owner, TraceStep

PROBE_PACKAGE = "uvci_probe"


def payload() -> dict[str, bytes]:
    """A small wheel-like tree: a module, dist-info with RECORD, native-looking files."""
    info = f"{PROBE_PACKAGE}-0.0.0.dist-info"
    files = {
        f"{PROBE_PACKAGE}/__init__.py": b"# written by uvci test-write\n",
        f"{PROBE_PACKAGE}/_native.cpython-311-x86_64-linux-gnu.so": b"\x7fELF probe\n",
        f"{PROBE_PACKAGE}/_native.pyd": b"MZ probe\n",
        f"{PROBE_PACKAGE}/helper.dll": b"MZ probe\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: uvci-probe\nVersion: 0.0.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: uvci\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "".join(f"{p},,{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    return files


@dataclass
class ProbeResult:
    """A finished run: every step passed or not, the steps, and what `keep` left behind."""

    ok: bool
    steps: list[TraceStep]
    kept: list[str] = field(default_factory=list)


def run(
    gen: Generator[TraceStep, None, ProbeResult], on_step: Callable[[TraceStep], None] | None = None
) -> ProbeResult:
    """Drive a test-write program to its end, handing each step to `on_step` as it happens."""
    while True:
        try:
            s = next(gen)
        except StopIteration as stop:
            result: ProbeResult = stop.value
            return result
        if on_step:
            on_step(s)


def owner_of(path: str) -> Owner | None:
    """Who owns `path` (following links: the cache root may be one), None when it is gone."""
    try:
        return Owner.from_stat(os.stat(path))
    except OSError:
        return None
