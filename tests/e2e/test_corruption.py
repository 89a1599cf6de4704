"""Hostile caches: real uv caches corrupted on purpose (hypothesis draws the damage), odd names,
unreadable and looping directories. Scan, doctor and the planners must answer; never a traceback.

Every cache here starts as one real uv wrote (the session template); the damage is deliberate
and is the point of the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.cli.helpers import APP, uvci
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import copy_cache
from uv_cache_inspector.core.actions import apply as ap
from uv_cache_inspector.core.actions.model import PrunePolicy
from uv_cache_inspector.core.actions.prune import prune_plan
from uv_cache_inspector.core.actions.repair import repair_plan
from uv_cache_inspector.core.cache.jsonout import snapshot_json
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan
from uv_cache_inspector.core.diagnosis.engine import diagnose
from uv_cache_inspector.core.errors import NotACacheError

NEWEST = buckets_for((0, 13, 9))
EXAMPLES = int(os.environ.get("UVCI_CORRUPTION_EXAMPLES", "60"))

# -- the damage ----------------------------------------------------------------------------

# Names: not UTF-8, very long, spaces and newlines, dots, look-alikes of uv's own names.
NAME = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b and b"/" not in b),
    st.sampled_from(
        [
            b"\xff\xfe bad utf8",
            b"a" * 255,
            b"with space.http",
            b"new\nline",
            b".tmp",
            b".tmp\xe9",
            b"CACHEDIR.TAG",
            b"archive-v0",
            b"wheels-v99",
            b"-v1",
            b"x.rev",
            b"y.msgpack",
            b"z.lock",
        ]
    ),
).filter(lambda b: b not in {b".", b".."})
TARGET = st.one_of(
    st.binary(min_size=1, max_size=300).filter(lambda b: b"\0" not in b),
    st.sampled_from(
        [
            b"/",
            b"/etc/passwd",
            b"../../../../../../etc",
            b"..",
            b".",
            b"../archive-v0/../../..",
            b"../../archive-v0/" + b"x" * 250,
            b"\xff/\xfe",
        ]
    ),
)
CONTENT = st.one_of(
    st.binary(max_size=600),
    st.sampled_from([b"", b"\x00" * 64, b"\x92\x00\xc4", b"\xdc\xff\xff", b"\x81\xa1a\xc0"]),
)
KINDS = ("http", "rev", "msgpack", "link", "archive", "dist-info", "tag", "lock")
MUTATION = st.one_of(
    st.tuples(st.just("corrupt"), st.sampled_from(KINDS), st.integers(0, 999), CONTENT),
    st.tuples(st.just("truncate"), st.sampled_from(KINDS), st.integers(0, 999), st.integers(0, 64)),
    st.tuples(st.just("relink"), st.just("link"), st.integers(0, 999), TARGET),
    st.tuples(
        st.just("plant"),
        st.sampled_from(["root", "archive-v0", "wheels", "index", "sdists", "shard"]),
        st.sampled_from(["file", "dir", "link", "fifo"]),
        st.tuples(NAME, TARGET),
    ),
    st.tuples(
        st.just("swap"), st.sampled_from(["archive", "index"]), st.integers(0, 999), st.none()
    ),
)


def _candidates(root: Path, kind: str) -> list[Path]:
    patterns = {
        "http": "**/*.http",
        "rev": "**/*.rev",
        "msgpack": "**/*.msgpack",
        "archive": "archive-v0/*",
        "dist-info": "archive-v0/*/*.dist-info/*",
        "tag": "CACHEDIR.TAG",
        "lock": ".lock",
        "index": "*-v*/index/*",
    }
    if kind == "link":
        return sorted(
            p for p in root.glob("*-v*/**/*") if p.is_symlink() and not p.name.endswith(".lock")
        )
    return sorted(p for p in root.glob(patterns[kind]) if not p.is_symlink())


def _place(root: Path, where: str) -> Path | None:
    """Where to plant; None when an earlier damage already removed every such place (a swap
    emptied the only sdist index: hypothesis found that draw)."""
    if where == "root":
        return root
    if where == "archive-v0":
        return root / "archive-v0"
    if where == "wheels":
        return next(root.glob("wheels-v*"), None)
    if where == "index":
        return next(root.glob("wheels-v*/index/*"), None)
    if where == "sdists":
        return next(root.glob("sdists-v*"), None)
    return next((p for p in root.glob("sdists-v*/index/*/*") if p.is_dir()), None)


def _damage(root: Path, mutation: tuple) -> None:
    op = mutation[0]
    if op == "plant":
        _, where, what, (name, target) = mutation
        place = _place(root, where)
        if place is None:
            return
        parent = os.fsencode(place)
        path = os.path.join(parent, name)
        try:
            if what == "file":
                # Never through a link planted a moment ago (it may point at /usr/bin/...).
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(target)
            elif what == "dir":
                os.mkdir(path)
            elif what == "link":
                os.symlink(target, path)
            else:
                os.mkfifo(path)  # a reader that opens it without care would hang
        except OSError:
            pass  # the name already exists, or is too long for this filesystem
        return
    _, kind, index, arg = mutation
    found = _candidates(root, kind)
    if not found:
        return
    victim = found[index % len(found)]
    # The damage stays inside the copy: nothing below is ever done through a symlink (a cached
    # environment's bin/python points at the system's interpreter).
    if op == "corrupt":
        if victim.is_symlink():
            victim.unlink()  # a link that became a file
        elif victim.is_dir():
            shutil.rmtree(victim)  # an archive that became a file
        fd = os.open(victim, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(arg)
    elif op == "truncate":
        if victim.is_file() and not victim.is_symlink():
            os.truncate(victim, min(arg, victim.stat().st_size))
    elif op == "relink":
        victim.unlink()
        os.symlink(arg, os.fsencode(victim))
    elif op == "swap" and victim.is_dir() and not victim.is_symlink():
        shutil.rmtree(victim)
        victim.mkdir()  # present but empty


@pytest.fixture(scope="module")
def pristine(template_cache) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="uvci-corrupt-"))
    yield copy_cache(template_cache, base / "pristine")
    shutil.rmtree(base, ignore_errors=True)


def _outside_targets(root: Path) -> dict[str, tuple[int, int]]:
    """What the cache's links point at outside it (the system interpreter...): size, mtime."""
    out = {}
    for p in root.rglob("*"):
        if p.is_symlink():
            real = os.path.realpath(p)
            if not real.startswith(str(root) + os.sep) and os.path.isfile(real):
                st = os.stat(real)
                out[real] = (st.st_size, st.st_mtime_ns)
    return out


