"""The POSIX access model (pure), checked against what the kernel does for uid 65534."""

from __future__ import annotations

import os

import pytest

from uv_cache_inspector.core.model import Owner
from uv_cache_inspector.core.platform.access import (
    UvUser,
    explain_denial,
    is_shared,
    may,
    missing,
    requirement,
    resolve_user,
    sticky_blocks,
)

ALICE = UvUser(1000, 1000, frozenset({1000, 50}), "alice", "you")
ROOT = UvUser(0, 0, frozenset({0}), "root", "you")


def test_owner_group_other_bits():
    assert may(Owner(1000, 1000, 0o700), ALICE, "rwx")
    assert not may(Owner(0, 0, 0o755), ALICE, "w")
    assert may(Owner(0, 0, 0o755), ALICE, "rx")
    assert may(Owner(0, 50, 0o2775), ALICE, "rwx")  # group member, group-writable
    assert not may(Owner(0, 51, 0o2775), ALICE, "w")
    assert missing(Owner(0, 0, 0o755), ALICE, "rwx") == "w"
    assert missing(Owner(1000, 1000, 0o555), ALICE, "rwx") == "w"
    assert missing(Owner(0, 0, 0o700), ALICE, "rx") == "rx"


def test_root_passes_except_exec_on_plain_files():
    assert may(Owner(1000, 1000, 0o000), ROOT, "rw")
    assert may(Owner(1000, 1000, 0o000, is_dir=True), ROOT, "rwx")
    assert not may(Owner(1000, 1000, 0o644, is_dir=False), ROOT, "x")


def test_sticky_and_shared():
    tmp = Owner(0, 0, 0o1777)
    assert sticky_blocks(tmp, Owner(2000, 2000, 0o755), ALICE)
    assert not sticky_blocks(tmp, Owner(1000, 1000, 0o755), ALICE)
    assert not sticky_blocks(Owner(0, 0, 0o777), Owner(2000, 2000, 0o755), ALICE)
    assert is_shared(Owner(0, 50, 0o2775)) and not is_shared(Owner(0, 50, 0o775))


def test_denial_names_owner_mode_and_what_is_missing():
    text = explain_denial("/c/archive-v0", Owner(0, 0, 0o755), ALICE, "rwx")
    assert "uid 0" in text and "0755" in text and "uid 1000" in text
    assert "lacks write permission" in text


@pytest.mark.parametrize(
    ("rel", "is_dir", "need"),
    [
        ((), True, "rwx"),
        ((".lock",), False, "rw"),
        (("archive-v0",), True, "rwx"),
        (("archive-v0", "abc"), True, "rx"),
        (("archive-v0", "abc", "pkg", "x.py"), False, "r"),
        (("wheels-v8",), True, "rwx"),
        (("wheels-v8", "pypi", "six"), True, "rwx"),
        (("wheels-v8", "pypi", "six", "1.0-py3-none-any.lock"), False, "rw"),
        (("sdists-v11", "pypi", "x", "1.0", "rev", "src", "mod"), True, "rx"),
        ((".tmpAbc123",), True, ""),
    ],
)
def test_requirements(rel, is_dir, need):
    assert requirement(rel, is_dir)[0] == need


def test_resolve_user(tmp_path):
    explicit = resolve_user(None, "65534")
    assert explicit.uid == 65534 and explicit.how == "--owner"
    assert resolve_user(None, "nobody").uid == 65534
    if os.geteuid() == 0:
        assert resolve_user(None, None, {"SUDO_UID": "65534"}).uid == 65534
        assert resolve_user(Owner(65534, 65534, 0o755), None, {}).uid == 65534
        assert resolve_user(Owner(0, 0, 0o755), None, {}).uid == 0


def test_model_agrees_with_the_kernel(world_tmp, unprivileged):
    """For each mode, what the model says uid 65534 may do is what the kernel allows."""
    nobody = resolve_user(None, "65534")
    for mode in (0o755, 0o775, 0o777, 0o700, 0o555, 0o1777):
        d = world_tmp / f"d{mode:o}"
        d.mkdir()
        os.chown(d, 0, 0)
        d.chmod(mode)
        proc = unprivileged.run(
            ["/bin/sh", "-c", f"mkdir {d}/probe && rmdir {d}/probe"], cwd=world_tmp
        )
        kernel_allows = proc.returncode == 0
        assert may(Owner(0, 0, mode), nobody, "wx") == kernel_allows, oct(mode)
