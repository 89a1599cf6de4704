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
    return unprivileged.uv_cmd(
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index_url,
        "--link-mode",
        "hardlink",
        "--offline",
        "--reinstall",
        "alpha==2.0",
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
