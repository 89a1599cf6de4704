"""uv's cache lock: we see real uv's locks, and real uv respects ours."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.harness.uvproc import uv_holding_lock
from uv_cache_inspector.core.cache import lock
from uv_cache_inspector.core.errors import CacheInUseError


def test_free_lock(real_cache):
    state = lock.probe(str(real_cache))
    assert state.exists and state.held is False and state.supported and state.openable_rw
    assert state.describe() == "free"


def test_real_uv_run_holds_the_shared_lock(real_cache, uv_bin, test_python):
    with uv_holding_lock(uv_bin, real_cache, test_python) as proc:
        state = lock.probe(str(real_cache))
        assert state.held and state.exclusive is False
        assert [h.pid for h in state.holders] == [proc.pid]
        assert state.holders[0].label().startswith("uv run")
        assert "in use by uv run" in state.describe()
        with pytest.raises(CacheInUseError) as err, lock.exclusive(str(real_cache)):
            pass
        assert "uv run" in str(err.value)
    assert lock.probe(str(real_cache)).held is False


def test_real_uv_waits_for_our_exclusive_lock(real_cache, uvr, world_tmp):
    """While we hold the lock exclusively, uv cannot start (it waits, then times out)."""
    uvr.venv(world_tmp / "venv", real_cache)
    with lock.exclusive(str(real_cache)):
        proc = uvr.pip_install(
            real_cache, world_tmp / "venv", ["alpha"], check=False, env={"UV_LOCK_TIMEOUT": "2"}
        )
    assert proc.returncode != 0
    assert "Timeout" in proc.stderr and ".lock" in proc.stderr
    assert uvr.pip_install(real_cache, world_tmp / "venv", ["alpha"]).returncode == 0


def test_exclusive_holder_is_reported_as_such(real_cache):
    """A process holding the lock exclusively (what uv cache clean/prune do)."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.join(os.path.dirname(lock.__file__), "..", "..", "..")!r})
        from uv_cache_inspector.core.cache import lock
        with lock.exclusive({str(real_cache)!r}):
            print("held", flush=True)
            time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        state = lock.probe(str(real_cache))
        assert state.held and state.exclusive
        assert state.holders and state.holders[0].mode == "exclusive"
    finally:
        proc.kill()
        proc.wait()


def test_a_missing_lock_file_is_never_created(real_cache):
    (real_cache / ".lock").unlink()
    assert lock.probe(str(real_cache)).exists is False
    with lock.exclusive(str(real_cache)) as state:
        assert not state.exists
    assert not (real_cache / ".lock").exists()


def test_probe_never_replaces_the_lock_inode(real_cache):
    before = os.stat(real_cache / ".lock")
    lock.probe(str(real_cache))
    with lock.exclusive(str(real_cache)):
        pass
    after = os.stat(real_cache / ".lock")
    assert (before.st_ino, before.st_mode, before.st_size) == (
        after.st_ino,
        after.st_mode,
        after.st_size,
    )


def test_parse_proc_locks():
    text = (
        "1: FLOCK  ADVISORY  READ 888 fe:00:2156890 0 EOF\n"
        "1: -> FLOCK  ADVISORY  WRITE 999 fe:00:2156890 0 EOF\n"
        "2: POSIX  ADVISORY  WRITE 5 00:2e:33 0 EOF\n"
    )
    assert lock.parse_proc_locks(text) == [
        (888, "FLOCK", "READ", "fe:00", 2156890),
        (999, "FLOCK", "WAIT-WRITE", "fe:00", 2156890),
        (5, "POSIX", "WRITE", "00:2e", 33),
    ]
