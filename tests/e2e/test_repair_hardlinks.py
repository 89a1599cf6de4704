"""Repair never hands root's files to a user (issue 20).

uv installs by hard-linking files out of `archive-v0`. After one `sudo uv pip install` into a
root-owned environment from the user's cache, the archive's files are root-owned and are the very
same inodes as that environment's files. Chowning them (what `chown -R` and a naive repair do)
gives the user the files that root runs. Repair must replace such files in the cache with the
user's own copies instead, so the other links keep root's inode, owner and mode.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.helpers import uvci
from tests.harness.dists import write_wheel


def _files_state(root: Path) -> dict[str, tuple[int, int, int, int, str]]:
    """Every regular file below `root`: inode, owner, group, mode, sha256 of the bytes."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            out[os.path.relpath(p, root)] = (
                st.st_ino,
                st.st_uid,
                st.st_gid,
                stat.S_IMODE(st.st_mode),
                digest,
            )
    return out


def _install_as_user(unprivileged, cache: Path, venv: Path, index_url: str, *pkgs: str):
    return unprivileged.pip_install(cache, venv, index_url, *pkgs)


@pytest.fixture
def sudo_installed(nobody_cache, uvr, unprivileged, world_tmp, dists_dir):
    """The user's cache after root installed alpha from it into a root-owned system venv."""
    system_venv = uvr.venv(world_tmp / "system-venv", nobody_cache)
    uvr.pip_install(
        nobody_cache,
        system_venv,
        ["alpha==1.0"],
        "--link-mode",
        "hardlink",
        "--reinstall",
        "--refresh",
    )
    shared = [
        p
        for p in (system_venv / "lib").rglob("alpha/*.py")
        if os.lstat(p).st_uid == 0 and os.lstat(p).st_nlink == 2
    ]
    assert shared, "uv did not hard-link root's install out of the user's cache"
    user_venv = world_tmp / "user-venv"
    user_venv.mkdir()
    os.chown(user_venv, 65534, 65534)
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(nobody_cache), str(user_venv)
    )
    assert made.returncode == 0, made.stderr
    write_wheel(dists_dir, "after-hardlink-repair", "1.0")
    return nobody_cache, system_venv, user_venv


def test_repair_replaces_files_shared_with_a_root_environment(sudo_installed, unprivileged, index):
    cache, system_venv, user_venv = sudo_installed
    before = _files_state(system_venv)

    doctor = unprivileged.uvci("doctor", "--cache-dir", str(cache))
    assert "sudo chown" not in doctor.stdout, doctor.stdout  # never advised over shared files
    assert "uvci repair" in doctor.stdout

    dry = uvci("repair", "--dry-run", "--json", "--owner", "nobody", "--cache-dir", str(cache))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    plan = json.loads(dry.stdout)
    said = [a for a in plan["actions"] if a.get("shared_files")]
    assert said, plan["actions"]  # the plan says that shared files are replaced, not chowned
    assert "replace" in said[0]["reason"]

    fixed = uvci("repair", "--yes", "--json", "--owner", "nobody", "--cache-dir", str(cache))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert all(a["done"] for a in json.loads(fixed.stdout)["actions"])

    # Root's environment: the same inodes, bytes, owner, group and modes as before.
    assert _files_state(system_venv) == before

    # Every directory of the cache is the user's again, and no cache file is root's inode.
    root_inodes = {v[0] for v in before.values()}
    for dirpath, dirs, files in os.walk(cache):
        for name in dirs:
            st = os.lstat(os.path.join(dirpath, name))
            assert st.st_uid == 65534 or not stat.S_ISDIR(st.st_mode), (dirpath, name)
        for name in files:
            assert os.lstat(os.path.join(dirpath, name)).st_ino not in root_inodes

    # The user's uv works from the cache again, and doctor is clean.
    got = _install_as_user(unprivileged, cache, user_venv, index.url, "alpha==1.0")
    assert got.returncode == 0, got.stderr
    got = _install_as_user(unprivileged, cache, user_venv, index.url, "after-hardlink-repair")
    assert got.returncode == 0, got.stderr
    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    findings = json.loads(doctor.stdout)["findings"]
    assert not [f for f in findings if f["severity"] in {"error", "warning"}], findings


def test_a_hardlink_planted_from_outside_keeps_its_owner(nobody_cache, world_tmp):
    """A root-owned file outside any environment, hard-linked into an archive by root."""
    outside = world_tmp / "etc-like"
    outside.mkdir()
    secret = outside / "sudoers.d-snippet"
    secret.write_text("root ALL=(ALL) ALL\n")
    secret.chmod(0o640)
    archive = next(p for p in (nobody_cache / "archive-v0").iterdir() if p.is_dir())
    os.link(secret, archive / "planted.py")
    before = _files_state(outside)

    fixed = uvci("repair", "--yes", "--json", "--owner", "nobody", "--cache-dir", str(nobody_cache))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _files_state(outside) == before
    st = os.lstat(secret)
    assert (st.st_uid, st.st_nlink, stat.S_IMODE(st.st_mode)) == (0, 1, 0o640)
    mine = os.lstat(archive / "planted.py")
    assert mine.st_uid == 65534 and mine.st_ino != st.st_ino
