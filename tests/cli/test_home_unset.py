"""With HOME unset, uv takes the home folder from the user database; so do we, and we show
that path, not a `~` that would name another folder in the user's shell."""

from __future__ import annotations

import pwd
import subprocess

from tests.harness.privs import NOBODY_UID, setpriv_prefix
from uv_cache_inspector.core import fmt


def test_home_unset_shows_the_real_path(unprivileged):
    env = unprivileged.env()
    del env["HOME"]
    home = pwd.getpwuid(NOBODY_UID).pw_dir  # /nonexistent on Debian

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*setpriv_prefix(), *cmd], env=env, cwd="/", capture_output=True, text=True, check=False
        )

    uv_dir = run(unprivileged.uv, "cache", "dir").stdout.strip()
    assert uv_dir == f"{home}/.cache/uv"
    doctor = run(unprivileged.python, "-m", "uv_cache_inspector", "doctor", "--quick")
    first = (doctor.stdout + doctor.stderr).strip().splitlines()[0]
    assert uv_dir in first, doctor.stdout + doctor.stderr
    assert "HOME is not set" in first
    assert "~/.cache/uv (" not in first.split(" (")[0]


def test_user_path_abbreviates_only_under_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ann")
    assert fmt.user_path("/home/ann/.cache/uv") == "~/.cache/uv"
    assert fmt.user_path("/home/anna/x") == "/home/anna/x"
    monkeypatch.delenv("HOME")
    assert fmt.user_path("/home/ann/.cache/uv") == "/home/ann/.cache/uv"
    assert fmt.plural(1, "archive") == "1 archive"
    assert fmt.plural(1200, "folder") == "1,200 folders"
    assert fmt.plural(2, "entry", "entries") == "2 entries"
