"""Scan speed against `uv cache size`, `du -s` and the Python peer `uv-cache-warden report`, on
the same real cache, in the same run.

    uv run python tests/benchmarks/bench_scan.py [--packages 3000] [--files 100] [--rounds 7]
                                                 [--no-peer]

Times `uvci scan --json` (the whole command, interpreter start included: a per-package report
with sizes, owners and references), `uv cache size`, `du -s` and `uv-cache-warden report --json
--all` (its per-package report; installed from PyPI into tests/benchmarks/.work/peers)
alternately on a warm cache, prints the medians and the ratios, peak memory of the uvci process
tree (main process plus scan workers), and checks that the totals agree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from common import (
    VENV_BIN,
    alternate,
    build_cache,
    count_files,
    median,
    peer,
    save,
    timed,
    uv_binary,
)

WARDEN = "uv-cache-warden report"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=3000)
    ap.add_argument("--files", type=int, default=100, help="files per package")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-peer", action="store_true", help="skip uv-cache-warden")
    ap.add_argument("--peer-rounds", type=int, default=3)
    args = ap.parse_args()

    cache = build_cache(args.packages, args.files)
    nfiles = count_files(cache)
    uv = uv_binary()
    uvci = [str(VENV_BIN / "uvci"), "scan", "--json", "--cache-dir", str(cache)]
    uv_size = [uv, "cache", "size", "--cache-dir", str(cache), "--preview-features", "cache-size"]
    du = [shutil.which("du") or "du", "-s", "--block-size=1", str(cache)]

    peaks: list[tuple[int, int]] = []
    totals: dict[str, int] = {}

    def run_uvci() -> float:
        t, _, out = timed(uvci)
        totals["uvci"] = json.loads(out)["total_bytes"]
        return t

    def run_uv() -> float:
        t, _, out = timed(uv_size)
        totals["uv"] = int(out.strip().splitlines()[-1])
        return t

    def run_du() -> float:
        t, _, out = timed(du)
        totals["du"] = int(out.split()[0])
        return t

    times = alternate(
        {"uvci scan --json": run_uvci, "uv cache size": run_uv, "du -s": run_du}, args.rounds
    )
    if not args.no_peer:
        warden = peer("uv-cache-warden", "1.1.0", "uv-cache-warden")
        warden_cmd = [warden, "report", "--json", "--all", "--cache-dir", str(cache), "--uv", uv]

        def run_warden() -> float:
            t, _, out = timed(warden_cmd)
            totals["uv-cache-warden"] = json.loads(out)["total"]["disk_bytes"]
            return t

        # Fewer rounds (it is slow), alternating with uvci again so both see the same cache state.
        more = alternate({"uvci scan --json": run_uvci, WARDEN: run_warden}, args.peer_rounds)
        times[WARDEN] = more[WARDEN]
    # Memory is sampled in separate runs: the sampler polls the process tree every few
    # milliseconds and would steal CPU from the timed runs on a small machine.
    for _ in range(3):
        _, mem, _ = timed(uvci, measure_memory=True)
        assert mem is not None
        peaks.append((mem.peak_total, mem.peak_main))
    med = {k: median(v) for k, v in times.items()}
    ratio_uv = med["uvci scan --json"] / med["uv cache size"]
    ratio_du = med["uvci scan --json"] / med["du -s"]
    ratio_peer = med[WARDEN] / med["uvci scan --json"] if WARDEN in med else None
    peak_total = max(p[0] for p in peaks)
    peak_main = max(p[1] for p in peaks)
    print(f"cache: {cache} ({nfiles:,} files)")
    for k, v in med.items():
        print(f"  {k:18} median {v:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in times[k])})")
    print(f"  ratio uvci / uv cache size: {ratio_uv:.2f}")
    print(f"  ratio uvci / du -s:         {ratio_du:.2f}")
    if ratio_peer is not None:
        print(f"  uv-cache-warden report takes {ratio_peer:.1f}x as long as uvci scan")
    print(
        f"  peak memory uvci: {peak_total / 2**20:.0f} MiB for the process tree, "
        f"{peak_main / 2**20:.0f} MiB main process"
    )
    print(f"  totals: {totals}")
    if totals["uvci"] != totals["uv"]:
        print("  TOTALS DIFFER", file=sys.stderr)
    path = save(
        f"scan-{args.packages}x{args.files}",
        {
            "cache_files": nfiles,
            "rounds": args.rounds,
            "median_seconds": med,
            "runs": times,
            "ratio_vs_uv_cache_size": ratio_uv,
            "ratio_vs_du": ratio_du,
            "peer_uv_cache_warden_over_uvci": ratio_peer,
            "peak_rss_tree_bytes": peak_total,
            "peak_rss_main_bytes": peak_main,
            "totals": totals,
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
