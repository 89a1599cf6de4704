"""Caches the real uv.exe wrote under Wine, committed (tests/fixtures/make_wine_fixture_caches.py):
read on Linux without Wine, as a WSL user reads the Windows cache. Their manifests hold uv.exe's
own record: what it installed from which archive (by inode), and every path its `cache prune`
removed. tests/windows/ does the same live, where Wine is installed."""

from __future__ import annotations

import os
import re

import pytest

from tests.cli.helpers import uvci, uvci_json
from tests.harness import fixtures

FIXTURES = ["uv-exe-0.8.24", "uv-exe-0.12.24", "uv-exe-0.13.9"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _paths(root) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


@pytest.mark.parametrize("name", FIXTURES)
def test_scan_reads_uv_exe_caches_as_windows(name, world_tmp):
    m = fixtures.manifest(name)
    cache = fixtures.extract(name, world_tmp)
    assert not [p for p in cache.rglob("*") if p.is_symlink()]
    code, data = uvci_json("scan", "--cache-dir", str(cache))
    assert code == 0
    assert data["layout"]["layout"] == "windows"
    assert data["layout"]["source"] == "detected"
    assert data["layout"]["symlinks"] == 0
    assert data["entries"]
    assert {(e["link_kind"], e["state"]) for e in data["entries"]} == {("file", "ok")}
    by_id = {a["id"]: a for a in data["archives"]}
    assert {i: (by_id[i]["package"], by_id[i]["version"]) for i in m["archives"]} == {
        i: (_norm(n), v) for i, (n, v) in m["archives"].items()
    }
    removed = {p.split("/")[1] for p in m["pruned_paths"] if p.startswith("archive-v0/")}
    referenced = {a["id"] for a in data["archives"] if a["referenced"]}
    # What the scan calls referenced is what uv.exe's prune kept.
    assert referenced == set(by_id) - removed
    if m["uv_version"] == m["pruned_by"].split()[1]:  # written by the uv.exe that pruned
        assert set(m["orphans"]) <= removed and referenced


@pytest.mark.parametrize("name", FIXTURES)
def test_prune_removes_what_uv_exe_removed(name, world_tmp):
    m = fixtures.manifest(name)
    cache = fixtures.extract(name, world_tmp)
    before = _paths(cache)
    _, plan = uvci_json("prune", "--dry-run", "--cache-dir", str(cache))
    assert plan["actions"]
    proc = uvci("prune", "--yes", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(before - _paths(cache)) == m["pruned_paths"]
    _, doctor = uvci_json("doctor", "--cache-dir", str(cache))
    assert not {f["code"] for f in doctor["findings"]} & {
        "dangling-link",
        "unreferenced-archive",
        "corrupt-entry",
    }


def test_repair_removes_a_dangling_link_file(world_tmp):
    """A Windows link file naming an archive that is gone: doctor names it, repair removes
    exactly that file (uv.exe then fetches the wheel again, tests/windows shows it)."""
    cache = fixtures.extract("uv-exe-0.13.9", world_tmp)
    link = next((cache / "wheels-v8").glob("index/*/beta/1.0-py3-none-any"))
    link.write_bytes(b"archive-v0/Gone0000Gone0000")
    before = _paths(cache)
    _, doctor = uvci_json("doctor", "--cache-dir", str(cache))
    assert [f["path"] for f in doctor["findings"] if f["code"] == "dangling-link"] == [str(link)]
    proc = uvci("repair", "--yes", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert before - _paths(cache) == {str(link.relative_to(cache))}
    _, doctor = uvci_json("doctor", "--cache-dir", str(cache))
    assert "dangling-link" not in {f["code"] for f in doctor["findings"]}
