"""The inspector itself on Windows: its CLI under the official embeddable CPython 3.13 in Wine,
on caches uv.exe wrote. This is where `core/platform/windows.py` (volume facts through ctypes),
the Windows lock (`LockFileEx`), Windows paths, link files written by the test-write and the
Windows branches of the scan run for real; see the README's Platforms section for what Wine
cannot stand in for."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.cli.helpers import uvci_json
from tests.harness import wine
from tests.harness.uvcache import tree_state

pytestmark = pytest.mark.slow


def _json(proc) -> dict:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _unix(path: str) -> str:
    return wine.unixpath(path)


def test_scan_under_windows_python_agrees_with_linux_and_uv_exe(
    windows_world, windows_cache, copy_of
):
    wc = windows_cache(wine.NEWEST)
    cache = copy_of(wc)
    proc = windows_world.uvci("scan", "--json", "--cache-dir", wine.winpath(cache))
    assert proc.returncode == 0, proc.stderr
    win = _json(proc)
    assert win["layout"]["layout"] == "windows"
    assert win["layout"]["source"] == "detected"
    _, linux = uvci_json("scan", "--cache-dir", str(cache))
    assert {a["id"]: (a["package"], a["version"], a["referenced"]) for a in win["archives"]} == {
        a["id"]: (a["package"], a["version"], a["referenced"]) for a in linux["archives"]
    }
    assert sorted(_unix(e["path"]) for e in win["entries"]) == sorted(
        e["path"] for e in linux["entries"]
    )
    # uv.exe counts file lengths, every hard link again; so does a scan on Windows, where a
    # directory entry's stat has no inode number to tell links apart.
    size = windows_world.uv(
        wine.NEWEST,
        ["cache", "size", "--cache-dir", wine.winpath(cache), "--preview-features", "cache-size"],
    )
    assert win["total_bytes"] == int(size.stdout.split()[-1])


def test_doctor_repair_and_report_under_windows_python(windows_world, windows_cache, copy_of):
    wc = windows_cache(wine.NEWEST)
    cache = copy_of(wc)
    where = wine.winpath(cache)
    proc = windows_world.uvci("doctor", "--json", "--cache-dir", where)
    doctor = _json(proc)
    errors = [f for f in doctor["findings"] if f["severity"] == "error"]
    assert errors == [], errors  # on Windows, st_dev 0 once made every bucket "cross-device"
    assert proc.returncode == 0
    _, linux = uvci_json("doctor", "--cache-dir", str(cache))
    count = {f["code"]: f.get("count") for f in linux["findings"]}
    assert {f["code"]: f.get("count") for f in doctor["findings"] if f["code"] in count} == {
        c: n for c, n in count.items() if c == "unreferenced-archive"
    }
    proc = windows_world.uvci("repair", "--dry-run", "--json", "--cache-dir", where)
    assert proc.returncode == 0, proc.stderr
    assert _json(proc)["actions"] == []
    proc = windows_world.uvci("report", "--cache-dir", where)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "win32" in proc.stdout
    # The filesystem table comes from platform/windows.py's ctypes calls (GetDriveTypeW says
    # fixed; Wine's volume flags lack hard links, see the README).
    assert "drive=fixed" in proc.stdout


def test_prune_under_windows_python_leaves_what_uv_exe_leaves(
    windows_world, windows_cache, copy_of
):
    wc = windows_cache(wine.NEWEST)
    mine, other = copy_of(wc, "ours"), copy_of(wc, "theirs")
    proc = windows_world.uvci("prune", "--dry-run", "--json", "--cache-dir", wine.winpath(mine))
    assert proc.returncode == 0, proc.stderr
    planned = sorted(_unix(a["path"]) for a in _json(proc)["actions"])
    _, linux = uvci_json("prune", "--dry-run", "--cache-dir", str(mine))
    assert planned == sorted(a["path"] for a in linux["actions"])
    proc = windows_world.uvci("prune", "--yes", "--json", "--cache-dir", wine.winpath(mine))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(a["done"] for a in _json(proc)["actions"])
    wine.uv_exe_prune(windows_world, other)
    a, b = tree_state(mine), tree_state(other)
    assert sorted(set(a) ^ set(b)) == []
    assert a == b


def test_test_write_under_windows_python(windows_world, windows_cache, copy_of):
    wc = windows_cache(wine.NEWEST)
    cache = copy_of(wc)
    before = tree_state(cache)
    proc = windows_world.uvci("test-write", "--json", "--cache-dir", wine.winpath(cache))
    data = _json(proc)
    assert proc.returncode == 0 and data["ok"], data
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["lock"]["ok"] and "shared lock" in (steps["lock"].get("note") or "")
    assert steps["rename"]["ok"]
    # On Windows the routine writes uv's Windows link, a link file, not a symlink.
    assert steps["link"]["ok"] and steps["link"]["note"].startswith("link file containing")
    assert tree_state(cache) == before  # it cleans up after itself


def test_prune_waits_for_uv_exe_holding_the_lock(windows_world, windows_cache, copy_of, index):
    """uv.exe takes its lock with LockFileEx; the inspector's Windows lock must see it."""
    wc = windows_cache(wine.NEWEST)
    cache = copy_of(wc)
    flag = cache.parent / "running"
    scratch = cache.parent / "scratch"
    scratch.mkdir()
    code = f"open(r'{wine.winpath(flag)}', 'w').close(); import time; time.sleep(120)"
    holder = windows_world.wine.popen(
        [
            str(windows_world.uv_exe[wine.NEWEST]),
            "run",
            "--no-project",
            "--cache-dir",
            wine.winpath(cache),
            "--python",
            wine.winpath(windows_world.python),
            "--index-url",
            index.url,
            "--",
            "python",
            "-c",
            code,
        ],
        cwd=scratch,
    )
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():  # uv runs its child only once it holds the shared lock
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline, "uv.exe never started its child"
            time.sleep(0.1)
        before = tree_state(cache)
        proc = windows_world.uvci("prune", "--yes", "--json", "--cache-dir", wine.winpath(cache))
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert tree_state(cache) == before
        assert os.path.exists(cache / "archive-v0")
    finally:
        windows_world.wine.kill_group(holder)


