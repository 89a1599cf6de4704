"""An edit in a venv leaks into uv's cache through hard links, and verify finds it (issue 17).

uv installs by hard-linking files out of `archive-v0` (hardlink link mode here, as on ext4 with
uv's default). Editing a file in place in one environment (open for writing, no rename) edits
the cache's copy, and `uv pip uninstall` plus `uv pip install` brings the edit back (uv issues
#10579, #10896, #15700). After `uvci verify --fix --yes` the archive is gone and the next install
unpacks a pristine copy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.helpers import uvci
from tests.harness.uvcache import tree_state
from tests.harness.uvproc import uv_holding_lock


def _site(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def _edit_in_place(path: Path) -> bytes:
    """What an editor that writes in place does: same inode, new bytes (same size here, so
    only the hash can tell)."""
    data = path.read_bytes()
    edited = data.replace(b"x = 1", b"x = 2", 1)
    assert edited != data
    with open(path, "r+b") as fh:
        fh.write(edited)
    return edited


def test_an_edit_in_one_venv_is_found_fixed_and_the_next_install_is_pristine(
    real_cache, template, uvr, world_tmp
):
    env = {"UVCI_STATE_DIR": str(world_tmp / "state"), "UVCI_JOURNAL_DIR": str(world_tmp / "j")}
    venv_a = uvr.venv(world_tmp / "venv-a", real_cache)
    venv_b = uvr.venv(world_tmp / "venv-b", real_cache)
    for venv in (venv_a, venv_b):
        uvr.pip_install(real_cache, venv, ["alpha==2.0"])
    file_a = _site(venv_a) / "alpha" / "m1.py"
    file_b = _site(venv_b) / "alpha" / "m1.py"
    pristine = file_a.read_bytes()
    assert file_a.stat().st_ino == file_b.stat().st_ino  # one inode, through the cache
    links = file_a.stat().st_nlink

    edited = _edit_in_place(file_a)
    assert file_b.read_bytes() == edited  # the other venv has it too

    args = ["verify", "--json", "--cache-dir", str(real_cache)]
    proc = uvci(*args, "--venv", str(venv_a), "--venv", str(venv_b), env=env)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    (m,) = data["modified"]
    assert (m["package"], m["version"]) == ("alpha", "2.0")
    (f,) = m["files"]
    assert (f["path"], f["change"]) == ("alpha/m1.py", "modified")
    # The archive's own name, both venvs, and the cached `uv run --with alpha==2.0`
    # environment of the template share the edited file.
    env_archive = str(real_cache / "archive-v0" / template.environment)
    assert f["links"] == links == 4
    assert set(f["places"]) == {str(venv_a), str(venv_b), env_archive}
    assert m["cached_environments"] == [env_archive]
    (finding,) = data["findings"]
    assert finding["code"] == "modified-archive" and finding["severity"] == "error"
    assert finding["path"] == m["path"]
    assert "alpha/m1.py modified" in finding["message"]

    # Doctor (without hashing) says so too, and when the cache was verified.
    proc = uvci("doctor", "--quick", "--json", "--cache-dir", str(real_cache), env=env)
    assert proc.returncode == 1, proc.stderr
    codes = {f["code"]: f for f in json.loads(proc.stdout)["findings"]}
    assert codes["modified-archive"]["path"] == m["path"]
    assert "last verified" in codes["last-verified"]["message"]

    # The bug: uninstall and install again, and the edit comes back from the cache.
    uvr.run(["pip", "uninstall", "--python", str(venv_b / "bin" / "python"), "alpha"])
    uvr.pip_install(real_cache, venv_b, ["alpha==2.0"])
    assert file_b.read_bytes() == edited

    # The fix: links first, then the archive; the cached environment sharing the edit goes too.
    proc = uvci(*args, "--fix", "--yes", env=env)
    assert proc.returncode == 1, proc.stderr  # something was modified (and is now fixed)
    fix = json.loads(proc.stdout)["fix"]
    assert fix["actions"] and all(a["done"] for a in fix["actions"]), fix
    removed = [a["path"] for a in fix["actions"]]
    assert removed.index(m["path"]) > max(
        i for i, p in enumerate(removed) if "wheels-v" in p
    )  # the links before the archive
    assert not os.path.exists(m["path"]) and not os.path.exists(env_archive)
    assert file_a.read_bytes() == edited  # environments keep the edit until reinstalled

    # The next install unpacks a fresh copy: pristine.
    uvr.run(["pip", "uninstall", "--python", str(venv_b / "bin" / "python"), "alpha"])
    uvr.pip_install(real_cache, venv_b, ["alpha==2.0"])
    assert file_b.read_bytes() == pristine
    uvr.pip_install(real_cache, venv_a, ["alpha==2.0"], "--reinstall-package", "alpha")
    assert file_a.read_bytes() == pristine

    proc = uvci(*args, env=env)
    assert proc.returncode == 0, proc.stdout
    proc = uvci("doctor", "--quick", "--json", "--cache-dir", str(real_cache), env=env)
    assert "modified-archive" not in {f["code"] for f in json.loads(proc.stdout)["findings"]}
    # uv still uses the cache: the cached environment comes back on demand.
    uvr.run_with(real_cache, "alpha==2.0", "import alpha.m1; assert alpha.m1.x == 1", world_tmp)


def test_verify_names_the_command_and_the_plan_before_acting(real_cache, uvr, world_tmp):
    env = {"UVCI_STATE_DIR": str(world_tmp / "state")}
    venv = uvr.venv(world_tmp / "venv", real_cache)
    uvr.pip_install(real_cache, venv, ["beta==1.0"])
    _edit_in_place(_site(venv) / "beta" / "m1.py")
    before = sorted(os.listdir(real_cache / "archive-v0"))
    proc = uvci("verify", "--fix", "--cache-dir", str(real_cache), "--venv", str(venv), env=env)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "MODIFIED beta 1.0" in out and "beta/m1.py" in out
    assert f"also in {venv}" in out
    assert "uvci verify --fix --yes" in out
    assert f"uv pip install --python {venv} --reinstall-package beta beta==1.0" in out
    assert sorted(os.listdir(real_cache / "archive-v0")) == before  # only planned


def test_the_fix_waits_for_uv(real_cache, uvr, uv_bin, test_python, world_tmp):
    """While uv holds the cache lock, `--fix --yes` changes nothing and exits 3 (as prune)."""
    env = {"UVCI_STATE_DIR": str(world_tmp / "state"), "UVCI_JOURNAL_DIR": str(world_tmp / "j")}
    venv = uvr.venv(world_tmp / "venv", real_cache)
    uvr.pip_install(real_cache, venv, ["delta"])
    _edit_in_place(_site(venv) / "delta" / "m1.py")
    before = tree_state(real_cache)
    with uv_holding_lock(uv_bin, real_cache, test_python):
        proc = uvci("verify", "--fix", "--yes", "--cache-dir", str(real_cache), env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "nothing was" in proc.stderr
    assert tree_state(real_cache) == before