def _diagnose(root: Path):
    gen = diagnose(str(root), bucket_set=NEWEST, binaries=[], owner="65534")
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(damage=st.lists(MUTATION, min_size=1, max_size=4))
# Drawn by hypothesis once in three CI runs: the tag emptied and a stray name planted at the
# top, so the folder is no longer a uv cache by uv's evidence. Always tried now.
@example(damage=[("truncate", "tag", 0, 0), ("plant", "root", "file", (b"\x01", b"\x01"))])
def test_corrupted_cache_is_read_not_crashed(pristine, damage):
    work = Path(tempfile.mkdtemp(prefix="uvci-damage-"))
    outside = _outside_targets(pristine)
    try:
        root = copy_cache(pristine, work / "cache")
        for m in damage:
            _damage(root, m)
        snap = run_scan(str(root), bucket_set=NEWEST)
        json.dumps(snapshot_json(snap))  # every field serialises (odd names included)
        diag = _diagnose(root)
        json.dumps([f.to_json() for f in diag.findings])
        for f in diag.findings:
            assert f.message and f.code
        if diag.snapshot is None:
            # The damage took away uv's evidence (its CACHEDIR.TAG truncated, and a name uv never
            # writes at the top): this is no longer a uv cache, and nothing may act on it.
            assert [f.code for f in diag.findings if f.severity.value == "error"] == [
                "not-a-uv-cache"
            ], diag.findings
            with pytest.raises(NotACacheError):
                ap.check_target(str(root))
            return
        prune = prune_plan(diag.snapshot, NEWEST, PrunePolicy())
        repair = repair_plan(diag.snapshot, diag.findings, 65534, 65534, str(root))
        for plan in (prune, repair):
            json.dumps(plan.to_json())
            for a in plan.actions:  # a plan never reaches outside the cache
                assert a.path == str(root) or a.path.startswith(str(root) + os.sep), a.path
        assert _outside_targets(pristine) == outside  # nothing outside was touched
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _no_traceback(proc: subprocess.CompletedProcess[str], allowed=(0, 1)) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in allowed, (proc.returncode, proc.stderr)


def test_odd_names_through_the_command_line(real_cache):
    """The CLI prints and serialises names that are not UTF-8, very long, or multi-line."""
    archive = os.fsencode(real_cache / "archive-v0")
    for name in (b"\xff\xfe-not-utf8", b"a" * 255, b"two\nlines", b"tab\there"):
        os.mkdir(os.path.join(archive, name))
    os.symlink(b"\xff\xfe-not-utf8", os.path.join(os.fsencode(real_cache), b"wheels-v5-dangling"))
    for args in (("scan", "--json"), ("scan",), ("doctor", "--json"), ("doctor",), ("report",)):
        proc = uvci(*args, "--cache-dir", str(real_cache))
        _no_traceback(proc)
        if "--json" in args:
            text = json.dumps(json.loads(proc.stdout))
            assert "\\\\xff\\\\xfe-not-utf8" in text or "\\xff\\xfe-not-utf8" in text


