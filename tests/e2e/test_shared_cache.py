"""A cache shared by a group (issue 12, item 8): setgid, group-writable; a second user installs
with umask 077, so their archives are closed to the group. Doctor, run by the first user, must
not call those archives incomplete (they cannot be read, that is all) nor plan to delete them;
repair, as root, gives the group its rights back (group, g+rwX, setgid) instead of taking the
files from their owners; then both users' uv works."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.helpers import uvci

GROUP = 4242
ANN = 65534  # the first user (the cache's owner)
BOB = 4243  # the second user, in the same group


def _uv(unprivileged, uid: int, umask: str, *args: str):
    return unprivileged.run(
        ["sh", "-c", f'umask {umask}; exec "$@"', "sh", unprivileged.uv, *args],
        uid=uid,
        gid=GROUP,
        env={"HOME": f"/tmp/home-{uid}"},
    )


@pytest.fixture
def shared(nobody_cache, unprivileged, world_tmp, index):
    cache = nobody_cache
    for dirpath, dirs, files in os.walk(cache):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            os.lchown(p, ANN, GROUP)
            if not os.path.islink(p):
                st = os.lstat(p)
                extra = 0o2070 if stat.S_ISDIR(st.st_mode) else 0o060
                os.chmod(p, stat.S_IMODE(st.st_mode) | extra)
    os.chown(cache, ANN, GROUP)
    os.chmod(cache, 0o2775)
    venvs = {}
    for uid in (ANN, BOB):
        home = Path(f"/tmp/home-{uid}")
        home.mkdir(exist_ok=True)
        os.chown(home, uid, GROUP)
        venv = world_tmp / f"venv-{uid}"
        venv.mkdir()
        os.chown(venv, uid, GROUP)
        made = _uv(
            unprivileged,
            uid,
            "022",
            "venv",
            "--python",
            unprivileged.python,
            "--cache-dir",
            str(cache),
            str(venv),
        )
        assert made.returncode == 0, made.stderr
        venvs[uid] = venv
    got = _uv(
        unprivileged,
        BOB,
        "077",
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venvs[BOB] / "bin" / "python"),
        "--index-url",
        index.url,
        "--link-mode",
        "hardlink",
        "--refresh",
        "--reinstall",
        "delta",
    )
    assert got.returncode == 0, got.stderr
    bobs = [p for p in (cache / "archive-v0").iterdir() if p.stat().st_uid == BOB]
    assert bobs and all(stat.S_IMODE(p.stat().st_mode) & 0o070 == 0 for p in bobs)
    return cache, venvs, bobs


def test_a_second_users_archives_are_not_incomplete_and_keep_their_owner(
    shared, unprivileged, index
):
    cache, venvs, bobs = shared
    doctor = unprivileged.run(
        [
            unprivileged.python,
            "-m",
            "uv_cache_inspector",
            "doctor",
            "--json",
            "--cache-dir",
            str(cache),
        ],
        uid=ANN,
        gid=GROUP,
    )
    findings = json.loads(doctor.stdout)["findings"]
    incomplete = [f for f in findings if f["code"] == "incomplete-archive"]
    assert incomplete == [], incomplete
    shared_findings = [f for f in findings if f["code"] == "shared-cache-permissions"]
    assert shared_findings, findings
    assert any(str(b) in json.dumps(shared_findings) for b in bobs)
    assert not [f for f in findings if f["code"] == "foreign-owner"], findings

    fixed = uvci("repair", "--yes", "--json", "--cache-dir", str(cache), "--owner", str(ANN))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    kinds = {a["kind"] for a in json.loads(fixed.stdout)["actions"]}
    assert "chown" not in kinds and "delete" not in kinds, kinds
    for b in bobs:
        st = b.stat()
        assert st.st_uid == BOB and st.st_gid == GROUP  # still Bob's
        assert stat.S_IMODE(st.st_mode) & 0o2070 == 0o2070  # the group's again, setgid

    for uid in (ANN, BOB):
        again = _uv(
            unprivileged,
            uid,
            "002",
            "pip",
            "install",
            "--cache-dir",
            str(cache),
            "--python",
            str(venvs[uid] / "bin" / "python"),
            "--index-url",
            index.url,
            "--link-mode",
            "hardlink",
            "--offline",
            "--reinstall",
            "delta",
        )
        assert again.returncode == 0, (uid, again.stderr)
        assert "falling back" not in again.stderr
