"""Hostile tests: links out of the cache, paths that are not caches, uv running, and SIGKILL at
random moments. Outside the cache nothing changes; inside it uv keeps working."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import APP, uvci
from tests.harness.dists import write_wheel
from tests.harness.uvcache import copy_cache, make_cache, tree_state
from tests.harness.uvproc import uv_holding_lock


def _fingerprint(root: Path) -> dict[str, object]:
    state: dict[str, object] = dict(tree_state(root))
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                state["sha:" + os.path.relpath(p, root)] = hashlib.sha256(
                    Path(p).read_bytes()
                ).hexdigest()
    return state


@pytest.fixture
def outside(world_tmp) -> Path:
    out = world_tmp / "outside"
    (out / "sub").mkdir(parents=True)
    (out / "precious.txt").write_text("keep me\n")
    (out / "sub" / "deep.txt").write_text("me too\n")
    (out / "readonly.txt").write_text("ro\n")
    (out / "readonly.txt").chmod(0o444)
    os.chown(out / "sub", 0, 0)
    return out


def _plant_links(cache: Path, outside: Path) -> None:
    """Links from every place a tool might walk, to files and directories outside."""
    archive = next(p for p in (cache / "archive-v0").iterdir() if p.is_dir())
    (cache / "escape-root").symlink_to(outside)
    (cache / "wheels-v6").symlink_to(outside)  # looks like a stale bucket
    (cache / "archive-v0" / "EscapeArchive000").symlink_to(outside)
    (archive / "escape-inside").symlink_to(outside / "precious.txt")
    (archive / "escape-dir").symlink_to(outside / "sub")
    evil = cache / "wheels-v8" / "pypi" / "evil"
    evil.mkdir(parents=True)
    (evil / "1.0-py3-none-any").symlink_to(os.path.relpath(outside, evil))
    (evil / "2.0-py3-none-any").symlink_to("../../../../" + "../" * 3 + "outside")
    (cache / "builds-v0" / "escape").symlink_to(outside)
    env = cache / "environments-v2"
    env.mkdir(exist_ok=True)
    (env / "escape").symlink_to(outside)
    tmp = cache / ".tmpEvil01"
    tmp.mkdir()
    (tmp / "escape").symlink_to(outside)
    rev = next((cache / "sdists-v11").rglob("metadata.msgpack")).parent
    (rev / "escape-0.1-py3-none-any").symlink_to(outside)


def test_links_out_of_the_cache_from_everywhere(template_cache, world_tmp, outside, uvr):
    cache = copy_cache(template_cache, world_tmp / "cache")
    _plant_links(cache, outside)
    os.chown(cache / "archive-v0", 0, 0)  # give repair a recursive chown to do
    before = _fingerprint(outside)
    for args in (
        ["scan", "--json"],
        ["doctor", "--json"],
        ["prune", "--yes"],
        ["repair", "--yes", "--owner", "65534"],
        ["prune", "--yes", "--ci"],
        ["test-write"],
        ["report"],
    ):
        proc = uvci(*args, "--cache-dir", str(cache))
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert _fingerprint(outside) == before, args
    # A link named like a bucket goes as uv's prune removes it (the link itself); a link with a
    # name uv never writes is not ours: it is left, and what it points to is untouched.
    assert not os.path.lexists(cache / "wheels-v6")
    assert (cache / "escape-root").is_symlink()
    venv = world_tmp / "venv"
    uvr.venv(venv, cache)
    assert uvr.pip_install(cache, venv, ["beta", "alpha==2.0"]).returncode == 0


def test_dot_dot_in_windows_link_files(template_cache, world_tmp, outside):
    """Link files (the Windows layout, deliberately planted) naming paths outside the cache."""
    from uv_cache_inspector.core.actions.repair import repair_plan
    from uv_cache_inspector.core.cache.layout import buckets_for
    from uv_cache_inspector.core.cache.scan import run_scan
    from uv_cache_inspector.core.diagnosis.rules import entries as dg

    cache = copy_cache(template_cache, world_tmp / "cache")
    bad = cache / "wheels-v8" / "pypi" / "evil"
    bad.mkdir(parents=True)
    (bad / "1.0-py3-none-any").write_text("archive-v0/../../outside")
    (bad / "2.0-py3-none-any").write_text("archive-v0/../../../../etc")
    before = _fingerprint(outside)
    snap = run_scan(str(cache), link_style="file", bucket_set=buckets_for((0, 13, 9)))
    states = {e.path: e.state.value for e in snap.entries if "evil" in e.path}
    assert set(states.values()) == {"dangling"}
    f = list(dg.rule_links(type("I", (), {"snapshot": snap, "short": lambda s, p: p})()))
    plan = repair_plan(snap, f, 65534, 65534, str(cache))
    assert {a.path for a in plan.actions} == set(states)
    del plan
    assert _fingerprint(outside) == before


@pytest.mark.parametrize("command", ["prune", "repair"])
def test_refuses_root_home_and_non_caches(command, world_tmp):
    (world_tmp / "precious.txt").write_text("x")
    before = tree_state(world_tmp)
    for target in (str(world_tmp), "/", os.path.expanduser("~")):
        proc = uvci(command, "--yes", "--cache-dir", target)
        assert proc.returncode == 2, (target, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "nothing was changed" in proc.stderr or "refusing" in proc.stderr
    assert tree_state(world_tmp) == before


def test_cache_dir_that_is_a_symlink(template_cache, world_tmp):
    cache = copy_cache(template_cache, world_tmp / "real-cache")
    link = world_tmp / "link"
    link.symlink_to(cache)
    proc = uvci("prune", "--yes", "--cache-dir", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and cache.is_dir()


@pytest.mark.parametrize("command", ["prune", "repair"])
def test_uv_running_means_exit_3_and_nothing_changes(command, real_cache, uv_bin, test_python):
    (real_cache / ".tmpOrphan").mkdir()
    os.utime(real_cache / ".tmpOrphan", (1, 1))
    before = tree_state(real_cache)
    with uv_holding_lock(uv_bin, real_cache, test_python):
        proc = uvci(command, "--yes", "--cache-dir", str(real_cache))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "uv run" in proc.stderr and "nothing was" in proc.stderr
    assert tree_state(real_cache) == before


# -- SIGKILL at random moments ---------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_cache(tmp_path_factory, uvr, dists_dir):
    """A real cache with much for prune and repair to do: 40 packages of 40 files, each
    reinstalled with --refresh (so 40 orphaned archives), plus a cached environment."""
    names = [f"killme{i}" for i in range(40)]
    for n in names:
        write_wheel(dists_dir, n, "1.0", n_modules=40)
    base = Path(os.environ.get("UVCI_BUSY", "")) if os.environ.get("UVCI_BUSY") else None
    base = base or Path(__import__("tempfile").mkdtemp(prefix="uvci-busy-", dir="/tmp"))
    base.chmod(0o755)
    cache = base / "cache"
    venv = base / "venv"
    make_cache(uvr, cache, names, venv=venv, keep_venv=True)
    uvr.pip_install(cache, venv, names, "--reinstall", "--refresh")
    return cache, names


# Runs the command with two hooks: after its journal records action number N as begun, the
# process stops itself (SIGSTOP) just before its K-th change to the cache from then on (K = 0:
# at once; an action with fewer changes stops as it ends), so the test's SIGKILL lands inside
# that action or between two, wherever the random N and K put it, however fast actions run.
_STOP_AT = r"""
import os, signal, sys
from uv_cache_inspector.core.actions import apply
nth, kth = int(sys.argv[1]), int(sys.argv[2])
state = {"doing": 0, "changes": -1}

