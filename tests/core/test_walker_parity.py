"""The compiled walker (core/cache/_walker.c) against the Python walker (core/cache/walk.py), its reference:
field by field, on caches real uv wrote (the session's, and those of five older releases), on a
hostile tree (every kind of mark, problems, a loop and a mount, 200 levels, 2,000+ marks), as
uid 65534 (unreadable folders), and on random trees (hypothesis).

A machine where the extension did not build fails here instead of comparing the Python walker
with itself: CI must run both.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.helpers import APP
from tests.harness import fixtures
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import copy_cache
from uv_cache_inspector.core.cache import walk
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan

NEWEST = buckets_for((0, 13, 9))

# Runs in this process, inside a mount namespace, or as uid 65534 (which cannot import the
# tests package): the units a scan would walk, each walked by both walkers and compared.
PARITY = r"""
import json, os, sys
from uv_cache_inspector.core.cache import walk

def owner(path):
    st = os.lstat(os.path.dirname(path))
    return st.st_uid, st.st_gid, st.st_mode & 0o7777

def units(root):
    yield root, "tree"
    yield root, "tmp"
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        yield p, "tmp" if name.startswith(".tmp") else "tree"
        if os.path.isdir(p) and not os.path.islink(p):
            try:
                children = sorted(os.listdir(p))
            except OSError:
                continue
            for c in children:
                yield os.path.join(p, c), "archive" if name.startswith("archive-") else "tree"

if not walk.compiled_available():
    print(json.dumps({"error": walk.walker_description()}))
    sys.exit(0)
out = {"units": 0, "diffs": [], "reasons": [], "problems": 0, "dropped": 0, "truncated": 0,
       "devices": 0, "linked": 0, "dist_info": 0}
reasons = set()
for root in sys.argv[1:]:
    for path, kind in units(root):
        o = owner(path)
        a = walk.walk_unit(path, kind, o, compiled=False)
        b = walk.walk_unit(path, kind, o, compiled=True)
        out["units"] += 1
        for f in walk.UnitResult.__slots__:
            if getattr(a, f) != getattr(b, f):
                out["diffs"].append([path, kind, f, repr(getattr(a, f))[:300],
                                     repr(getattr(b, f))[:300]])
        reasons.update(m[1] for m in a.marks)
        out["problems"] += len(a.problems)
        out["dropped"] += a.marks_dropped
        out["truncated"] += a.top_truncated
        out["devices"] += len(a.other_devices)
        out["linked"] += len(a.linked_ino) // 8
        out["dist_info"] += len(a.dist_info)
def listed(path, compiled):
    try:
        return walk.list_dir(path, compiled=compiled)
    except OSError as exc:
        return ("error", type(exc).__name__, exc.errno)

out["dirs"] = 0
for root in sys.argv[1:]:
    for dirpath, dirnames, _files in os.walk(root):
        for d in [dirpath, *(os.path.join(dirpath, n) for n in dirnames)]:
            a, b = listed(d, False), listed(d, True)
            out["dirs"] += 1
            if a != b:
                out["diffs"].append([d, "list_dir", "", repr(a)[:300], repr(b)[:300]])
out["reasons"] = sorted(reasons)
print(json.dumps(out))
"""


def _check(out: dict[str, object]) -> dict[str, object]:
    assert "error" not in out, out
    assert out["units"], out
    assert out["diffs"] == [], json.dumps(out["diffs"], indent=1)
    return out


def parity(*roots: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", PARITY, *map(str, roots)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": APP},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return _check(json.loads(proc.stdout))


def test_the_compiled_walker_is_built_and_runs():
    """CI builds it (uv sync compiles core/cache/_walker.c): the comparisons below need it."""
    assert walk.compiled_available(), (
        f"{walk.walker_description()}: install a C compiler and the Python headers, then "
        "`uv sync --reinstall-package uv-cache-inspector`"
    )
    assert walk.use_compiled()


def test_same_results_on_the_session_cache(template_cache):
    """uv's own cache, with hard links into two live venvs and a cached environment."""
    out = parity(template_cache)
    assert out["linked"] and out["dist_info"] and out["dirs"]


@pytest.mark.parametrize("release", [*fixtures.RELEASES, "windows-shaped"])
def test_same_results_on_caches_of_older_releases(release):
    root = fixtures.extract(f"uv-{release}" if release[0].isdigit() else release)
    parity(root)


