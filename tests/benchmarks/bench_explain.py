"""How fast and how well `uvci explain` reads uv's errors.

    uv run python tests/benchmarks/bench_explain.py [--mb 10] [--rounds 3]

1. Speed: `uvci explain --json -` on 10 MB inputs (adversarial ones, and real messages repeated),
   end to end (process start, reading stdin, JSON out), median of the rounds. uv has no
   counterpart to explain; the side-by-side reference is `grep -c "os error"` reading the same
   bytes (one linear pass), reported as a ratio.
2. Quality: the share of the corpus (tests/data/explain_corpus.json) and of the held-out set
   (explain_holdout.json) explained fully (operation, paths, error number, cause and kind of
   fix all as the thread established), with no cache at the location and with a cache real uv
   wrote (from a wheel served on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, VENV_BIN, median, save, uv_binary

DATA = ROOT / "tests" / "data"


def _inputs(size: int) -> dict[str, bytes]:
    corpus = "\n".join(
        e["text"] for e in json.loads((DATA / "explain_corpus.json").read_text())["entries"]
    )
    real = (corpus + "\n").encode()
    return {
        "a to (18 s for 100 KB before)": b"a to " * (size // 5),
        "rename from + a to": b"error: failed to rename file from " + b"/a to " * (size // 6),
        "real messages repeated": real * (size // len(real)),
        "error lines": b"error: x\n" * (size // 9),
        "distinct failures": b"".join(
            f"error: failed to open file `/a/{i}`: Permission denied (os error 13)\n".encode()
            for i in range(size // 70)
        ),
        "one flattened chain": b"error: a" + b" Caused by: b" * (size // 13),
        "NUL bytes": b"\0" * size,
        "binary": bytes(range(256)) * (size // 256),
    }


def _time(cmd: list[str], data: bytes, rounds: int) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds of the child, exit code). The CPU time is what
    the work costs; the wall time also counts waiting for a CPU on a busy machine."""
    walls, cpus, code = [], [], 0
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        code = proc.returncode
    return median(walls), median(cpus), code


def speed(mb: float, rounds: int) -> dict[str, object]:
    size = int(mb * 1024 * 1024)
    out: dict[str, object] = {}
    missing = tempfile.mkdtemp(prefix="uvci-bench-nocache-") + "/none"
    for name, data in _inputs(size).items():
        wall, cpu, code = _time(
            [str(VENV_BIN / "uvci"), "explain", "--json", "--cache-dir", missing, "-"],
            data,
            rounds,
        )
        grep, _, _ = _time(["grep", "-c", "os error"], data, rounds)
        out[name] = {
            "bytes": len(data),
            "uvci_explain_wall_s": round(wall, 3),
            "uvci_explain_cpu_s": round(cpu, 3),
            "exit_code": code,
            "grep_wall_s": round(grep, 3),
            "ratio_to_grep_wall": round(wall / grep, 1) if grep > 0 else None,
        }
        print(
            f"{name:32} {len(data) / 2**20:5.1f} MB  wall {wall:5.2f} s  cpu {cpu:5.2f} s"
            f"  (exit {code})  grep {grep:5.2f} s",
            flush=True,
        )
    return out


def _score(entries: list[dict], root: str, present: bool) -> tuple[int, list[str]]:
    sys.path.insert(0, str(ROOT / "app"))
    from uv_cache_inspector.core.diagnosis import explain as ex
    from uv_cache_inspector.core.platform.access import resolve_user

    user = resolve_user(None)
    ok, misses = 0, []
    for e in entries:
        _, explained, _ = ex.explain_text(e["text"], user, root, cache_present=present)
        got = None
        if explained:
            first = explained[0]
            got = {
                "operation": first.failure.op,
                "paths": list(first.failure.paths),
                "errno": first.failure.errno,
                "cause": first.cause,
                "fix": first.finding.details.get("fix_kind"),
            }
        if got == e["expect"]:
            ok += 1
        else:
            misses.append(e["id"])
    return ok, misses


def quality() -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from tests.harness.dists import write_wheel
    from tests.harness.index import PackageIndex
    from tests.harness.uvcache import UvRun, make_cache

    work = Path(tempfile.mkdtemp(prefix="uvci-bench-explain-"))
    write_wheel(work / "dists", "bench-explain", "1.0")
    with PackageIndex(work / "dists") as index:
        uvr = UvRun(uv_binary(), index.url, sys.executable)
        cache = work / "cache"
        make_cache(uvr, cache, ["bench-explain"])
    out: dict[str, object] = {}
    for name in ("explain_corpus", "explain_holdout"):
        entries = json.loads((DATA / f"{name}.json").read_text())["entries"]
        absent, miss_a = _score(entries, str(work / "no-cache-here"), False)
        present, miss_p = _score(entries, str(cache), True)
        out[name] = {
            "entries": len(entries),
            "fully_explained_cache_absent": absent,
            "fully_explained_cache_present": present,
            "share_absent": round(absent / len(entries), 3),
            "share_present": round(present / len(entries), 3),
            "misses_absent": miss_a,
            "misses_present": miss_p,
        }
        print(
            f"{name}: {absent}/{len(entries)} without a cache, {present}/{len(entries)} "
            f"with a cache real uv wrote",
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    results: dict[str, object] = {"input_mb": args.mb, "rounds": args.rounds}
    results["speed"] = speed(args.mb, args.rounds)
    results["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    results["quality"] = quality()
    print(f"wrote {save('explain', results)}")


if __name__ == "__main__":
    main()
