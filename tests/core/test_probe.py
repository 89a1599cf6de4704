"""The test-write: uv's persist routine replayed on real caches, failing for real."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli.helpers import APP, uvci
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import tree_state
from uv_cache_inspector.core.cache import lock
from uv_cache_inspector.core.platform.access import resolve_user
from uv_cache_inspector.core.testwrite.common import run
from uv_cache_inspector.core.testwrite.replay import (
    RenameFailedError,
    explain_failure,
    rename_with_retry,
    replay,
)
from uv_cache_inspector.core.testwrite.with_uv import failing_syscalls, with_uv


def _run(root, **kw):
    return run(replay(str(root), **kw))


def test_healthy_cache_every_step_passes_and_nothing_changes(real_cache):
    before = tree_state(real_cache)
    result = _run(real_cache)
    assert result.ok
    assert [s.step for s in result.steps] == [
        "lock",
        "mkdtemp",
        "write",
        "mkdir",
        "rename",
        "scratch",
        "link",
        "cleanup",
    ]
    assert all(s.ok and s.duration_ms >= 0 for s in result.steps)
    assert tree_state(real_cache) == before


def test_with_real_uv_on_a_healthy_cache(real_cache, uv_bin, test_python):
    before = tree_state(real_cache)
    result = run(with_uv(str(real_cache), uv_bin, python=test_python))
    assert result.ok, [s.to_json() for s in result.steps]
    assert [s.step for s in result.steps][:2] == ["venv", "uv"]
    assert tree_state(real_cache) == before


def test_other_temp_locations_and_link_files(real_cache):
    for bucket in ("sdists", "builds"):
        result = _run(real_cache, bucket=bucket)
        assert result.ok
        made = result.steps[1].path
        assert os.path.basename(os.path.dirname(made)).startswith(bucket)
    windows_style = _run(real_cache, link_style="file")
    assert windows_style.ok and "link file" in windows_style.steps[-2].note


def test_keep_leaves_the_artefacts(real_cache):
    result = _run(real_cache, keep=True)
    assert result.ok and result.kept
    assert all(os.path.exists(p) for p in result.kept)
    assert any(os.path.dirname(p) == str(real_cache / "archive-v0") for p in result.kept)


def test_root_owned_archive_as_the_user(nobody_cache, unprivileged):
    os.chown(nobody_cache / "archive-v0", 0, 0)
    before = tree_state(nobody_cache)
    proc = unprivileged.uvci("test-write", "--json", "--cache-dir", str(nobody_cache))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    failed = [s for s in data["steps"] if not s["ok"]]
    assert [s["step"] for s in failed] == ["rename"]
    rename = failed[0]
    assert rename["errno"] == errno.EACCES
    assert "failed to rename file from" in rename["error"]
    assert "Permission denied (os error 13)" in rename["error"]
    assert "archive-v0" in rename["explanation"] and "root (uid 0" in rename["explanation"]
    assert data["steps"][-1]["step"] == "cleanup" and data["steps"][-1]["ok"]
    assert tree_state(nobody_cache) == before  # nothing left behind


def test_as_root_it_runs_as_the_user_uv_runs_as(nobody_cache):
    """`sudo uvci test-write` (or the app started as root): root would pass every step, so the
    replay runs as the cache's owner, in a child process, and fails where uv fails."""
    os.chown(nobody_cache / "archive-v0", 0, 0)
    before = tree_state(nobody_cache)
    proc = uvci("test-write", "--json", "--cache-dir", str(nobody_cache))  # as root
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    failed = [s for s in data["steps"] if not s["ok"]]
    assert [(s["step"], s["errno"]) for s in failed] == [("rename", errno.EACCES)]
    assert "nobody" in failed[0]["explanation"]
    assert tree_state(nobody_cache) == before
    human = uvci("test-write", "--cache-dir", str(nobody_cache))
    assert "(as nobody (uid 65534, the cache's owner)" in human.stdout
    assert "The write fails at rename." in human.stdout
    # Given back to nobody, the same run passes: the child really is nobody, not a simulation.
    os.chown(nobody_cache / "archive-v0", 65534, 65534)
    assert uvci("test-write", "--cache-dir", str(nobody_cache)).returncode == 0