_HOLD_AND_RENAME = """
import ctypes, os, sys
from ctypes import wintypes
k32 = ctypes.WinDLL("kernel32", use_last_error=True)
k32.CreateFileW.restype = wintypes.HANDLE
k32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID,
                            wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
tmp, archive, inner = sys.argv[1:4]
# As an antivirus scanner or an indexer opens a file: read access, shared for reading and
# writing, NOT for deletion (FILE_SHARE_DELETE = 4).
h = k32.CreateFileW(inner, 0x80000000, 1 | 2, None, 3, 0x80, None)
assert h not in (None, wintypes.HANDLE(-1).value), ctypes.get_last_error()
for what, call in (("rename-file", lambda: os.rename(inner, inner + ".x")),
                   ("rename-dir", lambda: os.rename(tmp, archive))):
    try:
        call()
        print(what, "ok")
    except OSError as e:
        print(what, "winerror", e.winerror)
k32.CloseHandle(h)
"""


def test_wine_does_not_reproduce_the_11018_rename_failure(windows_world, world_tmp):
    """uv #11018 on Windows: a file inside uv's `.tmpXXXX` held open without FILE_SHARE_DELETE
    makes uv's rename of the directory into archive-v0 fail with "Access is denied. (os error
    5)" (as in https://github.com/astral-sh/uv/issues/1491 and /17679). Wine enforces sharing
    on the file itself (os error 32) but renames the directory around it: the failure cannot be
    shown under Wine, so the test-write does not try to (README, Platforms). If a Wine ever
    refuses the directory rename, this test fails and the demonstration can be built."""
    tmp = world_tmp / ".tmpHeld01"
    (tmp / "pkg").mkdir(parents=True)
    inner = tmp / "pkg" / "mod.py"
    inner.write_text("x = 1\n")
    (world_tmp / "archive-v0").mkdir()
    script = world_tmp / "hold.py"
    script.write_text(_HOLD_AND_RENAME)
    proc = windows_world.wine.python(
        windows_world.python,
        [
            wine.winpath(script),
            wine.winpath(tmp),
            wine.winpath(world_tmp / "archive-v0" / "Xy12"),
            wine.winpath(inner),
        ],
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["rename-file winerror 32", "rename-dir ok"]
    assert (world_tmp / "archive-v0" / "Xy12" / "pkg" / "mod.py").exists()
