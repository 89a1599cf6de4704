"""A root-owned file or folder inside an archive (issue 12, item 9).

uv installs by hard-linking files out of `archive-v0`, and Linux lets a user hard-link only a
file they own or may write (`fs.protected_hardlinks=1`, the default): uv, as the user, fails with
"failed to hardlink file ... Operation not permitted (os error 1)" (or falls back to copying
every file, when the first link it tries is the refused one). Doctor names it as an error
with that reason; repair gives it back; then uv works for the user.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.helpers import uvci


def _protected_hardlinks() -> bool:
    try:
        return Path("/proc/sys/fs/protected_hardlinks").read_text().strip() == "1"
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _protected_hardlinks(), reason="needs Linux with fs.protected_hardlinks=1"
)


def _alpha_archive(cache: Path, version: str = "2.0") -> Path:
    for a in (cache / "archive-v0").iterdir():
        if (a / f"alpha-{version}.dist-info").is_dir():
            return a
    raise AssertionError("no alpha archive")


def _install(unprivileged, cache: Path, venv: Path, index_url: str):
    return unprivileged.pip_install(
        cache, venv, index_url, "--offline", "--reinstall", "alpha==2.0"
    )


@pytest.fixture
def user_venv(nobody_cache, unprivileged, world_tmp):
    venv = world_tmp / "user-venv"
    venv.mkdir()
    os.chown(venv, 65534, 65534)
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(nobody_cache), str(venv)
    )
    assert made.returncode == 0, made.stderr
    return venv


@pytest.mark.parametrize("what", ["file", "folder"])
def test_root_owned_inside_an_archive(what, nobody_cache, user_venv, unprivileged, index):
    cache = nobody_cache
    archive = _alpha_archive(cache)
    if what == "file":
        os.chown(archive / "alpha" / "m1.py", 0, 0)
    else:
        for dirpath, dirs, files in os.walk(archive / "alpha"):
            for name in dirs + files:
                os.lchown(os.path.join(dirpath, name), 0, 0)
        os.chown(archive / "alpha", 0, 0)
    # uv fails when a link is refused after others succeeded, or, when the first one is
    # refused, falls back to copying every file (with a warning): which, depends on its order.
    before = _install(unprivileged, cache, user_venv, index.url)
    if before.returncode == 0:
        assert "falling back to full copy" in before.stderr, before.stderr
    else:
        assert "os error 1" in before.stderr or "Operation not permitted" in before.stderr

    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    errors = [f for f in json.loads(doctor.stdout)["findings"] if f["severity"] == "error"]
    assert errors, doctor.stdout
    assert any("hard-link" in f["message"] for f in errors), errors

    fixed = uvci("repair", "--yes", "--json", "--owner", "nobody", "--cache-dir", str(cache))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    ok = _install(unprivileged, cache, user_venv, index.url)
    assert ok.returncode == 0, ok.stderr
    assert "falling back" not in ok.stderr, ok.stderr
    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    findings = json.loads(doctor.stdout)["findings"]
    assert not [f for f in findings if f["severity"] == "error"], findings


def test_prune_and_delete_never_leave_half_done_work(nobody_cache, unprivileged, uvr, world_tmp):
    """A root-owned archive-v0 (issue 12, item 6): what needs administrator rights is marked,
    a link goes only with its archive, and the printed command does exactly that part."""
    cache = nobody_cache
    os.chown(cache / "archive-v0", 0, 0)
    links_before = sorted(str(p) for p in cache.rglob("*") if p.is_symlink())
    proc = unprivileged.uvci("prune", "--yes", "--no-elevate", "--json", "--cache-dir", str(cache))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    undone = [a for a in data["actions"] if not a["done"]]
    assert undone and all(a["needs_privilege"] for a in undone)
    assert all("administrator" in (a["error"] or "") for a in undone)
    # No link was removed whose archive is still there.
    for link in links_before:
        if not os.path.lexists(link):
            raise AssertionError(f"{link} removed")
    paste = data["paste_command"]
    assert paste.startswith(("sudo ", "su -c ")) and "--plan" in paste

    # Delete of one archive (the app's Delete), planned as the user: link and archive together.
    archive = next(p for p in (cache / "archive-v0").iterdir() if p.is_dir())
    code = (
        "import json, sys\n"
        "from uv_cache_inspector.core.cache.scan import run_scan\n"
        "from uv_cache_inspector.core import operations as ops\n"
        "snap = run_scan(sys.argv[1])\n"
        "plan, _ = ops.delete(snap, [sys.argv[2]])\n"
        "print(json.dumps([[a.path, a.needs_privilege] for a in plan.actions]))\n"
    )
    out = unprivileged.run([unprivileged.python, "-c", code, str(cache), str(archive)])
    assert out.returncode == 0, out.stderr
    actions = json.loads(out.stdout)
    assert actions and all(admin for _path, admin in actions), actions

    # The pasted command, run as root for that user, does the rest; uv works after it.
    import shlex

    words = shlex.split(paste)
    argv = shlex.split(words[2]) if words[0] == "su" else words[1:]
    helper = uvci(*argv[1:], env={"SUDO_UID": "65534"})
    assert helper.returncode == 0, helper.stdout + helper.stderr
    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    codes = {f["code"] for f in json.loads(doctor.stdout)["findings"]}
    assert "dangling-link" not in codes
