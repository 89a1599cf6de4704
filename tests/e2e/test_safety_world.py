"""Safety against the world (issue 12): folders that are not caches, caches shared by uv
releases, names uv never writes. Each test drives real uv where uv is involved."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import uvci
from tests.harness.olduv import old_uv
from tests.harness.uvcache import copy_cache, tree_state


def _files(root: Path) -> dict[str, object]:
    return dict(tree_state(root))


@pytest.mark.parametrize("lookalike", ["report-v2", "node-v18", "backup-v1", "invoice-v2"])
def test_a_folder_that_is_not_a_cache_is_refused(world_tmp, lookalike):
    d = world_tmp / "Downloads"
    (d / lookalike).mkdir(parents=True)
    (d / "docs").mkdir()
    (d / "thesis.txt").write_text("x\n")
    before = _files(d)
    for how in ({"args": ["--cache-dir", str(d)]}, {"args": [], "env": {"UV_CACHE_DIR": str(d)}}):
        for cmd in (["prune", "--yes"], ["repair", "--yes"]):
            proc = uvci(*cmd, *how["args"], env=how.get("env"))
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert "not a uv cache" in proc.stderr and "Traceback" not in proc.stderr
    assert _files(d) == before
    doctor = uvci("doctor", "--json", "--cache-dir", str(d))
    assert "not-a-uv-cache" in doctor.stdout


def test_a_tag_alone_is_not_enough(world_tmp):
    """cargo, tox and others write the same CACHEDIR.TAG signature."""
    d = world_tmp / "target"
    (d / "debug").mkdir(parents=True)
    (d / "CACHEDIR.TAG").write_bytes(b"Signature: 8a477f597d28d172789f06886806bc55\n# cargo\n")
    before = _files(d)
    proc = uvci("prune", "--yes", "--cache-dir", str(d))
    assert proc.returncode == 2 and "not a uv cache" in proc.stderr
    assert _files(d) == before


def test_inside_a_real_cache_unknown_names_are_listed_not_removed(real_cache):
    (real_cache / "thesis.txt").write_text("mine\n")
    (real_cache / "docs").mkdir()
    (real_cache / "docs" / "notes.md").write_text("mine too\n")
    (real_cache / "report-v2").mkdir()
    (real_cache / "photos").symlink_to("/etc")
    dry = uvci("prune", "--json", "--cache-dir", str(real_cache))
    kept = "\n".join(json.loads(dry.stdout)["kept"])
    for name in ("thesis.txt", "docs", "report-v2", "photos"):
        assert name in kept
    proc = uvci("prune", "--yes", "--cache-dir", str(real_cache))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (real_cache / "thesis.txt").read_text() == "mine\n"
    assert (real_cache / "docs" / "notes.md").exists() and (real_cache / "report-v2").is_dir()
    assert (real_cache / "photos").is_symlink()


def test_a_newer_uvs_buckets_keep_their_archives(template_cache, world_tmp, uvr, uv_bin):
    """Only uv 0.5.14 is on PATH; the cache was written by the newest uv. Its wheels-v8 and
    sdists-v11 are unknown to 0.5.14: kept whole, and so is every archive they link to."""
    cache = copy_cache(template_cache, world_tmp / "cache")
    newer = {
        rel: st
        for rel, st in tree_state(cache).items()
        if rel.split("/")[0] in {"wheels-v8", "sdists-v11"}
    }
    old = old_uv("0.5.14")
    env = {"PATH": f"{old}:/usr/bin:/bin"}
    proc = uvci("prune", "--yes", "--json", "--cache-dir", str(cache), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["uv_version"].startswith("0.5.14")
    after = tree_state(cache)
    assert {rel: st for rel, st in after.items() if rel in newer} == newer  # nothing inside
    dangling = [
        p
        for p in cache.rglob("*")
        if p.is_symlink() and not os.path.exists(p) and "archive-v0" in os.readlink(p)
    ]
    assert dangling == []
    # The newer uv still installs everything offline from what is left.
    venv = world_tmp / "venv"
    uvr.venv(venv, cache)
    got = uvr.pip_install(cache, venv, ["beta==1.0", "alpha==2.0", "delta", "epsilon"], "--offline")
    assert got.returncode == 0, got.stderr
    assert sys.executable  # (the newest uv ran: uv_bin)


def test_plans_cover_everything_found(real_cache):
    """1,000 orphaned temporary folders (the cap was 200): doctor counts them all and repair
    removes them all."""
    import time

    old = time.time() - 3 * 86400
    for i in range(1_000):
        d = real_cache / f".tmp{i:06}"
        d.mkdir()
        os.utime(d, (old, old))
    doctor = uvci("doctor", "--json", "--cache-dir", str(real_cache))
    found = [f for f in json.loads(doctor.stdout)["findings"] if f["code"] == "orphaned-tmp"]
    assert sum(f.get("count") or 1 for f in found) == 1_000
    proc = uvci("repair", "--yes", "--json", "--cache-dir", str(real_cache))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert not [p for p in real_cache.iterdir() if p.name.startswith(".tmp")]


def test_terminal_escapes_in_names_are_shown_escaped(real_cache):
    """A file name can set the terminal's title or clear the screen; human output escapes it,
    JSON keeps it exact."""
    evil = "\x1b]0;pwned\x07\x1b[2Jx\nFAKE LINE"
    (real_cache / f".tmp{evil}").mkdir()
    os.utime(real_cache / f".tmp{evil}", (0, 0))
    for cmd in (["doctor"], ["repair"], ["prune"], ["scan"]):
        proc = uvci(*cmd, "--cache-dir", str(real_cache))
        assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout, cmd
        assert "\nFAKE LINE" not in proc.stdout, cmd
    doctor = uvci("doctor", "--cache-dir", str(real_cache))
    assert "\\e]0;pwned" in doctor.stdout
    data = json.loads(uvci("doctor", "--json", "--cache-dir", str(real_cache)).stdout)
    paths = [p for f in data["findings"] for p in f.get("paths", [f.get("path")]) if p]
    assert any(evil in p for p in paths)


def _uvci_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "uv_cache_inspector", *args]


def _env() -> dict[str, str]:
    from tests.cli.helpers import APP

    env = dict(os.environ)
    env["PYTHONPATH"] = APP
    env.pop("UV_CACHE_DIR", None)
    return env


def test_bad_input_gets_a_message_never_a_traceback(real_cache, world_tmp):
    """Each case of issue 12 item 11: a clear message, a usage exit code, nothing changed."""
    orphan = real_cache / ".tmpOld"
    orphan.mkdir()
    os.utime(orphan, (0, 0))
    before = tree_state(real_cache)
    cases = [
        (["prune", "--yes", "--max-size", "1e400G"], "finite"),
        (["prune", "--yes", "--older-than", "-5"], "above 0"),
        (["prune", "--yes", "--older-than", "nan"], "above 0"),
        (["repair", "--yes", "--plan", "/nonexistent"], "No such file"),
        (["repair", "--yes", "--owner", "99999999999999"], "not a user id"),
        (["repair", "--yes", "--owner", "4294967295"], "not a user id"),
        (["repair", "--yes", "--owner", "12345"], "no account"),
    ]
    for args, words in cases:
        proc = uvci(*args, "--cache-dir", str(real_cache))
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert tree_state(real_cache) == before


def test_a_lock_file_that_is_a_directory(real_cache):
    (real_cache / ".lock").unlink()
    (real_cache / ".lock").mkdir()
    for args in (["prune", "--yes"], ["repair", "--yes"], ["doctor"]):
        proc = uvci(*args, "--cache-dir", str(real_cache))
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
    proc = uvci("prune", "--yes", "--cache-dir", str(real_cache))
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_read_only_mount_and_full_disk(real_cache, world_tmp):
    from tests.harness.mountns import in_mount_namespace

    orphan = real_cache / ".tmpOld"
    orphan.mkdir()
    os.utime(orphan, (0, 0))
    journal = world_tmp / "journal"
    journal.mkdir()
    env = {**_env(), "UVCI_JOURNAL_DIR": str(journal)}
    ro = in_mount_namespace(
        [f"mount --bind {real_cache} {real_cache}", f"mount -o remount,bind,ro {real_cache}"],
        [
            _uvci_cmd("prune", "--yes", "--cache-dir", str(real_cache)),
            _uvci_cmd("repair", "--yes", "--cache-dir", str(real_cache)),
        ],
        env=env,
        work=world_tmp,
    )
    for r in ro:
        assert r.returncode == 2 and "read-only" in r.stderr, r
        assert "Traceback" not in r.stderr
    assert orphan.exists()
    # The journal's filesystem is full: the work goes on, and the result says so.
    full = in_mount_namespace(
        [
            f"mount -t tmpfs -o size=4k tmpfs {journal}",
            f"dd if=/dev/zero of={journal}/fill bs=4k count=1 2>/dev/null || true",
        ],
        [_uvci_cmd("repair", "--yes", "--cache-dir", str(real_cache))],
        env=env,
        work=world_tmp,
    )
    assert "Traceback" not in full[0].stderr, full[0].stderr
    assert full[0].returncode == 0, full[0]
    assert not orphan.exists()


def _catches(pid: int, signum: int) -> bool:
    """The process has a handler for `signum` (Linux: SigCgt in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def test_sigterm_stops_like_ctrl_c(real_cache):
    """SIGTERM (a service manager, `kill`) mid-command: a clear line on stderr, exit 143, no
    traceback. The command waits on stdin; the signal is sent once its handler is in place."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        _uvci_cmd("explain", "-", "--cache-dir", str(real_cache)),
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not _catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)  # polling for the event (the handler), not waiting a duration
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, (out, err)
    assert "terminated" in err and "Traceback" not in err


def test_a_cache_without_lock_counts_only_the_uv_that_uses_it(real_cache, world_tmp, uvr):
    """uv older than 0.8.19 takes no lock (issue 12, item 10): only a uv that uses this very
    cache makes prune refuse; one busy with another cache does not."""
    import subprocess

    from tests.harness.uvcache import clean_env
    from tests.harness.uvproc import uv_holding_lock

    (real_cache / ".lock").unlink()
    other = copy_cache(real_cache, world_tmp / "other-cache")
    orphan = real_cache / ".tmpOld"
    orphan.mkdir()
    os.utime(orphan, (0, 0))
    with uv_holding_lock(uvr.uv, other, uvr.python):
        proc = uvci("prune", "--yes", "--cache-dir", str(real_cache))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not orphan.exists()

    # An old uv (no lock) running a program from this cache: refused, and named.
    old = old_uv("0.5.14") / "uv"
    ready = world_tmp / "ready"
    go = world_tmp / "go"
    script = (
        "import os, sys, time\n"
        f"open({str(ready)!r}, 'w').close()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
    )
    runner = subprocess.Popen(
        [
            str(old),
            "run",
            "--no-project",
            "--cache-dir",
            str(real_cache),
            "--python",
            uvr.python,
            "--",
            "python",
            "-c",
            script,
        ],
        env=clean_env(),
        cwd=world_tmp,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists():
            assert runner.poll() is None, runner.communicate()
            time.sleep(0.02)
        assert not (real_cache / ".lock").exists()
        orphan.mkdir()
        os.utime(orphan, (0, 0))
        proc = uvci("prune", "--yes", "--cache-dir", str(real_cache))
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "uv run" in proc.stderr and orphan.exists()
    finally:
        go.touch()
        runner.wait(timeout=60)


def test_scan_and_prune_agree_about_referenced(real_cache, world_tmp, uvr):
    """One rule (core.refs): an archive linked only from a dangling source revision is not
    "used" in scan (nor the table, nor report) and is what prune removes (issue 12, item 4)."""
    venv = uvr.venv(world_tmp / "venv", real_cache)
    # A rebuild of the sdist: a new current revision; the old one dangles, with its archive.
    uvr.pip_install(real_cache, venv, ["epsilon"], "--reinstall", "--refresh-package", "epsilon")
    scan = json.loads(uvci("scan", "--json", "--cache-dir", str(real_cache)).stdout)
    plan = json.loads(uvci("prune", "--json", "--cache-dir", str(real_cache)).stdout)
    pruned = {
        os.path.basename(a["path"]) for a in plan["actions"] if a["category"] == "unreferenced"
    }
    archives = {a["id"]: a["referenced"] for a in scan["archives"]}
    assert any(
        p.startswith(str(real_cache / "sdists-v11"))
        for p in (a["path"] for a in plan["actions"] if a["category"] == "sdist-revision")
    )
    for path, referenced in archives.items():
        assert referenced == (path not in pruned), path
