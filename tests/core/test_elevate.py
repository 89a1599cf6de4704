"""The command offered when no password prompt can open, and why none opened."""

from __future__ import annotations

import shlex

from uv_cache_inspector.core.actions import elevate


def _which(*present: str):  # type: ignore[no-untyped-def]
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_paste_command_applies_the_saved_plan_only():
    cmd = elevate.paste_command(
        "/home/ann/.cache/uv", "ann", "/tmp/uvci-plan-1.json", which=_which("sudo", "uvci")
    )
    assert shlex.split(cmd) == [
        "sudo",
        "/usr/bin/uvci",
        "repair",
        "--cache-dir",
        "/home/ann/.cache/uv",
        "--plan",
        "/tmp/uvci-plan-1.json",
        "--owner",
        "ann",
        "--yes",
    ]
    # Without a plan file: a whole repair (what `uvci repair` without --yes shows as its plan).
    assert "--plan" not in elevate.paste_command("/c", "ann", which=_which("sudo"))


def test_without_sudo_it_is_su():
    cmd = elevate.paste_command("/my cache", "ann", "/tmp/p.json", which=_which())
    words = shlex.split(cmd)
    assert words[:2] == ["su", "-c"]
    assert shlex.split(words[2]) == [
        "uvci",
        "repair",
        "--cache-dir",
        "/my cache",
        "--plan",
        "/tmp/p.json",
        "--owner",
        "ann",
        "--yes",
    ]


def test_why_no_password_prompt_came():
    why = elevate.why_no_prompt({"DISPLAY": ":0"}, which=_which("sudo"), platform="linux")
    assert "pkexec" in why and "not installed" in why and "sudo asks in a terminal" in why
    why = elevate.why_no_prompt({"DISPLAY": ":0"}, which=_which(), platform="linux")
    assert "sudo is not installed either" in why and "root" in why
    why = elevate.why_no_prompt({}, which=_which("pkexec", "sudo"), platform="linux")
    assert "no graphical session" in why
    assert "osascript" in elevate.why_no_prompt({}, which=_which(), platform="darwin")
