"""Time to the first finding and to the full diagnosis, on the large real cache, broken as in
uv issue #11018 (archive-v0 owned by root, diagnosed for the unprivileged user 65534).

    uv run python tests/benchmarks/bench_doctor.py [--packages 3000] [--files 100] [--rounds 5]

`uvci doctor` prints findings as it finds them; the time to the first line on stdout is the time a
user waits for the cause. The cache's ownership is restored afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from common import VENV_BIN, build_cache, count_files, median, save


def one_run(cmd: list[str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = None
    first_line = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and line.startswith(("ERROR", "WARN", "INFO")):
            first = time.perf_counter() - start
            first_line = line.strip()
    proc.wait()
    total = time.perf_counter() - start
    return first if first is not None else total, total, first_line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=3000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cache = build_cache(args.packages, args.files)
    archive = cache / "archive-v0"
    st = os.stat(cache)
    os.chown(cache, 65534, 65534)
    try:
        cmd = [str(VENV_BIN / "uvci"), "doctor", "--cache-dir", str(cache), "--owner", "65534"]
        one_run(cmd)  # warm-up
        firsts, totals = [], []
        line = ""
        for _ in range(args.rounds):
            f, t, line = one_run(cmd)
            firsts.append(f)
            totals.append(t)
    finally:
        os.chown(cache, st.st_uid, st.st_gid)
        os.chown(archive, st.st_uid, st.st_gid)
    n = count_files(cache)
    print(f"cache: {cache} ({n:,} files), archive-v0 root-owned, diagnosed for uid 65534")
    print(
        f"  first finding: median {median(firsts):.3f} s  ({', '.join(f'{x:.3f}' for x in firsts)})"
    )
    print(
        f"  full diagnosis: median {median(totals):.3f} s  ({', '.join(f'{x:.3f}' for x in totals)})"
    )
    print(f"  first line: {line[:100]}")
    path = save(
        f"doctor-{args.packages}x{args.files}",
        {
            "cache_files": n,
            "first_finding_seconds": firsts,
            "full_diagnosis_seconds": totals,
            "median_first_finding": median(firsts),
            "median_full_diagnosis": median(totals),
            "first_line": line,
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