def _hostile(cache: Path) -> None:
    """Every change point and oddity the walkers record, inside a copy of a real cache."""
    archive = min((cache / "archive-v0").iterdir())
    owned = archive / "owned"
    owned.mkdir()
    (owned / "f").write_bytes(b"x" * 10_000)
    os.chown(owned, 1234, 1234)  # a directory of another owner: everything below counts to it
    (owned / "mine").write_bytes(b"y")
    os.chown(owned / "mine", 0, 0)  # a file whose owner differs from its directory's
    (archive / "secret").write_bytes(b"z")
    (archive / "secret").chmod(0o200)  # its owner cannot read it
    (archive / "read-only").write_bytes(b"r")
    (archive / "read-only").chmod(0o444)  # but this one they can
    (archive / "odd-mode").mkdir(mode=0o750)  # a directory whose mode differs
    os.mkfifo(archive / "fifo")
    (archive / "link").symlink_to("nowhere")
    os.lchown(archive / "link", 1234, 1234)
    (archive / "caf\udce9 \udcff").write_bytes(b"not utf-8")  # os.fsencode: bytes e9 ff
    deep = archive / "deep"
    for _ in range(205):  # deeper than MAX_DEPTH
        deep = deep / "d"
    os.makedirs(deep)
    many = archive / "many"
    many.mkdir()
    for i in range(walk.MAX_MARKS + 50):  # more marks than are kept
        (many / f"m{i}").write_bytes(b"")
        os.chown(many / f"m{i}", 4321, 4321)
    wide = cache / "archive-v0" / "wide"
    wide.mkdir()
    for i in range(walk.MAX_TOP_NAMES + 10):  # more top-level names than are kept
        (wide / f"n{i:04d}").write_bytes(b"")
    (wide / "x-1.0.dist-info").mkdir()
    (wide / "y-1.0.dist-info").mkdir()
    (wide / "y-1.0.dist-info" / "RECORD").write_bytes(b"")
    os.link(wide / "n0000", wide / "hard")  # a hard link inside the unit
    tmp = cache / ".tmpHostile"
    tmp.mkdir()
    (tmp / "old").write_bytes(b"t")
    os.utime(tmp / "old", ns=(1_000_000_123, 2_000_000_456))
    # The link buckets, which the scan lists with list_dir: odd entries of every kind.
    wheels = next(p for p in cache.iterdir() if p.name.startswith("wheels-v"))
    odd = wheels / "odd"
    odd.mkdir()
    os.mkfifo(odd / "fifo")
    (odd / "dangling").symlink_to("../../archive-v0/not-there")
    (odd / "long").symlink_to("x" * 4000)
    os.symlink(b"caf\xe9", os.fsencode(str(odd)) + b"/\xff-link")
    (odd / "owned").write_bytes(b"o")
    os.chown(odd / "owned", 1234, 1234)
    os.lchown(odd / "dangling", 1234, 1234)
    (odd / "sub").mkdir(mode=0o700)
    (odd / ".tmpInBucket").mkdir()
    os.link(odd / "owned", odd / "owned-again")


def test_same_results_on_a_hostile_tree_with_a_loop_and_a_mount(template_cache, world_tmp):
    """Inside a private mount namespace: a bind mount of a folder onto its own child (a loop:
    same device, a directory seen twice) and a tmpfs (another device), plus every mark."""
    cache = copy_cache(template_cache, world_tmp / "cache")
    _hostile(cache)
    archive = min((cache / "archive-v0").iterdir())
    (archive / "loop").mkdir()
    (archive / "tmpfs").mkdir()
    results = in_mount_namespace(
        [
            f"mount --bind '{archive}' '{archive / 'loop'}'",
            f"mount -t tmpfs -o size=1m tmpfs '{archive / 'tmpfs'}'",
            f"echo data > '{archive / 'tmpfs' / 'inside'}'",
        ],
        [[sys.executable, "-c", PARITY, str(cache)]],
        env={**os.environ, "PYTHONPATH": APP},
        work=world_tmp,
    )
    assert results[0].returncode == 0, results[0].stderr
    out = _check(json.loads(results[0].stdout))
    for reason in ("owner", "mode", "special", "loop", "mount", "too-deep"):
        assert reason in out["reasons"], out
    assert out["dropped"] and out["truncated"] and out["devices"], out


def test_same_results_as_the_user_with_unreadable_folders(nobody_cache, unprivileged):
    """As uid 65534: root's 0700 folders cannot be opened (marks), root's 0600 files still
    lstat; the user's own 0000 folder cannot be listed."""
    archives = sorted((nobody_cache / "archive-v0").iterdir())
    os.chown(archives[0], 0, 0)
    archives[0].chmod(0o700)
    inner = next(p for p in archives[1].rglob("*") if p.is_dir())
    os.chown(inner, 0, 0)
    inner.chmod(0o700)
    locked = archives[2] / "locked"
    locked.mkdir()
    (locked / "f").write_bytes(b"x")
    os.chown(locked, 65534, 65534)
    locked.chmod(0o000)
    wheels = next(p for p in nobody_cache.iterdir() if p.name.startswith("wheels-v"))
    dirs = [p for p in wheels.rglob("*") if p.is_dir() and not p.is_symlink()]
    leaves = sorted(p for p in dirs if not any(d.parent == p for d in dirs))
    shut, search_only = leaves[0], leaves[-1]
    os.chown(shut, 0, 0)
    shut.chmod(0o700)  # a link-bucket folder the user cannot list
    os.chown(search_only, 0, 0)
    search_only.chmod(0o744)  # listed, but its entries cannot be lstat-ed
    proc = unprivileged.run([unprivileged.python, "-c", PARITY, str(nobody_cache)])
    assert proc.returncode == 0, proc.stderr
    out = _check(json.loads(proc.stdout))
    assert "unreadable" in out["reasons"], out
    whole = unprivileged.run([unprivileged.python, "-c", WHOLE_SCANS, str(nobody_cache)])
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.strip() == "same", whole.stdout[-3000:]