def test_as_root_with_a_uv_the_user_cannot_run(nobody_cache, uv_bin, world_tmp):
    """`sudo uvci test-write --with-uv` where the uv found is root's (under a 0700 folder): the
    child, running as the cache's owner, cannot start it. That is a failed step, never a pass
    (it used to end with the replay's steps only and 'Every step passed')."""
    private = world_tmp / "root-only"
    private.mkdir(mode=0o700)
    own_uv = private / "uv"
    own_uv.write_bytes(Path(uv_bin).read_bytes())
    own_uv.chmod(0o755)
    proc = uvci(
        "test-write", "--json", "--with-uv", "--uv", str(own_uv), "--cache-dir", str(nobody_cache)
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    failed = [s for s in data["steps"] if not s["ok"]]
    assert [s["step"] for s in failed] == ["venv"]
    assert "Permission denied" in failed[0]["error"] and str(own_uv) in failed[0]["error"]
    assert "nobody (uid 65534) cannot run this uv" in failed[0]["explanation"]


def test_with_uv_shows_uvs_own_failure(nobody_cache, unprivileged):
    os.chown(nobody_cache / "archive-v0", 0, 0)
    before = tree_state(nobody_cache)
    proc = unprivileged.uvci("test-write", "--json", "--with-uv", "--cache-dir", str(nobody_cache))
    assert proc.returncode == 1, proc.stderr
    steps = {s["step"]: s for s in json.loads(proc.stdout)["steps"]}
    uv_step = steps["uv"]
    assert not uv_step["ok"]
    assert "Permission denied (os error 13)" in uv_step["error"]
    assert "archive-v0" in uv_step["explanation"] and "root (uid 0" in uv_step["explanation"]
    syscall = steps["syscall"]
    assert not syscall["ok"] and "EACCES" in syscall["error"]
    assert "rename" in syscall["error"] and "archive-v0" in syscall["path"]
    assert tree_state(nobody_cache) == before


def _probe_in_ns(setup: list[str], cache, work) -> dict:
    env = {**os.environ, "PYTHONPATH": APP}
    (res,) = in_mount_namespace(
        setup,
        [
            [
                sys.executable,
                "-m",
                "uv_cache_inspector",
                "test-write",
                "--json",
                "--cache-dir",
                str(cache),
            ]
        ],
        env=env,
        work=work,
    )
    assert "Traceback" not in res.stderr, res.stderr
    return json.loads(res.stdout)


def _first_failure(data: dict) -> dict:
    return next(s for s in data["steps"] if not s["ok"])


def test_read_only_filesystem_fails_where_uv_fails(real_cache, world_tmp, uv_bin, uvr):
    """uv's first write on a cache is the temporary file it makes the lock with
    (uv-fs locked_file.rs): on a read-only cache that fails with EROFS before any unpacking.
    The test-write fails at the same operation, and real uv in the same namespace agrees."""
    setup = [f"mount --bind {real_cache} {real_cache}", f"mount -o remount,ro,bind {real_cache}"]
    env = {**os.environ, "PYTHONPATH": APP, "UV_NO_CONFIG": "1"}
    probe_run, uv_run = in_mount_namespace(
        setup,
        [
            [
                sys.executable,
                "-m",
                "uv_cache_inspector",
                "test-write",
                "--json",
                "--cache-dir",
                str(real_cache),
            ],
            [
                uv_bin,
                "pip",
                "install",
                "--cache-dir",
                str(real_cache),
                "--python",
                uvr.python,
                "--dry-run",
                "--index-url",
                uvr.index_url,
                "alpha",
            ],
        ],
        env=env,
        work=world_tmp,
    )
    data = json.loads(probe_run.stdout)
    fail = _first_failure(data)
    assert (fail["step"], fail["errno"]) == ("lock", errno.EROFS)
    assert os.path.basename(fail["target"]).startswith(".tmp")
    assert "Could not create temporary file" in fail["error"]
    assert "read-only" in fail["explanation"]
    assert "Could not create temporary file" in uv_run.stderr
    assert "Read-only file system (os error 30)" in uv_run.stderr


def test_full_filesystem_fails_at_write(real_cache, world_tmp):
    small = world_tmp / "small"
    small.mkdir()
    data = _probe_in_ns(
        [
            f"mount -t tmpfs -o size=2m tmpfs {small}",
            f"cp -a {real_cache} {small}/cache",
            f"dd if=/dev/zero of={small}/fill bs=4k 2>/dev/null || true",
        ],
        small / "cache",
        world_tmp,
    )
    fail = _first_failure(data)
    assert (fail["step"], fail["errno"]) == ("write", errno.ENOSPC)
    # The diagnosis's evidence: the full filesystem, and what is left on it.
    assert f"{small} (tmpfs) has " in fail["explanation"]
    assert "inodes free" in fail["explanation"]


def test_bucket_on_another_filesystem_fails_the_rename(real_cache, world_tmp):
    saved = world_tmp / "saved"
    subprocess.run(["cp", "-a", str(real_cache / "archive-v0"), str(saved)], check=True)
    data = _probe_in_ns(
        [
            f"mount -t tmpfs tmpfs {real_cache / 'archive-v0'}",
            f"cp -a {saved}/. {real_cache / 'archive-v0'}/",
        ],
        real_cache,
        world_tmp,
    )
    fail = _first_failure(data)
    assert (fail["step"], fail["errno"]) == ("rename", errno.EXDEV)
    assert fail["explanation"].endswith("are on different filesystems.")
    assert str(real_cache / "archive-v0") in fail["explanation"]
    assert data["steps"][-1]["step"] == "cleanup" and data["steps"][-1]["ok"]


def test_other_errors_are_read_with_the_diagnosis_table(real_cache):
    """A step's error other than a refusal is read as the diagnosis reads uv's (oserrors' kinds,
    explain's causes): a quota is a quota, not a full disk (on a disk with room to spare), too
    many open files is the open-file limit, and a number with no story says so."""
    user = resolve_user(None)
    root = str(real_cache)
    tmp = str(real_cache / ".tmpAbCdEf")

    def why(step: str, code: int, path: str, target: str | None = None) -> str:
        return explain_failure(step, OSError(code, os.strerror(code)), path, target, user, root)

    quota = why("write", errno.EDQUOT, tmp)
    assert "quota" in quota and "full" not in quota
    assert "limit on open files" in why("mkdtemp", errno.EMFILE, tmp)
    link = str(real_cache / ".tmpScratch" / "link")
    assert "no story" in why("link", errno.ELOOP, link, str(real_cache / "archive-v0" / "x"))


def test_lock_held_exclusively(real_cache):
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {APP!r})
        from uv_cache_inspector.core.cache import lock
        with lock.exclusive({str(real_cache)!r}):
            print("held", flush=True)
            time.sleep(30)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = _run(real_cache, lock_timeout=0.5)
    finally:
        holder.kill()
        holder.wait()
    assert not result.ok and result.steps[0].step == "lock" and not result.steps[0].ok
    assert lock.probe(str(real_cache)).held is False


