"""Prune parity: on copies of one real cache, `uvci prune --yes` leaves exactly what
`uv cache prune` (of the same, newest uv) leaves; likewise --ci, and --package vs
`uv cache clean NAME`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.cli.helpers import uvci
from tests.harness import fixtures
from tests.harness.uvcache import copy_cache, make_cache, tree_state


def _lived_in(src: Path, dst: Path) -> Path:
    """A copy with the leftovers a real user's cache collects over time (the layout of each
    leftover is uv's own: crashed runs' root .tmp*, a build environment a killed build left, a
    stray file, an unknown directory, a .tmp inside a bucket that uv's prune keeps)."""
    cache = copy_cache(src, dst)
    for name in (".tmpCrash1", ".tmpCrash2"):
        (cache / name / "partial").mkdir(parents=True)
        (cache / name / "partial" / "mod.py").write_text("x = 1\n")
    (cache / "builds-v0" / ".tmpBuild9" / "lib").mkdir(parents=True)
    (cache / "builds-v0" / ".tmpBuild9" / "pyvenv.cfg").write_text("home = /usr\n")
    (cache / "stray.txt").write_text("left by something\n")
    (cache / "not-a-bucket").mkdir()
    (cache / "wheels-v8" / ".tmpKeep01").mkdir()
    return cache


def _compare(ours: Path, theirs: Path) -> None:
    a, b = tree_state(ours), tree_state(theirs)
    assert sorted(set(a) - set(b)) == [], "left by uvci but removed by uv"
    assert sorted(set(b) - set(a)) == [], "removed by uvci but left by uv"
    assert a == b


# What uv's prune deletes at the root but the inspector never does: names uv does not write
# are not ours to delete (issue 12, item 1). They are listed in the plan's "kept".
NOT_UVS = ("stray.txt", "not-a-bucket")


def _both(cache: Path, work: Path, uvr, uvci_args: list[str], uv_args: list[str]) -> None:
    ours = cache
    theirs = copy_cache(cache, work / "theirs")
    proc = uvci("prune", "--yes", "--cache-dir", str(ours), *uvci_args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    uvr.run([*uv_args, "--cache-dir", str(theirs)])
    for name in NOT_UVS:
        if (ours / name).exists():
            assert name in proc.stdout  # listed as left alone
            assert not (theirs / name).exists()
            if (ours / name).is_dir():
                (ours / name).rmdir()
            else:
                (ours / name).unlink()
    _compare(ours, theirs)


def test_default_prune_lived_in_cache(template_cache, world_tmp, uvr):
    cache = _lived_in(template_cache, world_tmp / "cache")
    before = tree_state(cache)
    assert any("sdists-v11" in p and p.count("/") == 5 for p in before)  # revisions exist
    _both(cache, world_tmp, uvr, [], ["cache", "prune"])
    after = tree_state(cache)
    assert len(after) < len(before)


def test_default_prune_with_stale_buckets(uvr, world_tmp):
    old = fixtures.extract("uv-0.12.24")
    cache = copy_cache(old, world_tmp / "cache")
    make_cache(uvr, cache, ["alpha==2.0", "beta", "epsilon"], venv=world_tmp / "venv")
    assert (cache / "wheels-v6").exists() and (cache / "wheels-v8").exists()
    _both(cache, world_tmp, uvr, [], ["cache", "prune"])
    assert not (cache / "wheels-v6").exists()


def test_ci_prune(template_cache, world_tmp, uvr):
    cache = _lived_in(template_cache, world_tmp / "cache")
    _both(cache, world_tmp, uvr, ["--ci"], ["cache", "prune", "--ci"])
    assert not any((cache / "wheels-v8").iterdir())


@pytest.mark.parametrize("package", ["alpha", "epsilon"])
def test_package_on_a_cache_two_releases_share(uvr, world_tmp, package):
    """`uv cache clean NAME` of the newest uv on a cache an older uv wrote too (issue 12 #3)."""
    old = fixtures.extract("uv-0.12.24")
    cache = copy_cache(old, world_tmp / "cache")
    make_cache(uvr, cache, ["alpha==2.0", "beta", "epsilon"], venv=world_tmp / "venv")
    _both(cache, world_tmp, uvr, ["--package", package], ["cache", "clean", package])


@pytest.mark.parametrize("package", ["alpha", "epsilon"])
def test_package_like_uv_cache_clean(template_cache, world_tmp, uvr, package):
    cache = copy_cache(template_cache, world_tmp / "cache")
    _both(cache, world_tmp, uvr, ["--package", package], ["cache", "clean", package])


def test_older_than_and_max_size_keep_uv_working(template_cache, world_tmp, uvr):
    cache = copy_cache(template_cache, world_tmp / "cache")
    old = time.time() - 40 * 86400
    for a in (cache / "archive-v0").iterdir():
        if any(a.glob("alpha-1.0.dist-info")):
            for dirpath, _d, files in os.walk(a):
                for f in files:
                    os.utime(os.path.join(dirpath, f), (old, old))
    proc = uvci("prune", "--yes", "--older-than", "30", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert not any(any(a.glob("alpha-1.0.dist-info")) for a in (cache / "archive-v0").iterdir())
    # The entry that pointed at it went first: no dangling link is left.
    doctor = uvci("doctor", "--json", "--cache-dir", str(cache))
    assert "dangling-link" not in doctor.stdout
    proc = uvci("prune", "--yes", "--max-size", "1", "--cache-dir", str(cache))
    assert proc.returncode == 0
    assert not list((cache / "archive-v0").iterdir())
    venv = world_tmp / "venv"
    uvr.venv(venv, cache)
    assert uvr.pip_install(cache, venv, ["beta", "alpha==1.0"]).returncode == 0