def stop():
    os.kill(os.getpid(), signal.SIGSTOP)

def count(fn):
    def wrapper(*a, **kw):
        if state["changes"] >= 0:
            state["changes"] += 1
            if state["changes"] == kth:
                stop()
        return fn(*a, **kw)
    return wrapper

for name in ("unlink", "rmdir", "rename", "chown", "chmod", "fchown", "fchmod"):
    setattr(apply.os, name, count(getattr(os, name)))
write = apply.Journal.write

def journal_write(self, **event):
    if state["changes"] >= 0 and event.get("event") in ("done", "failed"):
        stop()  # the action made fewer than K changes: stop as it ends, before the journal says so
    write(self, **event)
    if event.get("event") == "doing":
        state["doing"] += 1
        if state["doing"] == nth:
            state["changes"] = 0
            if kth == 0:
                stop()

apply.Journal.write = journal_write
from uv_cache_inspector.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _kill_mid_apply(cmd: list[str], env: dict[str, str], journal: Path, nth: int, kth: int) -> bool:
    """Run the uvci arguments `cmd`; SIGKILL it once action number `nth` has begun and made
    `kth` changes. Returns True if it was killed in the middle of its work (it had stopped
    itself there; it did not finish)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _STOP_AT, str(nth), str(kth), *cmd],
        env={**env, "UVCI_JOURNAL_DIR": str(journal)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _, status = os.waitpid(proc.pid, os.WUNTRACED)  # it stops itself, or it ends
    mid = os.WIFSTOPPED(status)
    if mid:
        lines = [ln for f in journal.glob("*.jsonl") for ln in f.read_text().splitlines()]
        mid = not any('"event": "end"' in ln for ln in lines)
        os.killpg(proc.pid, signal.SIGKILL)
        os.waitpid(proc.pid, 0)
    proc.returncode = -signal.SIGKILL  # reaped here, not by Popen
    return mid


def _kill_in_syscall(cmd: list[str], env: dict[str, str], syscall: str) -> bool:
    """Run `cmd` under strace with `syscall` held for a second; SIGKILL it inside that second.
    Returns True if the syscall was reached (the kill landed mid-routine)."""
    log = Path(env["UVCI_STRACE_LOG"])
    calls = {
        "mkdir": "mkdir,mkdirat",
        "rename": "rename,renameat,renameat2",
        "symlink": "symlink,symlinkat",
        "unlink": "unlink,unlinkat",
        "rmdir": "rmdir",
    }[syscall]
    proc = subprocess.Popen(
        [
            "strace",
            "-f",
            "-qq",
            "-o",
            str(log),
            "-e",
            f"trace={calls}",
            "-e",
            f"inject={calls}:delay_enter=1000000",
            *cmd,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    reached = False
    while proc.poll() is None and time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        # The interpreter makes none of these calls; the uv-version cache (under XDG) does.
        if any(syscall in ln and "/xdg/" not in ln for ln in lines):
            reached = True
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    return reached


def _uv_still_works(uvr, cache: Path, names: list[str], work: Path) -> None:
    venv = work / f"check-{random.randrange(10**9)}"
    uvr.run(["venv", "--python", uvr.python, "--no-cache", str(venv)])
    proc = uvr.pip_install(cache, venv, names, "--offline", check=False)
    assert proc.returncode == 0, proc.stderr
    doctor = uvci("doctor", "--json", "--cache-dir", str(cache))
    assert doctor.returncode in {0, 1} and "Traceback" not in doctor.stderr
    json.loads(doctor.stdout)


@pytest.mark.parametrize("what", ["prune", "repair"])
def test_killed_in_the_middle_of_applying(what, busy_cache, world_tmp, uvr):
    cache0, names = busy_cache
    rng = random.Random(f"{what}-{os.getpid()}")
    env = {**os.environ, "PYTHONPATH": APP}
    cmd_args = {"prune": ["prune", "--yes"], "repair": ["repair", "--yes", "--owner", "65534"]}[
        what
    ]
    mid_work = 0
    for i in range(6):
        cache = copy_cache(cache0, world_tmp / f"cache{i}")
        if what == "repair":
            for a in list((cache / "archive-v0").iterdir())[::2]:
                subprocess.run(["chown", "-R", "0:0", str(a)], check=True)
            for j in range(20):
                (cache / f".tmpDead{j:02d}").mkdir()
                os.utime(cache / f".tmpDead{j:02d}", (1, 1))
        journal = world_tmp / f"journal{i}"
        journal.mkdir()
        cmd = [*cmd_args, "--cache-dir", str(cache)]
        nth = rng.randint(1, 20 if what == "repair" else 40)
        mid_work += _kill_mid_apply(cmd, env, journal, nth, rng.randint(0, 3))
        _uv_still_works(uvr, cache, names, world_tmp)
        subprocess.run(["rm", "-rf", str(cache)], check=True)
    assert mid_work == 6  # every kill landed while it was changing the cache


def test_test_write_killed_inside_each_step(busy_cache, world_tmp, uvr):
    cache0, names = busy_cache
    env = {
        **os.environ,
        "PYTHONPATH": APP,
        "PYTHONDONTWRITEBYTECODE": "1",
        "XDG_CACHE_HOME": str(world_tmp / "xdg"),
    }
    reached = 0
    for i, syscall in enumerate(["mkdir", "rename", "symlink", "unlink", "rmdir"]):
        cache = copy_cache(cache0, world_tmp / f"cache{i}")
        env["UVCI_STRACE_LOG"] = str(world_tmp / f"strace{i}.log")
        cmd = [sys.executable, "-m", "uv_cache_inspector", "test-write", "--cache-dir", str(cache)]
        reached += _kill_in_syscall(cmd, env, syscall)
        _uv_still_works(uvr, cache, names, world_tmp)
        subprocess.run(["rm", "-rf", str(cache)], check=True)
    assert reached == 5
