"""`uvci watch --json` beside a real `uv pip install`: ready first, then what uv did."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from tests.cli.helpers import APP
from tests.harness.dists import write_wheel
from uv_cache_inspector.core.watch import WatchEvent, coalesce


def _start_watch(cache, *extra):
    env = dict(os.environ, PYTHONPATH=APP)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uv_cache_inspector", "watch", "--cache-dir", str(cache), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _next(lines, timeout=20.0):
    return lines.get(timeout=timeout)


def test_watch_json_streams_a_real_install(real_cache, uvr, dists_dir, world_tmp):
    write_wheel(dists_dir, "watched-cli", "2.5", n_modules=3)
    venv = uvr.venv(world_tmp / "venv", real_cache)
    proc, lines = _start_watch(real_cache, "--json")
    try:
        first = json.loads(_next(lines))
        assert first["event"] == "ready"
        assert first["watches"] > 1
        uvr.pip_install(real_cache, venv, ["watched-cli"])
        events = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                events.append(json.loads(_next(lines, timeout=1)))
            except queue.Empty:
                if any(e["event"] == "lock-released" for e in events):
                    break
        names = [e["event"] for e in events]
        added = [e for e in events if e["event"] == "archive-added"]
        assert [(e["package"], e["version"]) for e in added] == [("watched-cli", "2.5")], names
        assert added[0]["path"].startswith(str(real_cache / "archive-v0"))
        assert "entry-added" in names
        assert "lock-taken" in names and "lock-released" in names
        assert names.index("lock-taken") < names.index("lock-released")
        assert all({"event", "path", "t"} <= e.keys() for e in events)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_watch_human_output_and_missing_cache(real_cache, world_tmp):
    proc, lines = _start_watch(real_cache)
    try:
        assert " ready " in _next(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0

    # SIGTERM (a service manager, `kill`) ends it as cleanly as Ctrl+C.
    proc, lines = _start_watch(real_cache)
    try:
        assert " ready " in _next(lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0

    gone, _ = _start_watch(world_tmp / "nowhere")
    assert gone.wait(timeout=30) == 2
    assert gone.stderr is not None
    err = gone.stderr.read()
    assert "uv has not created a cache at" in err and "Traceback" not in err


def test_coalesce_drops_what_cancels_out():
    a = WatchEvent("tmp-created", "/c/.tmpA")
    b = WatchEvent("tmp-removed", "/c/.tmpA")
    c = WatchEvent("archive-added", "/c/archive-v0/x", detail={"id": "x"})
    d = WatchEvent("lock-taken", "/c/.lock")
    assert coalesce([a, d, c, b]) == [d, c]
    # A repeated add is reported once; an add then remove then add is an add.
    assert coalesce([c, c]) == [c]
    c2 = WatchEvent("archive-removed", "/c/archive-v0/x")
    assert coalesce([c, c2, c]) == [c]
    assert coalesce([c2]) == [c2]
