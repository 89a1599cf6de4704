"""Safety against the world (issue 12): folders that are not caches, caches shared by uv
releases, names uv never writes. Each test drives real uv where uv is involved."""

from __future__ import annotations

import json
import os
import sys
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
