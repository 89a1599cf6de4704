"""Scan speed against `uv cache size`, `du -s` and the Python peer `uv-cache-warden report`, on
the same real cache, in the same run.

    uv run python tests/benchmarks/bench_scan.py [--packages 3000] [--files 100] [--rounds 9]
                                                 [--no-peer] [--walker compiled|python]

Times `uvci scan --json` (the whole command, interpreter start included: a per-package report
with sizes, owners and references), `uv cache size`, `du -s` and `uv-cache-warden report --json
--all` (its per-package report; installed from PyPI into tests/benchmarks/.work/peers) in turn,
round after round, on a warm cache. Each run's wall time, user and system CPU and peak memory
come from the kernel's accounting of that process (wait4). Prints medians with min and max, and
the ratio uvci / uv round by round (the two ran next to each other) as median, min and max; checks
that the totals agree. `--walker python` times the fallback walker (UVCI_WALKER=python).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from common import (
    VENV_BIN,
    Run,
    build_cache,
    compile_bytecode,
    count_files,
    pair_ratios,
    peer,
    run,
    save,
    spread,
    uv_binary,
    walker_line,
)

UVCI = "uvci scan --json"
UV = "uv cache size"
DU = "du -s"
WARDEN = "uv-cache-warden report"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=3000)
    ap.add_argument("--files", type=int, default=100, help="files per package")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--no-peer", action="store_true", help="skip uv-cache-warden")
    ap.add_argument("--peer-rounds", type=int, default=3)
    ap.add_argument("--walker", choices=["compiled", "python"], default="compiled")
    args = ap.parse_args()

    cache = build_cache(args.packages, args.files)
    nfiles = count_files(cache)
    compile_bytecode()
    env = {**os.environ, "UVCI_WALKER": args.walker}
    uv = uv_binary()
    commands = {
        UVCI: [str(VENV_BIN / "uvci"), "scan", "--json", "--cache-dir", str(cache)],
        UV: [uv, "cache", "size", "--cache-dir", str(cache), "--preview-features", "cache-size"],
        DU: [shutil.which("du") or "du", "-s", "--block-size=1", str(cache)],
    }
    totals = {
        UVCI: lambda out: json.loads(out)["total_bytes"],
        UV: lambda out: int(out.strip().splitlines()[-1]),
        DU: lambda out: int(out.split()[0]),
        WARDEN: lambda out: json.loads(out)["total"]["disk_bytes"],
    }
    if not args.no_peer:
        warden = peer("uv-cache-warden", "1.1.0", "uv-cache-warden")
        commands[WARDEN] = [warden, "report", "--json", "--all", "--cache-dir", str(cache)]
        commands[WARDEN] += ["--uv", uv]
    seen: dict[str, int] = {}
    runs: dict[str, list[Run]] = {k: [] for k in commands}
    for name, cmd in commands.items():  # warm-up: the page cache, the peers' venvs
        seen[name] = totals[name](run(cmd, env).out)
    for r in range(args.rounds):
        order = [UVCI, UV, DU] if r % 2 == 0 else [DU, UV, UVCI]
        if WARDEN in commands and r < args.peer_rounds:
            order.append(WARDEN)
        for name in order:
            one = run(commands[name], env)
            seen[name] = totals[name](one.out)
            runs[name].append(one)
    walker = walker_line() if args.walker == "compiled" else f"UVCI_WALKER={args.walker}"
    print(f"cache: {cache} ({nfiles:,} files); {walker}")
    report: dict[str, object] = {}
    for name, rs in runs.items():
        if not rs:
            continue
        wall, cpu = spread([x.wall for x in rs]), spread([x.cpu for x in rs])
        peak = max(x.peak_rss for x in rs)
        print(
            f"  {name:22} wall {wall['median']:.3f} s ({wall['min']:.3f}-{wall['max']:.3f}); "
            f"cpu {cpu['median']:.3f} s; user {spread([x.user for x in rs])['median']:.3f}, "
            f"sys {spread([x.sys for x in rs])['median']:.3f}; peak {peak / 2**20:.0f} MiB"
        )
        report[name] = {
            "wall": wall,
            "user": spread([x.user for x in rs]),
            "sys": spread([x.sys for x in rs]),
            "peak_rss_bytes": peak,
            "runs_wall": [x.wall for x in rs],
        }
    ratio_uv = spread(pair_ratios(runs[UVCI], runs[UV]))
    ratio_cpu = spread(pair_ratios(runs[UVCI], runs[UV], "cpu"))
    ratio_du = spread(pair_ratios(runs[UVCI], runs[DU]))
    print(
        f"  uvci / uv cache size, round by round: wall {ratio_uv['median']:.2f} "
        f"({ratio_uv['min']:.2f}-{ratio_uv['max']:.2f}), cpu {ratio_cpu['median']:.2f}"
    )
    print(f"  uvci / du -s: wall {ratio_du['median']:.2f}")
    if runs.get(WARDEN):
        n = len(runs[WARDEN])
        peer_ratio = spread(pair_ratios(runs[WARDEN], runs[UVCI][:n]))
        print(f"  uv-cache-warden report takes {peer_ratio['median']:.1f}x as long as uvci scan")
        report["peer_over_uvci"] = peer_ratio
    print(f"  totals: {seen}")
    if seen[UVCI] != seen[UV]:
        print("  TOTALS DIFFER", file=sys.stderr)
    path = save(
        f"scan-{args.packages}x{args.files}" + ("" if args.walker == "compiled" else "-python"),
        {
            "cache_files": nfiles,
            "rounds": args.rounds,
            "walker": walker,
            "commands": {k: " ".join(v) for k, v in commands.items()},
            "figures": report,
            "ratio_wall_vs_uv_cache_size": ratio_uv,
            "ratio_cpu_vs_uv_cache_size": ratio_cpu,
            "ratio_wall_vs_du": ratio_du,
            "totals": seen,
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