# As the user: the whole snapshot with each walker (the link walk's list_dir included).
WHOLE_SCANS = r"""
import dataclasses, os, sys, time
from uv_cache_inspector.core.cache import walk
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan
time.time = lambda: 2_000_000_000.0
docs = []
for walker in ("python", "compiled"):
    os.environ[walk.WALKER_ENV] = walker
    snap = run_scan(sys.argv[1], bucket_set=buckets_for((0, 13, 9)), workers=2)
    doc = dataclasses.asdict(dataclasses.replace(snap, duration=0.0))
    docs.append({k: sorted(map(repr, v)) if isinstance(v, list) else v for k, v in doc.items()})
if docs[0] == docs[1]:
    print("same")
else:
    for k in docs[0]:
        if docs[0][k] != docs[1][k]:
            print(k, docs[0][k], docs[1][k])
"""


# Random trees: names (not UTF-8 too), nesting, modes, owners, links, FIFOs, hard links.
NAMES = st.binary(min_size=1, max_size=12).filter(
    lambda b: b"\0" not in b and b"/" not in b and b not in {b".", b".."}
)
NODE = st.recursive(
    st.tuples(
        st.sampled_from(["file", "link", "fifo", "hardlink"]),
        st.integers(0, 3),  # owner choice
        st.sampled_from([0o644, 0o600, 0o000, 0o755, 0o444, 0o200]),
    ),
    lambda children: st.tuples(
        st.just("dir"),
        st.integers(0, 3),
        st.sampled_from([0o755, 0o700, 0o750]),
        st.dictionaries(NAMES, children, max_size=6),
    ),
    max_leaves=40,
)
OWNERS = [(0, 0), (65534, 65534), (1000, 100), (0, 65534)]


def _make(path: bytes, node: tuple, first_file: list[bytes]) -> None:  # type: ignore[type-arg]
    kind, who, mode = node[0], node[1], node[2]
    uid, gid = OWNERS[who]
    if kind == "dir":
        os.mkdir(path)
        for name, child in node[3].items():
            _make(path + b"/" + name, child, first_file)
        os.chmod(path, mode)
    elif kind == "file" or (kind == "hardlink" and not first_file):
        with open(path, "wb") as fh:
            fh.write(b"x" * (len(path) * 37))
        os.chmod(path, mode)
        first_file.append(path)
    elif kind == "hardlink":
        os.link(first_file[0], path)
    elif kind == "link":
        os.symlink(b"../" + path[-5:], path)
    else:
        os.mkfifo(path, mode)
    os.lchown(path, uid, gid)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=st.dictionaries(NAMES, NODE, min_size=1, max_size=8))
def test_same_results_on_random_trees(tree, world_tmp):
    root = world_tmp / "random"
    shutil.rmtree(root, ignore_errors=True)
    unit = os.fsencode(str(root / "unit"))
    os.makedirs(unit)
    first: list[bytes] = []
    for name, node in tree.items():
        _make(unit + b"/" + name, node, first)
    path = os.fsdecode(unit)
    for kind in ("archive", "tmp", "tree"):
        a = walk.walk_unit(path, kind, (0, 0, 0o755), compiled=False)
        b = walk.walk_unit(path, kind, (0, 0, 0o755), compiled=True)
        diffs = [f for f in walk.UnitResult.__slots__ if getattr(a, f) != getattr(b, f)]
        assert not diffs, [(f, getattr(a, f), getattr(b, f)) for f in diffs]


def test_whole_scans_agree(template_cache, world_tmp, monkeypatch):
    """The whole snapshot (through the worker pool) is the same with either walker."""
    import uv_cache_inspector.core.cache.scan as scan_mod

    cache = copy_cache(template_cache, world_tmp / "cache")
    _hostile(cache)
    monkeypatch.setattr(scan_mod, "POOL_MIN_UNITS", 1)
    monkeypatch.setattr(scan_mod.time, "time", lambda: 2_000_000_000.0)  # ages compare equal
    docs = []
    for walker in ("python", "compiled"):
        monkeypatch.setenv(walk.WALKER_ENV, walker)  # inherited by the pool's workers
        snap = run_scan(str(cache), bucket_set=NEWEST, workers=2)
        doc = dataclasses.asdict(dataclasses.replace(snap, duration=0.0))
        # Units come back from the workers in any order: lists compare as sets of rows.
        docs.append({k: sorted(map(repr, v)) if isinstance(v, list) else v for k, v in doc.items()})
    assert docs[0] == docs[1]
    assert docs[0]["marks"] and docs[0]["problems"]
