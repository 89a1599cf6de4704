"""Prune throughput against `uv cache prune`, on identical copies of one real cache.

    uv run python tests/benchmarks/bench_prune.py [--packages 1000] [--files 100] [--rounds 3]
    uv run python tests/benchmarks/bench_prune.py --tmp 10000 [--rounds 3]

The cache: real uv installs `--packages` generated packages; then the index serves a rebuilt wheel
(same name and version, other bytes, as after a re-upload) and uv reinstalls all of them with
`--refresh`: every first archive is left unreferenced (what `uv cache prune` exists for).
With `--tmp N`, the cache is a small one real uv wrote (100 packages of 10 files) plus N orphaned
`.tmpXXXXXX` folders at its root, each holding an unpacked wheel copied from one of its archives
(what uv leaves behind when it is killed while unpacking).
Each round copies the cache twice (`cp -a`), then runs `uv cache prune` on one copy and
`uvci prune --yes` on the other (alternating which goes first), and checks that both leave the
same tree. Reports wall time (median, min, max), CPU, files removed per second, and the ratio
uvci / uv round by round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import (
    VENV_BIN,
    WORK,
    Run,
    build_cache,
    compile_bytecode,
    count_files,
    pair_ratios,
    run,
    save,
    spread,
    uv_binary,
)

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


def orphaned_tmp(count: int) -> Path:
    """A small real cache plus `count` orphaned `.tmp*` folders at its root (made once)."""
    import random
    import string

    target = WORK / f"tmp-{count}" / "cache"
    done = target.parent / "complete"
    if done.exists():
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(build_cache(100, 10)), str(target)], check=True)
    archives = sorted((target / "archive-v0").iterdir())
    rnd = random.Random(count)
    made: set[str] = set()
    while len(made) < count:
        name = ".tmp" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(6))
        if name not in made:
            shutil.copytree(archives[len(made) % len(archives)], target / name, symlinks=True)
            made.add(name)
    done.write_text("ok\n")
    return target


def root_tmp(root: Path) -> list[str]:
    return [n for n in os.listdir(root) if n.startswith(".tmp")]


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
    ap.add_argument("--tmp", type=int, default=0, help="orphaned .tmp folders instead")
    args = ap.parse_args()
    source = orphaned_tmp(args.tmp) if args.tmp else prunable(args.packages, args.files)
    before = count_files(source)
    compile_bytecode()
    scratch = WORK / "prune-copies"
    env = {**os.environ, "UVCI_JOURNAL_DIR": str(scratch / "journal")}
    uv = uv_binary()
    runs: dict[str, list[Run]] = {"uv cache prune": [], "uvci prune --yes": []}
    removed = 0
    for r in range(args.rounds):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        a, b = scratch / "for-uv", scratch / "for-uvci"
        for c in (a, b):
            subprocess.run(["cp", "-a", str(source), str(c)], check=True)
        subprocess.run(["sync"], check=True)
        order = [
            ("uv cache prune", [uv, "cache", "prune", "--cache-dir", str(a)]),
            ("uvci prune --yes", [str(VENV_BIN / "uvci"), "prune", "--yes", "--cache-dir", str(b)]),
        ]
        if r % 2:
            order.reverse()
        for label, cmd in order:
            runs[label].append(run(cmd, env))
        left_uv, left_uvci = names(a), names(b)
        if left_uv != left_uvci:
            diff = sorted(left_uv ^ left_uvci)[:10]
            raise SystemExit(f"the trees differ after pruning: {diff}")
        if root_tmp(a) or root_tmp(b):
            raise SystemExit(f"root .tmp folders left: {root_tmp(a)[:3]} {root_tmp(b)[:3]}")
        removed = before - count_files(a)
        if not removed:
            raise SystemExit("nothing was pruned: the cache has nothing to remove")
    shutil.rmtree(scratch, ignore_errors=True)
    wall = {k: spread([x.wall for x in v]) for k, v in runs.items()}
    cpu = {k: spread([x.cpu for x in v]) for k, v in runs.items()}
    ratio = spread(pair_ratios(runs["uvci prune --yes"], runs["uv cache prune"]))
    what = f"{args.tmp} orphaned .tmp folders" if args.tmp else "unreferenced archives"
    print(f"cache: {source} ({before:,} files; {what}; prune removes {removed:,})")
    for k, v in wall.items():
        print(
            f"  {k:18} wall {v['median']:.2f} s ({v['min']:.2f}-{v['max']:.2f}), "
            f"cpu {cpu[k]['median']:.2f} s ({removed / v['median']:,.0f} files/s)"
        )
    print(
        f"  uvci / uv, round by round: {ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"
        "; the trees left are identical"
    )
    name = f"prune-tmp-{args.tmp}" if args.tmp else f"prune-{args.packages}x{args.files}"
    path = save(
        name,
        {
            "cache_files": before,
            "files_removed": removed,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "runs_wall": {k: [x.wall for x in v] for k, v in runs.items()},
            "ratio_uvci_over_uv": ratio,
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
