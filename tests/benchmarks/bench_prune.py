"""Prune throughput against `uv cache prune`, on identical copies of one real cache.

    uv run python tests/benchmarks/bench_prune.py [--packages 1000] [--files 100] [--rounds 3]

The cache: real uv installs `--packages` generated packages; then the index serves a rebuilt wheel
(same name and version, other bytes, as after a re-upload) and uv reinstalls all of them with
`--refresh`: every first archive is left unreferenced (what `uv cache prune` exists for).
Each round copies it twice (`cp -a`), then times `uv cache prune` on one copy and
`uvci prune --yes` on the other (alternating which goes first), and checks that both leave the
same tree. Reports files removed per second and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import VENV_BIN, WORK, count_files, median, save, uv_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.harness.dists import write_wheel
from tests.harness.index import PackageIndex
from tests.harness.uvcache import UvRun


def prunable(packages: int, files: int) -> Path:
    """Install, rebuild the wheels, reinstall with --refresh: half the archives unreferenced.

    Both installs go through one index server: its URL (with its port) names the directory of
    wheel pointers, so a second server would leave the first pointers, and their archives, in
    use. Identical wheel bytes would not do either: uv keeps the archive whose hash it has."""
    target = WORK / f"prunable-{packages}x{files}" / "cache"
    done = target.parent / "complete"
    if done.exists():
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    dists = target.parent / "dists"
    python = shutil.which("python3.11") or sys.executable
    with PackageIndex(dists) as index:
        uvr = UvRun(uv_binary(), index.url, python)
        venv = target.parent / "venv"
        uvr.venv(venv, target)
        for payload, extra in ((200, ()), (201, ("--reinstall", "--refresh"))):
            for i in range(packages):
                write_wheel(dists, f"bench{i:05d}", "1.0", n_modules=files - 4, payload=payload)
            for start in range(0, packages, 1000):
                reqs = [f"bench{i:05d}" for i in range(start, min(packages, start + 1000))]
                uvr.pip_install(target, venv, reqs, *extra)
        shutil.rmtree(venv)
    shutil.rmtree(dists)
    done.write_text("ok\n")
    return target


def names(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out.update(os.path.join(rel, n) for n in dirnames + filenames)
    return {n for n in out if not n.startswith(".lock") and "/.tmp" not in n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    source = prunable(args.packages, args.files)
    before = count_files(source)
    scratch = WORK / "prune-copies"
    uv = uv_binary()
    times: dict[str, list[float]] = {"uv cache prune": [], "uvci prune --yes": []}
    removed = 0
    for r in range(args.rounds):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        a, b = scratch / "for-uv", scratch / "for-uvci"
        for c in (a, b):
            subprocess.run(["cp", "-a", str(source), str(c)], check=True)
        subprocess.run(["sync"], check=True)
        runs = [
            ("uv cache prune", [uv, "cache", "prune", "--cache-dir", str(a)]),
            ("uvci prune --yes", [str(VENV_BIN / "uvci"), "prune", "--yes", "--cache-dir", str(b)]),
        ]
        if r % 2:
            runs.reverse()
        for label, cmd in runs:
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - t)
        left_uv, left_uvci = names(a), names(b)
        if left_uv != left_uvci:
            diff = sorted(left_uv ^ left_uvci)[:10]
            raise SystemExit(f"the trees differ after pruning: {diff}")
        removed = before - count_files(a)
        if not removed:
            raise SystemExit("nothing was pruned: the cache has no unreferenced archives")
    shutil.rmtree(scratch, ignore_errors=True)
    med = {k: median(v) for k, v in times.items()}
    rate = {k: removed / v for k, v in med.items()}
    ratio = med["uvci prune --yes"] / med["uv cache prune"]
    print(f"cache: {source} ({before:,} files; prune removes {removed:,})")
    for k, v in med.items():
        print(f"  {k:18} median {v:.2f} s  ({rate[k]:,.0f} files/s; runs {times[k]})")
    print(f"  ratio uvci / uv: {ratio:.2f}; the trees left are identical")
    path = save(
        f"prune-{args.packages}x{args.files}",
        {
            "cache_files": before,
            "files_removed": removed,
            "median_seconds": med,
            "files_per_second": rate,
            "runs": times,
            "ratio_uvci_over_uv": ratio,
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
