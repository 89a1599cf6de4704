"""uv issue #11018 ("failed to rename file ... Permission denied (os error 13)"), reproduced
with real uv by one of its known causes (a root-owned archive-v0 after a `sudo uv`), diagnosed
and explained from the user's side, as uid 65534."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.harness.dists import write_wheel


@pytest.fixture
def root_owned_archive(nobody_cache, dists_dir, unprivileged, world_tmp):
    """The user's cache after `sudo uv ...` left archive-v0 owned by root, and the failing
    install uv then prints for the user."""
    os.chown(nobody_cache / "archive-v0", 0, 0)
    write_wheel(dists_dir, "zeta-11018", "1.0", native=True)
    venv = world_tmp / "user-venv"
    venv.mkdir()
    os.chown(venv, 65534, 65534)
    return nobody_cache, venv


def test_uv_fails_then_doctor_and_explain_name_the_cause(root_owned_archive, unprivileged, index):
    cache, venv = root_owned_archive
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(cache), str(venv)
    )
    assert made.returncode == 0, made.stderr
    install = unprivileged.uv_cmd(
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index.url,
        "zeta-11018",
    )
    # uv's own words, as in the issue.
    assert install.returncode != 0
    assert "Failed to write to the distribution cache" in install.stderr
    assert re.search(
        r"failed to rename file from \S+/\.tmp\w+ to \S+/archive-v0/\S+: "
        r"Permission denied \(os error 13\)",
        install.stderr,
    ), install.stderr

    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    assert doctor.returncode == 1, doctor.stderr
    findings = json.loads(doctor.stdout)["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    assert [f["code"] for f in errors] == ["foreign-owner"]
    assert errors[0]["path"] == str(cache / "archive-v0")
    assert errors[0]["details"]["uid"] == 0 and errors[0]["details"]["uv_uid"] == 65534
    assert "rename" in errors[0]["message"]

    explain = unprivileged.uvci(
        "explain", "--json", "--cache-dir", str(cache), "-", input=install.stderr
    )
    assert explain.returncode == 1, explain.stderr
    data = json.loads(explain.stdout)
    first = data["findings"][0]
    assert first["code"] == "foreign-owner"
    assert first["path"] == str(cache / "archive-v0")
    assert first["message"].startswith("rename needs write access to archive-v0")
    assert "root (uid 0" in first["message"] and "uid 65534" in first["message"]
    assert data["failures"][0]["operation"] == "rename"
    assert data["failures"][0]["errno"] == 13


def test_human_output_leads_with_the_cause(root_owned_archive, unprivileged):
    cache, _ = root_owned_archive
    doctor = unprivileged.uvci("doctor", "--cache-dir", str(cache))
    assert doctor.returncode == 1
    first = doctor.stdout.split("\n\n", 1)[1]
    assert first.startswith("ERROR foreign-owner")
    assert "uvci repair" in doctor.stdout
    assert "sudo chown" not in doctor.stdout  # files here may be linked into root's envs