def test_unreadable_places_as_the_user(nobody_cache, unprivileged):
    """As uid 65534 (root reads everything): unreadable buckets, archives, shards and files."""
    wheels = next(nobody_cache.glob("wheels-v*"))
    index = next(wheels.glob("index/*"))
    archive = next(p for p in (nobody_cache / "archive-v0").iterdir() if p.is_dir())
    http = next(nobody_cache.glob("wheels-v*/**/*.http"))
    shard = next(p for p in nobody_cache.glob("sdists-v*/index/*/*") if p.is_dir())
    for p in (index, archive, shard):
        p.chmod(0)
    http.chmod(0)
    for args in (("scan", "--json"), ("doctor", "--json"), ("report",)):
        proc = unprivileged.uvci(*args, "--cache-dir", str(nobody_cache))
        _no_traceback(proc)
    doctor = json.loads(
        unprivileged.uvci("doctor", "--json", "--cache-dir", str(nobody_cache)).stdout
    )
    flagged = {f["path"] for f in doctor["findings"]}
    flagged |= {p for f in doctor["findings"] for p in f.get("details", {}).get("paths", [])}
    for p in (index, archive, shard):
        assert any(str(p) == x or str(p).startswith(x + os.sep) for x in flagged), (p, flagged)
    # A root the user cannot read at all: a message, not a traceback.
    nobody_cache.chmod(0o700)
    os.chown(nobody_cache, 0, 0)
    proc = unprivileged.uvci("scan", "--cache-dir", str(nobody_cache))
    _no_traceback(proc, allowed=(2,))
    assert "uvci:" in proc.stderr


def test_looping_directories(real_cache, world_tmp):
    """Symlink loops are never followed; a bind mount of the cache inside itself (a loop for any
    walker that crosses mounts) ends, and the totals count each file once."""
    wheels = next(real_cache.glob("wheels-v*"))
    os.symlink("loop", wheels / "loop")
    os.symlink("b", wheels / "a")
    os.symlink("a", wheels / "b")
    os.symlink("..", real_cache / "archive-v0" / "up")
    inside = next(
        p for p in (real_cache / "archive-v0").iterdir() if p.is_dir() and not p.is_symlink()
    )
    (inside / "mnt").mkdir()
    uvci_cmd = [sys.executable, "-m", "uv_cache_inspector"]
    before = json.loads(uvci("scan", "--json", "--cache-dir", str(real_cache)).stdout)
    results = in_mount_namespace(
        [f"mount --bind '{real_cache}' '{inside / 'mnt'}'"],
        [
            [*uvci_cmd, "scan", "--json", "--cache-dir", str(real_cache)],
            [*uvci_cmd, "doctor", "--json", "--cache-dir", str(real_cache)],
        ],
        env={**os.environ, "PYTHONPATH": APP},
        work=world_tmp,
    )
    for r in results:
        _no_traceback(r)
    looped = json.loads(results[0].stdout)
    # The walk ended (the mount was walked once, as uv's own walk would; links never).
    assert before["total_bytes"] <= looped["total_bytes"] <= 2 * before["total_bytes"]
    found = json.loads(results[1].stdout)["findings"]
    assert ("mount-inside-cache", str(inside / "mnt")) in {(f["code"], f["path"]) for f in found}


def test_prune_never_deletes_through_a_mount(real_cache, world_tmp):
    """An orphaned .tmp with a bind mount inside (same filesystem, same st_dev): prune removes
    the other orphans, refuses that one, and what is mounted there survives."""
    import time

    precious = world_tmp / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("not the cache's")
    old = time.time() - 3 * 3600
    mounted = real_cache / ".tmpMounted"
    (mounted / "m").mkdir(parents=True)
    plain = real_cache / ".tmpPlain"
    plain.mkdir()
    for p in (mounted / "m", mounted, plain):
        os.utime(p, (old, old))
    (result,) = in_mount_namespace(
        [f"mount --bind '{precious}' '{mounted / 'm'}'"],
        [
            [
                sys.executable,
                "-m",
                "uv_cache_inspector",
                "prune",
                "--yes",
                "--json",
                "--cache-dir",
                str(real_cache),
            ]
        ],
        env={**os.environ, "PYTHONPATH": APP},
        work=world_tmp,
    )
    _no_traceback(result, allowed=(1,))
    actions = {a["path"]: a for a in json.loads(result.stdout)["actions"]}
    assert actions[str(plain)]["done"] is True
    assert actions[str(mounted)]["done"] is False
    assert "mounted inside" in actions[str(mounted)]["error"]
    assert (precious / "keep.txt").read_text() == "not the cache's"
    assert mounted.is_dir() and not plain.exists()
