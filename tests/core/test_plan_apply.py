"""Plans and their execution on real caches: what is planned, what is freed, what is refused."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from tests.harness.uvcache import make_cache, tree_state
from uv_cache_inspector.core.actions import apply as ap
from uv_cache_inspector.core.actions.model import ORDER, Action, Expect, Plan, PrunePolicy
from uv_cache_inspector.core.actions.prune import prune_plan
from uv_cache_inspector.core.actions.repair import repair_plan
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan
from uv_cache_inspector.core.errors import CacheInUseError, NotACacheError, UnsafeTargetError

NEWEST = buckets_for((0, 13, 9))


def _apply(plan, **kw):
    kw.setdefault("journal", None)
    gen = ap.apply(plan, **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def test_prune_plan_of_a_lived_in_cache(real_cache, template):
    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    cats = {a.category for a in plan.actions}
    assert {"environment", "unreferenced"} <= cats
    archives = {os.path.basename(a.path) for a in plan.actions if a.step == "archive"}
    assert archives == template.orphans | {template.environment}
    # Ordered: links and entries before archives.
    steps = [ORDER[a.step] for a in plan.ordered()]
    assert steps == sorted(steps)
    env_archive = next(a for a in plan.actions if os.path.basename(a.path) == template.environment)
    assert env_archive.shared_bytes > 0 and env_archive.bytes < env_archive.logical_bytes


def test_plan_json_round_trip(real_cache):
    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    again = Plan.load(plan.dump())
    assert [a.path for a in again.actions] == [a.path for a in plan.actions]
    assert again.actions[0].expect == plan.actions[0].expect
    data = plan.to_json()
    assert data["dry_run"] is True and data["freed_bytes"] == plan.freed_bytes
    assert set(data["actions"][0]) >= {"kind", "path", "bytes", "needs_privilege", "done", "error"}
    with pytest.raises(Exception, match="not a plan"):
        Plan.load("{not json")


def test_hard_linked_files_free_nothing_now(uvr, world_tmp):
    """alpha's files are hard-linked from a venv that still exists: removing its archive frees
    nothing until the venv goes, and the plan says so."""
    cache = make_cache(
        uvr, world_tmp / "cache", ["alpha==2.0"], venv=world_tmp / "venv", keep_venv=True
    )
    snap = run_scan(str(cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST, PrunePolicy(packages=("alpha",)))
    (archive,) = [a for a in plan.actions if a.step == "archive"]
    assert archive.shared_bytes > 0
    assert archive.bytes < archive.logical_bytes / 2
    result = _apply(plan)
    assert not result.failed
    assert (world_tmp / "venv").exists()
    assert any((world_tmp / "venv").rglob("alpha/__init__.py"))  # the venv keeps working


def test_refuses_what_is_not_a_cache(world_tmp):
    (world_tmp / "precious.txt").write_text("keep me")
    with pytest.raises(NotACacheError):
        ap.check_target(str(world_tmp))
    for bad in ("/", os.path.expanduser("~"), "/usr", "/tmp"):
        with pytest.raises(UnsafeTargetError):
            ap.check_target(bad)
    link = world_tmp / "link-to-root"
    link.symlink_to("/")
    with pytest.raises(UnsafeTargetError):
        ap.check_target(str(link))


def test_an_action_whose_target_changed_is_skipped(real_cache):
    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    victim = next(a for a in plan.actions if a.step == "archive")
    # Replace the archive by a symlink to something outside: the plan saw a directory.
    outside = real_cache.parent / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    subprocess.run(["rm", "-rf", victim.path], check=True)
    os.symlink(outside, victim.path)
    result = _apply(plan)
    skipped = [r for r in result.results if r.skipped]
    assert [r.action.path for r in skipped] == [victim.path]
    assert (outside / "keep").read_text() == "x"
    assert os.path.islink(victim.path)


def test_a_symlinked_parent_is_not_followed(real_cache, world_tmp):
    """archive-v0 swapped for a link after planning: nothing is deleted through it."""
    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    moved = world_tmp / "moved-archive"
    os.rename(real_cache / "archive-v0", moved)
    os.symlink(moved, real_cache / "archive-v0")
    before = tree_state(moved)
    result = _apply(plan)
    assert all(r.skipped for r in result.results if r.action.step == "archive")
    assert tree_state(moved) == before


def test_lock_held_means_nothing_is_done(real_cache, uv_bin, test_python):
    from tests.harness.uvproc import uv_holding_lock

    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    before = tree_state(real_cache)
    with uv_holding_lock(uv_bin, real_cache, test_python), pytest.raises(CacheInUseError) as err:
        _apply(plan)
    assert "uv run" in str(err.value)
    assert tree_state(real_cache) == before


def test_journal_records_every_action(real_cache, world_tmp):
    snap = run_scan(str(real_cache), bucket_set=NEWEST)
    plan = prune_plan(snap, NEWEST)
    result = _apply(plan, journal=str(world_tmp / "journal"))
    with open(result.journal, encoding="utf-8") as fh:
        lines = [json.loads(x) for x in fh]
    assert lines[0]["event"] == "begin" and lines[-1]["event"] == "end"
    assert sum(1 for x in lines if x["event"] == "done") == len(plan.actions)
    assert lines[-1]["freed_bytes"] == result.freed_bytes > 0


def test_chmod_and_chown_never_follow_links(real_cache, world_tmp):
    outside = world_tmp / "outside.txt"
    outside.write_text("x")
    outside.chmod(0o600)
    os.chown(outside, 0, 0)
    d = real_cache / "wheels-v8" / "locked"
    d.mkdir()
    (d / "escape").symlink_to(outside)
    (d / "f").write_text("y")
    d.chmod(0o500)
    exp = Expect.of(str(d))
    chmod = Action(
        "chmod",
        str(d),
        0,
        False,
        "t",
        "mode",
        "chmod",
        expect=exp,
        add_mode=0o700,
        add_file_mode=0o644,
        recursive=True,
    )
    chown = Action(
        "chown",
        str(d),
        0,
        False,
        "t",
        "ownership",
        "chown",
        expect=exp,
        uid=65534,
        gid=65534,
        recursive=True,
    )
    result = _apply(Plan(str(real_cache), "repair", [chmod, chown]))
    assert not result.failed, [r.error for r in result.failed]
    st = os.stat(outside)
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, 0)  # untouched
    assert os.lstat(d / "escape").st_uid == 65534  # the link itself changed hands
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700 and os.stat(d / "f").st_uid == 65534


def test_repair_plan_keeps_deletes_below_an_ownership_fix(real_cache):
    """Regression: a chown of the root once swallowed every delete planned below it."""
    from uv_cache_inspector.core.diagnosis.engine import diagnose

    orphan = real_cache / ".tmpStale01"
    orphan.mkdir()
    os.utime(orphan, (1, 1))
    gen = diagnose(str(real_cache), bucket_set=NEWEST, binaries=[], owner="65534")
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            diag = stop.value
            break
    plan = repair_plan(diag.snapshot, diag.findings, 65534, 65534, str(real_cache))
    kinds = {(a.kind, a.path) for a in plan.actions}
    assert ("chown", str(real_cache)) in kinds
    assert ("delete", str(orphan)) in kinds


def test_repair_plan_does_not_fix_owners_of_what_it_deletes(nobody_cache):
    """A root-owned orphan (left by `sudo uv`) is deleted, not first given back to the user."""
    from uv_cache_inspector.core.diagnosis.engine import diagnose

    os.chown(nobody_cache / "archive-v0", 0, 0)
    orphan = nobody_cache / ".tmpSudo01"
    (orphan / "pkg").mkdir(parents=True)
    for p in (orphan / "pkg", orphan):
        os.utime(p, (1, 1))
    gen = diagnose(str(nobody_cache), bucket_set=NEWEST, binaries=[])
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            diag = stop.value
            break
    codes = {(f.code, f.path) for f in diag.findings}
    assert ("foreign-owner", str(orphan)) in codes and ("orphaned-tmp", str(orphan)) in codes
    plan = repair_plan(diag.snapshot, diag.findings, 65534, 65534, str(nobody_cache))
    kinds = sorted((a.kind, a.path) for a in plan.actions)
    assert kinds == [
        ("chown", str(nobody_cache / "archive-v0")),
        ("delete", str(orphan)),
    ]


def _fix_action(kind, path, **kw):
    return Action(
        kind,
        str(path),
        0,
        False,
        "test",
        "ownership" if kind == "chown" else "mode",
        kind,
        expect=Expect.of(str(path)),
        recursive=True,
        **kw,
    )


def test_shared_group_fix_copies_files_linked_outside(real_cache, world_tmp):
    """The shared-group repair (chgrp + g+rw) never opens up root's files linked into the cache:
    the cache gets copies; files linked only inside the fixed tree stay shared (issue 20)."""
    outside = world_tmp / "root-env.py"
    outside.write_text("print('root runs me')\n")
    outside.chmod(0o644)
    archive = next(p for p in (real_cache / "archive-v0").iterdir() if p.is_dir())
    os.link(outside, archive / "linked-out.py")
    inner = archive / "inner-a.py"
    inner.write_text("x")
    os.link(inner, archive / "inner-b.py")
    plan = Plan(
        str(real_cache),
        "repair",
        [_fix_action("chmod", archive, add_mode=0o770, add_file_mode=0o660, gid=4321)],
        for_uid=65534,
    )
    result = _apply(plan)
    assert all(r.done for r in result.results), [r.error for r in result.results]
    assert result.results[0].replaced >= 1  # linked-out.py, and files the venvs share
    st = os.lstat(outside)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_nlink) == (0, 0, 0o644, 1)
    mine = os.lstat(archive / "linked-out.py")
    assert (mine.st_gid, stat.S_IMODE(mine.st_mode)) == (4321, 0o664)
    assert (archive / "linked-out.py").read_text() == "print('root runs me')\n"
    a, b = os.lstat(inner), os.lstat(archive / "inner-b.py")
    assert a.st_ino == b.st_ino and a.st_nlink == 2 and a.st_gid == 4321  # still one inode


def test_a_file_linked_again_after_the_plan_is_still_copied(real_cache, world_tmp):
    """The link count is read when the action runs, not when the plan was made."""
    archive = next(p for p in (real_cache / "archive-v0").iterdir() if p.is_dir())
    target = archive / "only-here.py"  # one link when the plan is made
    target.write_text("x = 1\n")
    plan = Plan(str(real_cache), "repair", [_fix_action("chown", archive, uid=65534, gid=65534)])
    os.link(target, world_tmp / "late-link.py")  # after the plan, before it runs
    result = _apply(plan)
    assert all(r.done for r in result.results)
    assert os.lstat(world_tmp / "late-link.py").st_uid == 0
    assert os.lstat(target).st_uid == 65534


def test_fix_and_delete_hold_few_descriptors(world_tmp):
    """`chown -R` over 2,000 directories, and removing them, under `ulimit -n 64`."""
    cache = world_tmp / "cache"
    (cache / "archive-v0").mkdir(parents=True)
    (cache / "CACHEDIR.TAG").write_bytes(b"Signature: 8a477f597d28d172789f06886806bc55\n")
    (cache / ".lock").touch()
    wide = cache / "archive-v0" / "wide"
    for i in range(2000):
        d = wide / f"d{i:04}" / "sub"
        d.mkdir(parents=True)
        (d / "f.py").write_text("x")
    code = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
sys.path.insert(0, {str(ap.__file__.rsplit("/uv_cache_inspector/", 1)[0])!r})
from uv_cache_inspector.core.actions import apply as ap
from uv_cache_inspector.core.actions.model import Action, Expect, Plan
def run(plan):
    gen = ap.apply(plan, journal=None)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
def act(kind, **kw):
    return Action(kind, {str(wide)!r}, 0, False, "t", "x", "chown" if kind == "chown" else
                     "archive", expect=Expect.of({str(wide)!r}), **kw)
r = run(Plan({str(cache)!r}, "repair", [act("chown", uid=65534, gid=65534, recursive=True)]))
assert all(x.done for x in r.results), [x.error for x in r.results]
r = run(Plan({str(cache)!r}, "prune", [act("delete")]))
assert all(x.done for x in r.results), [x.error for x in r.results]
print("ok")
"""
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert not wide.exists()
