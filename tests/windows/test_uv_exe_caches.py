"""Caches written by the real uv.exe under Wine, read by the inspector on Linux (as from WSL):
the layout comes from the cache, and scan, doctor and prune agree with uv.exe itself."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli.helpers import uvci, uvci_json
from tests.harness import wine
from tests.harness.uvcache import tree_state

RELEASES = [wine.NEWEST, wine.OLDER]
LINK_FILE = re.compile(rb"archive-v0/[A-Za-z0-9_-]{16,21}")
SIDE = {".lock", ".http", ".rev", ".msgpack", ".whl"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _link_files(cache: Path) -> list[Path]:
    out = []
    for bucket in cache.iterdir():
        if not re.match(r"(wheels|sdists|environments)-v\d+$", bucket.name):
            continue
        for dirpath, dirnames, filenames in os.walk(bucket):
            dirnames[:] = [d for d in dirnames if d != "src"]
            out += [
                Path(dirpath, f)
                for f in filenames
                if not f.startswith(".") and Path(f).suffix not in SIDE
            ]
    return sorted(out)


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_uv_exe_writes_link_files_not_symlinks(windows_cache, release):
    wc = windows_cache(release)
    symlinks = [p for p in wc.cache.rglob("*") if p.is_symlink()]
    assert symlinks == []
    links = _link_files(wc.cache)
    assert links, "uv.exe wrote no link files"
    archives = set(os.listdir(wc.cache / "archive-v0"))
    for p in links:
        data = p.read_bytes()
        # UTF-8 `archive-v0/<id>`: forward slash, no newline (docs/uv-cache-format.md §3).
        assert LINK_FILE.fullmatch(data), (p, data)
        assert data.decode().split("/")[1] in archives


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_scan_on_linux_reads_the_windows_layout(windows_cache, copy_of, uvr, release):
    wc = windows_cache(release)
    cache = copy_of(wc)
    code, data = uvci_json("scan", "--cache-dir", str(cache))
    assert code == 0
    assert data["layout"] == {
        "layout": "windows",
        "source": "detected",
        "symlinks": 0,
        "link_files": len(_link_files(cache)),
    }
    assert data["entries"]
    assert {e["link_kind"] for e in data["entries"]} == {"file"}
    assert {e["state"] for e in data["entries"]} == {"ok"}
    # Package mapping: what the scan says each archive holds is what uv.exe installed from it.
    by_id = {a["id"]: a for a in data["archives"]}
    assert {i: (by_id[i]["package"], by_id[i]["version"]) for i in wc.installed} == {
        i: (_norm(n), v) for i, (n, v) in wc.installed.items()
    }
    # Sizes: allocated bytes, as Linux uv counts this very tree.
    assert data["total_bytes"] == uvr.cache_size(cache)
    referenced = {a["id"] for a in data["archives"] if a["referenced"]}
    if release == wine.NEWEST:
        assert referenced == set(wc.installed) - wc.orphans
        assert wc.orphans and not referenced & wc.orphans
    else:
        # Its buckets are an older uv's: the newest uv's prune drops them first, so their links
        # keep nothing, and the scan says where they are.
        assert referenced == set()
        assert all(by_id[i]["stale_referrers"] for i in set(wc.installed) - wc.orphans)
    # Forced to read it as a Unix cache, it is what Linux uv sees: nothing linked.
    code, as_unix = uvci_json("scan", "--layout", "unix", "--cache-dir", str(cache))
    assert as_unix["layout"]["layout"] == "unix"
    assert not any(a["referenced"] for a in as_unix["archives"])


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_doctor_and_prune_plan_agree_with_uv_exe(windows_cache, windows_world, copy_of, release):
    wc = windows_cache(release)
    cache = copy_of(wc, "ours")
    theirs = copy_of(wc, "theirs")
    before = set(os.listdir(cache / "archive-v0"))
    wine.uv_exe_prune(windows_world, theirs)
    removed_by_uv = before - set(os.listdir(theirs / "archive-v0"))
    assert removed_by_uv < before if release == wine.NEWEST else removed_by_uv == before
    code, doctor = uvci_json("doctor", "--cache-dir", str(cache))
    codes = {f["code"] for f in doctor["findings"]}
    assert not codes & {"dangling-link", "corrupt-entry", "link-outside-cache"}, doctor
    unref = [f for f in doctor["findings"] if f["code"] == "unreferenced-archive"]
    # The newest: the orphan of the --reinstall and the cached environment, what uv.exe
    # collects. The older: its buckets are stale, so every archive goes.
    assert unref and unref[0]["count"] == len(removed_by_uv)
    code, plan = uvci_json("prune", "--dry-run", "--cache-dir", str(cache))
    assert code == 0
    planned = {
        os.path.basename(a["path"])
        for a in plan["actions"]
        if os.path.dirname(a["path"]) == str(cache / "archive-v0")
    }
    assert planned == removed_by_uv


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ([], ["cache", "prune"]),
        (["--ci"], ["cache", "prune", "--ci"]),
        (["--package", "alpha"], ["cache", "clean", "alpha"]),
    ],
    ids=["prune", "prune-ci", "clean-alpha"],
)
@pytest.mark.parametrize("release", RELEASES)
def test_prune_on_linux_leaves_what_uv_exe_leaves(
    windows_cache, windows_world, copy_of, release, ours, theirs
):
    wc = windows_cache(release)
    mine = copy_of(wc, "ours")
    other = copy_of(wc, "theirs")
    # uv 0.6 takes no cache lock and writes no .lock: then uvci refuses while any uv runs on
    # this machine (other tests' uv), and --force is the user's explicit override.
    force = ["--force"] if not (mine / ".lock").exists() else []
    proc = uvci("prune", "--yes", "--cache-dir", str(mine), *force, *ours)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if theirs[1] == "prune":
        wine.uv_exe_prune(windows_world, other, *theirs[2:])
    else:
        windows_world.uv(wine.NEWEST, [*theirs, "--cache-dir", wine.winpath(other)])
    a, b = tree_state(mine), tree_state(other)
    if force:
        # uv.exe created the lock file it prunes under; nothing else may differ.
        assert b.pop(".lock")[0] == "file"
    assert sorted(set(a) - set(b)) == [], "left by uvci but removed by uv.exe"
    assert sorted(set(b) - set(a)) == [], "removed by uvci but left by uv.exe"
    assert a == b


def test_after_repair_on_linux_uv_exe_installs_again(windows_cache, windows_world, copy_of, index):
    """A link file naming a vanished archive, repaired from Linux: uv.exe still installs the
    package afterwards (it finds the archive through the entry's `.http` pointer; the link
    file is what its prune counts)."""
    wc = windows_cache(wine.NEWEST)
    cache = copy_of(wc)
    link = next((cache / "wheels-v8").glob("index/*/beta/1.0-py3-none-any"))
    link.write_bytes(b"archive-v0/Gone0000Gone0000")
    proc = uvci("repair", "--yes", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not link.exists()
    venv = cache.parent / "venv"
    windows_world.uv(
        wine.NEWEST,
        [
            "venv",
            "--python",
            wine.winpath(windows_world.python),
            "--cache-dir",
            wine.winpath(cache),
            wine.winpath(venv),
        ],
    )
    windows_world.uv(
        wine.NEWEST,
        [
            "pip",
            "install",
            "--cache-dir",
            wine.winpath(cache),
            "--python",
            wine.winpath(venv / "Scripts" / "python.exe"),
            "--index-url",
            index.url,
            "beta==1.0",
        ],
    )
    assert (venv / "Lib" / "site-packages" / "beta-1.0.dist-info" / "METADATA").exists()
    _, data = uvci_json("doctor", "--cache-dir", str(cache))
    assert "dangling-link" not in {f["code"] for f in data["findings"]}
