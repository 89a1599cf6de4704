"""The app started the README's way, `uv run uv-cache-inspector`, on the cache that this very
`uv run` uses (and holds uv's shared lock on for the app's whole life): Prune and Repair apply
(issue 13). Before, every Apply said "uv is using this cache right now" and Try again could
never succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import APP
from tests.harness.uvcache import clean_env

DRIVER = Path(__file__).with_name("launched_driver.py")


def test_apply_works_when_our_launcher_holds_the_lock(real_cache, uv_bin, world_tmp):
    orphan = real_cache / ".tmpCrashedRun"
    (orphan / "half").mkdir(parents=True)
    old = time.time() - 86400
    os.utime(orphan / "half", (old, old))
    os.utime(orphan, (old, old))
    env = clean_env(
        {"UV_CACHE_DIR": str(real_cache), "PYTHONPATH": APP, "QT_QPA_PLATFORM": "offscreen"}
    )
    proc = subprocess.run(
        [
            *[uv_bin, "run", "--no-project", "--python", sys.executable, "--", sys.executable],
            *[str(DRIVER), str(real_cache), str(world_tmp / "settings.ini")],
        ],
        env=env,
        cwd=world_tmp,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    prune = out["prune"]
    assert "held only by the uv that started this program" in prune["notes"], prune
    assert prune["status"].startswith("Done:") and not prune["failed"], prune
    assert str(orphan) in prune["done"]
    assert not orphan.exists()
