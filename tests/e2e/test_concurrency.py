"""Real uv installing in a loop while the inspector scans, diagnoses, watches and tries to prune.

What must hold: every read answers (no traceback, no crash on files that vanish under it);
prune never acts while uv holds the cache lock (exit 3, nothing deleted); every uv command
succeeds; and afterwards uv installs everything offline from the cache: nothing it needs went
missing.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

from tests.cli.helpers import uvci
from tests.harness.dists import write_wheel
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan
from uv_cache_inspector.core.diagnosis.engine import diagnose
from uv_cache_inspector.core.watch import CacheWatcher

NEWEST = buckets_for((0, 13, 9))
ROUNDS = 12


def _diagnose(root: str):
    gen = diagnose(root, bucket_set=NEWEST, binaries=[])
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def test_reading_watching_and_pruning_while_uv_installs(real_cache, uvr, dists_dir, world_tmp):
    names = [f"busy-{i:02d}" for i in range(ROUNDS)]
    for name in names:
        write_wheel(dists_dir, name, "1.0", n_modules=30)
        write_wheel(dists_dir, name, "1.1", n_modules=30)
    venv = uvr.venv(world_tmp / "venv", real_cache)
    uv_results: list[subprocess.CompletedProcess[str]] = []
    done = threading.Event()
    met = threading.Event()  # a prune has run into uv holding the lock

    def uv_loop() -> None:
        try:
            for i, name in enumerate(names):
                uv_results.append(uvr.pip_install(real_cache, venv, [f"{name}==1.0"], check=False))
                uv_results.append(
                    uvr.pip_install(
                        real_cache,
                        venv,
                        [f"{name}==1.1", f"{names[i - 1]}==1.0"],
                        "--reinstall",
                        "--refresh",
                        check=False,
                    )
                )
            # On a machine where the prunes happened to fall between uv's runs, uv goes on
            # (a bounded number of reinstalls) until one prune has met it at work.
            for extra in range(3 * ROUNDS):
                if met.is_set():
                    break
                uv_results.append(
                    uvr.pip_install(
                        real_cache,
                        venv,
                        [f"{names[extra % ROUNDS]}==1.1"],
                        "--reinstall",
                        check=False,
                    )
                )
        finally:
            done.set()

    events: list = []
    watcher = CacheWatcher(str(real_cache), events.extend, debounce=0.05)
    watcher.start()
    worker = threading.Thread(target=uv_loop)
    worker.start()
    scans = diagnoses = 0
    prunes: list[int] = []
    errors: list[str] = []
    try:
        while not done.is_set():
            try:
                snap = run_scan(str(real_cache), bucket_set=NEWEST)
                assert snap.total_bytes > 0
                scans += 1
                diag = _diagnose(str(real_cache))
                assert diag.snapshot is not None
                diagnoses += 1
            except Exception as exc:
                errors.append(repr(exc))
            proc = uvci("prune", "--yes", "--json", "--cache-dir", str(real_cache))
            assert "Traceback" not in proc.stderr, proc.stderr
            prunes.append(proc.returncode)
            if proc.returncode == 3:
                met.set()
                data = json.loads(proc.stdout) if proc.stdout.strip() else {}
                assert not any(a.get("done") for a in data.get("actions", [])), data
    finally:
        worker.join()
        time.sleep(0.6)  # the watch's last batch
        watcher.stop()

    assert not errors, errors
    failed = [r for r in uv_results if r.returncode != 0]
    assert not failed, failed[0].stderr if failed else ""
    assert scans >= 3 and diagnoses >= 3
    assert set(prunes) <= {0, 3}, prunes
    assert 3 in prunes, f"prune never met uv holding the lock: {prunes}"
    seen = {e.detail.get("package") for e in events if e.event == "archive-added"}
    assert set(names) <= seen, sorted(set(names) - seen)
    kinds = {e.event for e in events}
    assert {"lock-taken", "lock-released", "entry-added"} <= kinds, kinds

    # Nothing uv needs went missing: a fresh venv installs everything offline from the cache.
    fresh = uvr.venv(world_tmp / "fresh", real_cache)
    offline = uvr.pip_install(
        real_cache, fresh, [f"{n}==1.1" for n in names], "--offline", check=False
    )
    assert offline.returncode == 0, offline.stderr
    final = uvci("prune", "--yes", "--json", "--cache-dir", str(real_cache))
    assert final.returncode == 0, final.stderr
    again = uvr.pip_install(
        real_cache,
        uvr.venv(world_tmp / "after-prune", real_cache),
        [f"{n}==1.1" for n in names],
        "--offline",
        check=False,
    )
    assert again.returncode == 0, again.stderr