def test_windows_retry_schedule():
    """uv's rename_with_retry (Windows): PermissionDenied only, 10 ms doubling, 10 retries."""
    slept: list[float] = []
    calls = {"n": 0}

    def flaky(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise PermissionError(errno.EACCES, "Access is denied")

    attempts = rename_with_retry("a", "b", retries=10, sleep=slept.append, rename=flaky)
    assert [a["ok"] for a in attempts] == [False, False, False, True]
    assert slept == [0.01, 0.02, 0.04]

    def never(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Access is denied")

    slept.clear()
    with pytest.raises(RenameFailedError) as err:
        rename_with_retry("a", "b", retries=10, sleep=slept.append, rename=never)
    assert len(err.value.attempts) == 11
    assert sum(slept) == pytest.approx(10.23)  # 10 + 20 + ... + 5120 ms

    def other(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    with pytest.raises(OSError) as err2:
        rename_with_retry("a", "b", retries=10, sleep=slept.append, rename=other)
    assert err2.value.errno == errno.EXDEV  # not retried


def test_strace_parsing():
    trace = (
        '123 renameat2(AT_FDCWD, "/c/.tmpAb", AT_FDCWD, "/c/archive-v0/x", 0) = -1 EACCES '
        "(Permission denied)\n"
        '123 openat(AT_FDCWD, "/c/wheels-v8/x.http", O_RDONLY) = -1 ENOENT (No such file or '
        "directory)\n"
        '[pid   124] mkdir("/elsewhere/x", 0777) = -1 EACCES (Permission denied)\n'
    )
    (only,) = failing_syscalls(trace, "/c")
    assert only["call"] == "renameat2" and only["errno"] == "EACCES"


def test_cli_human_output(real_cache):
    proc = uvci("test-write", "--cache-dir", str(real_cache))
    assert proc.returncode == 0
    assert "ok    rename" in proc.stdout and "Every step passed" in proc.stdout


def test_not_a_cache_is_refused(world_tmp):
    (world_tmp / "file.txt").write_text("x")
    proc = uvci("test-write", "--cache-dir", str(world_tmp))
    assert proc.returncode == 2 and "not a uv cache" in proc.stderr
    assert sorted(os.listdir(world_tmp)) == ["file.txt"]
