"""Verify throughput against `sha256sum` over the same files, and the second run's time.

    uv run python tests/benchmarks/bench_verify.py [--packages 400] [--rounds 3] [--many-files]

The cache: real uv installs `--packages` generated wheels whose sizes are spread as in real
caches: about 40 modules of 1-30 KiB each and one binary blob of 0.2-6 MiB (a native extension),
random bytes, so nothing hashes faster for being repetitive. Each round times, alternating:

- `sha256sum` over exactly the files verify hashes (every file a RECORD lists with a hash), in
  one run (`xargs -0`), its output to /dev/null; and `openssl dgst -sha256` the same way (the
  SHA extensions of the CPU, as Python's hashlib uses them; Debian's sha256sum does not);
- `uvci verify --no-state` (everything hashed: a first run), with the inspector's worker pool;
- the same with `--workers 1` (one process, as sha256sum is);
- `uvci verify` after a run that remembered its verdicts (the second run: nothing hashed).

Both read from the page cache (the files are read once before timing, and the machine is not
asked to drop its caches: it is shared). Reports bytes per second and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import VENV_BIN, WORK, alternate, median, save, uv_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app"))

from tests.harness.dists import wheel_bytes
from tests.harness.index import PackageIndex
from tests.harness.uvcache import UvRun

from uv_cache_inspector.core.cache.record import parse_record


def build(packages: int) -> Path:
    target = WORK / f"verify-{packages}" / "cache"
    done = target.parent / "complete"
    if done.exists():
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    dists = target.parent / "dists"
    dists.mkdir(parents=True)
    rng = random.Random(17)
    print(f"building {target.parent.name}: writing {packages} wheels...", file=sys.stderr)
    for i in range(packages):
        name = f"vbench{i:04d}"
        files = {f"{name}/__init__.py": b"X = 1\n"}
        for m in range(40):
            files[f"{name}/m{m}.py"] = rng.randbytes(rng.randint(1024, 30 * 1024))
        files[f"{name}/_native.so"] = rng.randbytes(rng.randint(200 * 1024, 6 * 1024 * 1024))
        (dists / f"{name}-1.0-py3-none-any.whl").write_bytes(wheel_bytes(name, "1.0", files))
    python = shutil.which("python3.11") or sys.executable
    with PackageIndex(dists) as index:
        uvr = UvRun(uv_binary(), index.url, python)
        venv = target.parent / "venv"
        uvr.venv(venv, target)
        for start in range(0, packages, 200):
            reqs = [f"vbench{i:04d}" for i in range(start, min(packages, start + 200))]
            uvr.pip_install(target, venv, reqs)
        shutil.rmtree(venv)
    shutil.rmtree(dists)
    done.write_text("ok\n")
    return target


def hashed_files(cache: Path) -> list[str]:
    """Every file a RECORD lists with a hash: what `uvci verify` hashes on a first run."""
    out = []
    for archive in sorted((cache / "archive-v0").iterdir()):
        for record in archive.glob("*.dist-info/RECORD"):
            entries, _ = parse_record(record.read_bytes())
            out += [str(archive / p) for p, (text, _size) in entries.items() if text]
    return out


def setup(cache: Path, files: list[str]) -> tuple[Path, Path, dict[str, str], list[str]]:
    """(file list for xargs -0, a fresh state directory, the environment, the uvci command)."""
    listing = Path(tempfile.mkstemp(prefix="uvci-verify-files-")[1])
    listing.write_bytes(b"\0".join(os.fsencode(f) for f in files) + b"\0")
    state = Path(tempfile.mkdtemp(prefix="uvci-verify-state-"))
    env = {**os.environ, "UVCI_STATE_DIR": str(state)}
    return (
        listing,
        state,
        env,
        [str(VENV_BIN / "uvci"), "verify", "--json", "--cache-dir", str(cache)],
    )


def over(listing: Path, cmd: list[str]) -> float:
    """Seconds for `cmd` over every file of `listing`, in one run (xargs -0), output dropped."""
    with listing.open("rb") as fh:
        start = time.perf_counter()
        subprocess.run(["xargs", "-0", *cmd], stdin=fh, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {proc.stderr}")
    return elapsed, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--many-files",
        action="store_true",
        help="also time the second run on the scan benchmark's 309,007-file cache",
    )
    args = ap.parse_args()
    cache = build(args.packages)
    files = hashed_files(cache)
    total = sum(os.path.getsize(f) for f in files)
    listing, state, env, uvci = setup(cache, files)
    print(f"{len(files):,} files, {total / 2**20:,.0f} MiB to hash", file=sys.stderr)
    checked: dict[str, dict[str, object]] = {}

    def sha256sum() -> float:
        return over(listing, ["sha256sum"])

    def openssl() -> float:
        return over(listing, ["openssl", "dgst", "-sha256"])

    def first(workers: list[str], key: str) -> float:
        elapsed, out = run([*uvci, "--no-state", *workers], env)
        data = json.loads(out)
        checked[key] = {"hashed_bytes": data["bytes_hashed"], "files": data["files"]}
        assert data["bytes_hashed"] == total, (data["bytes_hashed"], total)
        return elapsed

    def second() -> float:
        elapsed, out = run(uvci, env)
        data = json.loads(out)
        checked["second"] = {"hashed_bytes": data["bytes_hashed"], "files": data["files"]}
        return elapsed

    run(uvci, env)  # a run that remembers (the cache was written long enough ago)
    load_before = os.getloadavg()
    times = alternate(
        {
            "sha256sum": sha256sum,
            "openssl dgst -sha256": openssl,
            "uvci verify (first run)": lambda: first([], "first"),
            "uvci verify --workers 1 (first run)": lambda: first(["--workers", "1"], "one"),
            "uvci verify (second run)": second,
        },
        args.rounds,
    )
    med = {k: median(v) for k, v in times.items()}
    rate = {k: total / t for k, t in med.items() if "second" not in k}
    ratio = {k: rate[k] / rate["sha256sum"] for k in rate if k != "sha256sum"}
    for k, t in med.items():
        extra = f"  {rate[k] / 2**20:8.1f} MiB/s" if k in rate else ""
        print(f"{k:<40} {t:7.3f} s{extra}")
    for k, r in ratio.items():
        print(f"ratio {k} / sha256sum: {r:.2f}")
    path = save(
        f"verify-{args.packages}",
        {
            "files": len(files),
            "bytes": total,
            "median_seconds": med,
            "bytes_per_second": rate,
            "ratio_to_sha256sum": ratio,
            "checked": checked,
            "runs": times,
            # The machine is shared: its load average before and after, to judge the figures.
            "load_average": {"before": load_before, "after": os.getloadavg()},
        },
    )
    print(f"saved {path}", file=sys.stderr)
    listing.unlink()
    shutil.rmtree(state, ignore_errors=True)
    if args.many_files:
        many_files(args.rounds)


def many_files(rounds: int) -> None:
    """Where files, not bytes, cost: the scan benchmark's cache of 309,007 small files (3,000
    packages). The first run against sha256sum over the same files, then the second run: a stat
    of every file and the remembered verdicts."""
    from common import build_cache, count_files

    cache = build_cache(3000, 100)
    files = hashed_files(cache)
    listing, state, env, uvci = setup(cache, files)

    def sha256sum() -> float:
        return over(listing, ["sha256sum"])

    sha256sum()  # both read from the page cache
    load_before = os.getloadavg()
    firsts: list[float] = []
    peers: list[float] = []
    first_data: dict[str, object] = {}
    for i in range(rounds):
        if i % 2 == 0:
            peers.append(sha256sum())
        elapsed, out = run([*uvci, "--no-state"], env)
        firsts.append(elapsed)
        first_data = json.loads(out)
        if i % 2 == 1:
            peers.append(sha256sum())
    first = median(firsts)
    listing.unlink()
    run(uvci, env)  # remembers (the first run may have been too close to the cache's writing)
    seconds: list[float] = []
    data: dict[str, object] = {}
    for _ in range(rounds):
        elapsed, out = run(uvci, env)
        seconds.append(elapsed)
        data = json.loads(out)
    assert data["files"]["hashed"] == 0, data["files"]  # type: ignore[index]
    n = count_files(cache)
    print(
        f"{n:,} files in the cache ({len(files):,} hashed): sha256sum {median(peers):.2f} s, "
        f"first run {first:.2f} s (ratio of bytes/s {median(peers) / first:.2f}); "
        f"second run {median(seconds):.2f} s (nothing hashed)"
    )
    path = save(
        "verify-3000x100",
        {
            "cache_files": n,
            "hashed_files": len(files),
            "sha256sum_seconds": peers,
            "first_run_seconds": firsts,
            "ratio_to_sha256sum": median(peers) / first,
            "first_run_bytes_hashed": first_data["bytes_hashed"],
            "second_run_seconds": seconds,
            "second_run_median": median(seconds),
            "second_run_files": data["files"],
            "load_average": {"before": load_before, "after": os.getloadavg()},
        },
    )
    print(f"saved {path}", file=sys.stderr)
    shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
