"""explain reads its input in time linear in its size.

The proof is by scaling, not by a stopwatch: the CPU time for an input 16 times larger must be
at most 64 times the time for the small one (linear would be 16; the quadratic behaviour this
replaces is 256, and 100 KB of "a to " took 18 s before). Each size is timed as the best of three
runs of this process's own CPU time, so other work on the machine does not count. The absolute
figures for 10 MB are in tests/benchmarks/results/explain.json (bench_explain.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from uv_cache_inspector.core.diagnosis import explain as ex

CORPUS = "\n".join(
    e["text"]
    for e in json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "explain_corpus.json").read_text(
            encoding="utf-8"
        )
    )["entries"]
)

SMALL = 64 * 1024
FACTOR = 16


def _inputs(size: int) -> dict[str, str]:
    return {
        "a to": "a to " * (size // 5),
        "rename a to": "error: failed to rename file from " + "/a to " * (size // 6),
        "backticks": "failed to open file `" * (size // 21),
        "os error": "(os error 13) " * (size // 14),
        "real messages": (CORPUS + "\n") * max(1, size // (len(CORPUS) + 1)),
        "error lines": "error: x\n" * (size // 9),
        "one flattened chain": "error: a" + " Caused by: b" * (size // 13),
        "spaces": " " * size,
        "tree marks": ("├─▶ " * 20 + "\n") * (size // 81),
        "distinct errors": "".join(
            f"error: failed to open file `/a/{i}`: Permission denied (os error 13)\n"
            for i in range(size // 70)
        ),
    }


def _cpu(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        ex.explain_text(text, None, None, cache_present=False)
        best = min(best, time.process_time() - t)
    return max(best, 1e-3)  # below the clock's resolution, count a millisecond


@pytest.mark.parametrize("kind", sorted(_inputs(1)))
def test_time_grows_linearly(kind):
    small = _inputs(SMALL)[kind]
    large = _inputs(SMALL * FACTOR)[kind]
    assert len(large) >= len(small) * FACTOR * 0.9
    ratio = _cpu(large) / _cpu(small)
    assert ratio < FACTOR * 4, f"{kind}: {ratio:.1f}x the time for {FACTOR}x the input"


def test_binary_input_is_not_uv_output():
    failures, explained, prepared = ex.explain_text(b"\x00\xff\xfe\x01" * 4096, None, None)
    assert prepared.binary and failures == [] and explained == []


def test_the_last_error_of_a_huge_log_is_the_one_explained():
    """More distinct failures than any uv run prints: the start and the end are read, the
    middle skipped (and said), and uv's final error is still the one explained."""
    noise = "".join(
        f"error: failed to open file `/a/{i}`: Permission denied (os error 13)\n"
        for i in range(ex.MAX_FAILURES * 5)
    )
    last = "error: failed to remove directory `/app/.venv`: Resource busy (os error 16)\n"
    _, explained, prepared = ex.explain_text(noise + last, None, None)
    assert explained[0].cause == "mount-point"
    assert explained[0].failure.paths == ("/app/.venv",)
    assert any("skipped" in n for n in prepared.notes)
