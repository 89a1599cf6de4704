"""uv issue #11018 repaired: a root-owned archive-v0 (after `sudo uv`) and an orphaned .tmp.

As the user (uid 65534) the dry run changes nothing and shows a privileged chown; as root the
repair fixes it; then real uv installs again as the user, and doctor is clean.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from pathlib import Path

import pytest

from tests.cli.helpers import uvci
from tests.harness.dists import write_wheel
from tests.harness.uvcache import tree_state


@pytest.fixture
def broken(nobody_cache, dists_dir, unprivileged, world_tmp):
    os.chown(nobody_cache / "archive-v0", 0, 0)
    orphan = nobody_cache / ".tmpK1lled"
    orphan.mkdir()
    (orphan / "half-written.py").write_text("x")
    os.chown(orphan, 65534, 65534)
    old = time.time() - 2 * 3600
    os.utime(orphan / "half-written.py", (old, old))
    os.utime(orphan, (old, old))
    venv = world_tmp / "user-venv"
    venv.mkdir()
    os.chown(venv, 65534, 65534)
    made = unprivileged.uv_cmd(
        "venv", "--python", unprivileged.python, "--cache-dir", str(nobody_cache), str(venv)
    )
    assert made.returncode == 0, made.stderr
    write_wheel(dists_dir, "after-repair", "1.0")
    return nobody_cache, venv, orphan


def _install(unprivileged, cache, venv, index_url, package):
    return unprivileged.uv_cmd(
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index_url,
        package,
    )


def test_dry_run_as_user_then_repair_as_root(broken, unprivileged, index):
    cache, venv, orphan = broken
    assert _install(unprivileged, cache, venv, index.url, "after-repair").returncode != 0

    before = tree_state(cache)
    dry = unprivileged.uvci("repair", "--dry-run", "--json", "--cache-dir", str(cache))
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] is True
    chown = [a for a in plan["actions"] if a["kind"] == "chown"]
    assert [a["path"] for a in chown] == [str(cache / "archive-v0")]
    assert chown[0]["needs_privilege"] is True and chown[0]["uid"] == 65534
    assert str(orphan) in [a["path"] for a in plan["actions"] if a["kind"] == "delete"]
    assert tree_state(cache) == before  # the dry run changed nothing

    human = unprivileged.uvci("repair", "--cache-dir", str(cache))
    assert "needs administrator rights" in human.stdout
    assert ("sudo " if shutil.which("sudo") else "su -c ") in human.stdout

    fixed = uvci("repair", "--yes", "--json", "--cache-dir", str(cache))  # as root
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    result = json.loads(fixed.stdout)
    assert all(a["done"] for a in result["actions"])
    assert os.stat(cache / "archive-v0").st_uid == 65534
    assert not orphan.exists()

    assert _install(unprivileged, cache, venv, index.url, "after-repair").returncode == 0
    doctor = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache))
    assert doctor.returncode == 0
    findings = json.loads(doctor.stdout)["findings"]
    assert not [f for f in findings if f["severity"] in {"error", "warning"}], findings


def test_repair_as_user_without_elevation(broken, unprivileged):
    cache, _, orphan = broken
    proc = unprivileged.uvci("repair", "--yes", "--no-elevate", "--json", "--cache-dir", str(cache))
    assert proc.returncode == 1  # the chown could not be done here
    data = json.loads(proc.stdout)
    assert not orphan.exists()  # what the user may do was done
    chown = next(a for a in data["actions"] if a["kind"] == "chown")
    assert chown["done"] is False and "administrator" in chown["error"]
    paste = data["paste_command"]
    assert paste.startswith("sudo " if shutil.which("sudo") else "su -c ")
    assert "--owner nobody" in paste
    assert os.stat(cache / "archive-v0").st_uid == 0
    # The command applies the saved plan of what was left undone (the chown), nothing more.
    words = shlex.split(paste)
    if words[0] == "su":
        words = shlex.split(words[2])
    saved = json.loads(Path(words[words.index("--plan") + 1]).read_text())
    assert [(a["kind"], a["path"]) for a in saved["actions"]] == [
        ("chown", str(cache / "archive-v0"))
    ]
    # Pasted as root, it does that: archive-v0 is the user's again.
    as_root = uvci(*words[words.index("repair") :], "--json")
    assert as_root.returncode == 0, as_root.stdout + as_root.stderr
    assert [a["path"] for a in json.loads(as_root.stdout)["actions"]] == [str(cache / "archive-v0")]
    assert os.stat(cache / "archive-v0").st_uid == 65534


def test_privileged_helper_applies_only_what_a_fresh_plan_wants(broken, world_tmp):
    """A saved plan that also asks to chown something else is cut down to the fresh plan."""
    cache, _, _ = broken
    from uv_cache_inspector.core.actions.model import Action, Expect, Plan

    victim = cache / "wheels-v8"
    forged = Plan(
        str(cache),
        "repair",
        [
            Action(
                "chown",
                str(cache / "archive-v0"),
                0,
                True,
                "x",
                "ownership",
                "chown",
                expect=Expect.of(str(cache / "archive-v0")),
                uid=65534,
                gid=65534,
                recursive=True,
            ),
            Action(
                "chown",
                str(victim),
                0,
                True,
                "forged",
                "ownership",
                "chown",
                expect=Expect.of(str(victim)),
                uid=0,
                gid=0,
                recursive=True,
            ),
        ],
        for_uid=65534,
    )
    plan_file = world_tmp / "plan.json"
    plan_file.write_text(forged.dump())
    proc = uvci(
        "repair",
        "--yes",
        "--json",
        "--cache-dir",
        str(cache),
        "--plan",
        str(plan_file),
        env={"SUDO_UID": "65534"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert [a["path"] for a in data["actions"]] == [str(cache / "archive-v0")]
    assert any("dropped" in w for w in data["warnings"])
    assert os.stat(victim).st_uid == 65534  # the forged chown to root did not happen
