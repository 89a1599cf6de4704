"""Prune and repair while uv runs (issue 13).

Long-running `uvx` and `uv run --with` processes hold uv's shared cache lock for their whole
life. With --while-in-use the inspector frees what no running uv uses, while real uv keeps
installing in a loop: every uv command succeeds, every running program still imports lazily
from its environment afterwards, and the old archives, stale buckets and orphaned temporary
folders are gone. Our own launcher (`uv run uvci ...` on the cache it uses) never blocks us.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cli.helpers import APP, uvci
from tests.harness import fixtures
from tests.harness.uvcache import clean_env, copy_cache, make_cache

SERVER = """
import os, sys, time
open(sys.argv[1], "w").close()              # ready: the environment exists
while not os.path.exists(sys.argv[2]):      # wait for the test's go (after the prunes)
    time.sleep(0.02)
import alpha.m2                             # lazily, from the environment
print("imported", alpha.m2.__file__)
"""


def _age(path: Path, days: float = 3) -> None:
    old = time.time() - days * 86400
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (old, old), follow_symlinks=False)
    os.utime(path, (old, old), follow_symlinks=False)


@pytest.fixture
def shared_cache(uvr, world_tmp):
    """A cache two uv releases wrote (stale buckets), old enough to free, with an orphan."""
    cache = copy_cache(fixtures.extract("uv-0.12.24"), world_tmp / "cache")
    make_cache(uvr, cache, ["alpha==2.0", "beta", "epsilon"], venv=world_tmp / "venv")
    _age(cache)
    orphan = cache / ".tmpCrashed"
    (orphan / "partial").mkdir(parents=True)
    _age(orphan)
    return cache


def _start(cmd: list[str], cwd: Path, ready: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        cmd, env=clean_env(), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while not ready.exists():  # the event: the program runs in its environment
        if proc.poll() is not None:
            raise AssertionError(proc.communicate())
        time.sleep(0.02)
    return proc


def test_prune_while_servers_run_and_uv_installs(shared_cache, uvr, world_tmp, test_python):
    cache = shared_cache
    go = world_tmp / "go"
    common = ["--cache-dir", str(cache), "--index-url", uvr.index_url, "--python", test_python]
    servers = [
        _start(
            [
                *[uvr.uv, "tool", "run", *common, "--from", "beta==1.0", "python", "-c"],
                *[SERVER, str(world_tmp / "ready-uvx"), str(go)],
            ],
            world_tmp,
            world_tmp / "ready-uvx",
        ),
        _start(
            [
                *[uvr.uv, "run", "--no-project", *common, "--with", "alpha==2.0", "--"],
                *["python", "-c", SERVER, str(world_tmp / "ready-run"), str(go)],
            ],
            world_tmp,
            world_tmp / "ready-run",
        ),
    ]
    stale = [p.name for p in cache.iterdir() if p.name in {"wheels-v6", "sdists-v9"}]
    assert stale

    # Real uv installs in a loop in another venv while we prune.
    venv = uvr.venv(world_tmp / "busy-venv", cache)
    failures: list[str] = []
    stop = threading.Event()
    installs = 0

    def install_loop() -> None:
        nonlocal installs
        while not stop.is_set() and installs < 200:
            proc = uvr.pip_install(
                cache, venv, ["beta==1.0", "alpha==2.0"], "--reinstall", check=False
            )
            installs += 1
            if proc.returncode != 0:
                failures.append(proc.stderr)

    loop = threading.Thread(target=install_loop)
    loop.start()
    try:
        blocked = uvci("prune", "--yes", "--cache-dir", str(cache))
        assert blocked.returncode == 3 and "--while-in-use" in blocked.stderr
        dry = uvci("prune", "--while-in-use", "--json", "--cache-dir", str(cache))
        assert dry.returncode == 0, dry.stderr
        kept = "\n".join(json.loads(dry.stdout)["kept"])
        assert "in use by" in kept or "the environment of" in kept, kept
        for _ in range(3):
            proc = uvci("prune", "--yes", "--while-in-use", "--json", "--cache-dir", str(cache))
            assert proc.returncode in (0, 1), proc.stdout + proc.stderr
            data = json.loads(proc.stdout)
            assert data["while_in_use"]
    finally:
        stop.set()
        loop.join(timeout=600)
    assert installs > 0 and failures == []

    go.touch()
    for s in servers:
        out, err = s.communicate(timeout=120)
        assert s.returncode == 0, err
        assert "imported" in out
    assert not (cache / ".tmpCrashed").exists()
    assert not any((cache / name).exists() for name in stale)
    # And uv still installs everything from what is left, offline.
    again = uvr.venv(world_tmp / "after", cache)
    got = uvr.pip_install(cache, again, ["beta==1.0", "alpha==2.0", "epsilon"], "--offline")
    assert got.returncode == 0


def test_our_own_uv_run_launcher_does_not_block_us(shared_cache, uv_bin, world_tmp):
    """`uv run uvci prune --yes` on the very cache that `uv run` uses and holds."""
    cache = shared_cache
    env = clean_env({"UV_CACHE_DIR": str(cache), "PYTHONPATH": APP})

    def launched(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *[uv_bin, "run", "--no-project", "--python", sys.executable, "--"],
                *[sys.executable, "-m", "uv_cache_inspector", *args],
            ],
            env=env,
            cwd=world_tmp,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    proc = launched("prune", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "held only by the uv that started this program" in proc.stdout
    assert not (cache / ".tmpCrashed").exists()
    assert not (cache / "wheels-v6").exists()
    repair = launched("repair", "--yes")
    assert repair.returncode == 0, repair.stdout + repair.stderr
