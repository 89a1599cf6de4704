"""The scan, on caches real uv wrote (and on deliberately broken copies of them)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.harness import fixtures
from tests.harness.dists import write_wheel
from tests.harness.uvcache import copy_cache, make_cache
from uv_cache_inspector.core.cache import scan as scan_mod
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.scan import run_scan, scan
from uv_cache_inspector.core.errors import CacheNotFoundError, CancelledError, NotACacheError
from uv_cache_inspector.core.model import ArchiveKind, BucketStatus, CancelToken, LinkState

NEWEST = buckets_for((0, 13, 9))


def _scan(root: Path, **kw):
    kw.setdefault("bucket_set", NEWEST)
    return run_scan(str(root), **kw)


def _pruned_archives(uvr, cache: Path) -> set[str]:
    """What real `uv cache prune` deletes from archive-v0 (run on a copy)."""
    proc = uvr.prune(cache)
    return set(re.findall(r"Removing dangling cache archive: .*/archive-v0/(\S+)", proc.stderr))


def test_total_equals_uv_cache_size(real_cache, uvr):
    snap = _scan(real_cache)
    expected = uvr.cache_size(real_cache)
    assert snap.total_bytes == pytest.approx(expected, rel=0.01)
    # Exact, in fact: every inode once, as uv's diskus counts.
    assert snap.total_bytes == expected


def test_hardlinks_inside_the_cache_are_counted_once(template, real_cache, uvr):
    # The cached environment hardlinks files of other archives (docs/uv-cache-format.md §7).
    snap = _scan(real_cache)
    env = snap.archive(template.environment)
    assert env is not None and env.kind is ArchiveKind.ENVIRONMENT
    assert env.shared_bytes > 0
    assert sum(a.bytes for a in snap.archives) > snap.bucket("archive-v0").bytes
    assert snap.total_bytes == uvr.cache_size(real_cache)


def test_every_archive_maps_to_the_package_uv_installed_from_it(template, real_cache):
    snap = _scan(real_cache)
    by_id = {a.id: a for a in snap.archives}
    assert set(template.installed) <= set(by_id)
    for aid, (name, version) in template.installed.items():
        a = by_id[aid]
        assert (a.package, a.version) == (name.replace("_", "-"), version), aid
        assert a.kind is ArchiveKind.WHEEL
        assert not a.problems, a.problems
    # The sdist uv built is attributed too (through its sdists-v11 revision link).
    (eps,) = [a for a in snap.archives if a.package == "epsilon"]
    assert any("sdists-v11" in r for r in eps.referrers)


def test_unreferenced_archives_are_exactly_what_uv_prune_deletes(template, real_cache, uvr):
    snap = _scan(real_cache)
    ours = {a.id for a in snap.archives if not a.referenced}
    assert template.orphans <= ours  # the archive uv orphaned by --reinstall --refresh
    assert template.environment in ours  # prune removes cached environments first
    assert ours == _pruned_archives(uvr, real_cache)


def test_stale_buckets_of_an_older_uv(uvr, world_tmp):
    """A cache written by real uv 0.12.24 (fixture), then used by the newest uv."""
    old = fixtures.extract("uv-0.12.24")
    cache = copy_cache(old, world_tmp / "cache")
    make_cache(uvr, cache, ["alpha==2.0", "beta"], venv=world_tmp / "venv")
    snap = _scan(cache)
    status = {b.name: b.status for b in snap.buckets}
    for name in ["wheels-v6", "sdists-v9", "simple-v25", "interpreter-v4"]:
        assert status[name] is BucketStatus.STALE, name
    for name in ["wheels-v8", "simple-v28", "interpreter-v5"]:
        assert status[name] is BucketStatus.CURRENT, name
    # Archives only 0.12.24's wheels-v6 links to do not survive the newest uv's prune.
    only_stale = {a.id for a in snap.archives if a.stale_referrers and not a.referrers}
    assert len(only_stale) >= 4
    assert {a.id for a in snap.archives if not a.referenced} == _pruned_archives(uvr, cache)
    # Judged against 0.12.24 itself, the newer buckets are unknown, never stale.
    old_view = _scan(cache, bucket_set=buckets_for((0, 12, 24)))
    assert {b.name: b.status for b in old_view.buckets}["wheels-v8"] is BucketStatus.UNKNOWN


@pytest.mark.parametrize("release", fixtures.RELEASES)
def test_fixture_caches_read_without_false_alarms(release):
    root = fixtures.extract(f"uv-{release}")
    m = fixtures.manifest(f"uv-{release}")
    bs = buckets_for(tuple(int(x) for x in release.split(".")))  # as that uv sees its cache
    snap = _scan(root, bucket_set=bs, read_pointers=True)
    assert snap.problems == []
    assert snap.marks == []
    assert all(b.status is BucketStatus.CURRENT for b in snap.buckets), snap.buckets
    assert all(e.state is LinkState.OK for e in snap.entries)
    wheels = {a.id: a for a in snap.archives if a.kind is ArchiveKind.WHEEL}
    assert {k: (a.package, a.version) for k, a in wheels.items()} == {
        k: (n.replace("_", "-"), v) for k, (n, v) in m["archives"].items()
    }
    assert all(a.referenced and not a.problems for a in wheels.values())
    envs = [a for a in snap.archives if a.kind is ArchiveKind.ENVIRONMENT]
    assert len(envs) == (1 if m["has_cached_environment"] else 0)


def test_windows_shaped_cache_reads_like_its_unix_original():
    """The deliberately Windows-shaped fixture (link files instead of symlinks)."""
    unix = _scan(fixtures.extract("uv-0.13.9"))
    win = _scan(fixtures.extract("windows-shaped"), link_style="file")
    assert {a.id: a.referenced for a in win.archives} == {a.id: a.referenced for a in unix.archives}
    assert {e.link_kind for e in win.entries} == {"file"}
    # On Unix, uv counts only symlinks: link files keep nothing alive there.
    as_unix = _scan(fixtures.extract("windows-shaped"), link_style="symlink")
    assert not any(a.referenced for a in as_unix.archives)


def test_layout_is_detected_from_the_cache_not_the_host():
    """No link_style given: the links found decide (Windows link files here, on Linux)."""
    win = _scan(fixtures.extract("windows-shaped"))
    assert (win.link_style, win.layout_source) == ("file", "detected")
    assert win.layout_evidence[0] == 0 and win.layout_evidence[1] > 0
    assert win.entries and {e.link_kind for e in win.entries} == {"file"}
    unix = _scan(fixtures.extract("uv-0.13.9"))
    assert (unix.link_style, unix.layout_source) == ("symlink", "detected")
    assert unix.layout_evidence == (len(unix.entries), 0)
    assert {a.id: a.referenced for a in win.archives} == {a.id: a.referenced for a in unix.archives}


def test_a_cache_both_uvs_wrote_keeps_what_either_uses(world_tmp):
    """Linux uv in WSL on the Windows cache adds symlinks beside the link files: each uv's prune
    counts only its own kind, so the inspector counts both and prunes neither's archives."""
    cache = fixtures.extract("windows-shaped", world_tmp)
    unix = fixtures.extract("uv-0.13.9")
    files = _link_files(cache / "wheels-v8")
    assert files
    # One link file becomes the symlink Linux uv would have written for the same entry.
    victim = files[0]
    twin = unix / victim.relative_to(cache)
    target = os.readlink(twin)
    victim.unlink()
    victim.symlink_to(target)
    snap = _scan(cache)
    whole = _scan(fixtures.extract("windows-shaped"))
    assert snap.link_style == "mixed"
    assert snap.layout_evidence == (1, whole.layout_evidence[1] - 1)
    kinds = {e.link_kind for e in snap.entries}
    assert kinds == {"symlink", "file"}
    assert {a.id: a.referenced for a in snap.archives} == {
        a.id: a.referenced for a in whole.archives
    }
    # Forced to one layout, the other kind keeps nothing: what that uv's own prune would do.
    as_windows = _scan(cache, link_style="file")
    lost = {a.id for a in whole.archives if a.referenced} - {
        a.id for a in as_windows.archives if a.referenced
    }
    assert len(lost) == 1


def _link_files(where: Path) -> list[Path]:
    """Windows link files: regular files without one of the side files' extensions."""
    side = {".lock", ".http", ".rev", ".msgpack", ".whl"}
    return sorted(
        p for p in where.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix not in side
    )


def test_corrupt_link_files_are_entries_only_in_a_windows_cache(world_tmp):
    cache = fixtures.extract("uv-0.13.9", world_tmp / "u")
    pkg = next(p for p in (cache / "wheels-v8").rglob("*") if p.is_symlink()).parent
    (pkg / "9.9-py3-none-any").write_bytes(b"not a link")
    unix = _scan(cache)
    assert unix.link_style == "symlink"
    assert not [e for e in unix.entries if e.state is LinkState.CORRUPT]
    win = fixtures.extract("windows-shaped", world_tmp / "w")
    pkg = _link_files(win / "wheels-v8")[0].parent
    (pkg / "9.9-py3-none-any").write_bytes(b"not a link")
    snap = _scan(win)
    assert snap.link_style == "file"
    assert [e.path for e in snap.entries if e.state is LinkState.CORRUPT] == [
        str(pkg / "9.9-py3-none-any")
    ]


def test_moved_cache_with_absolute_links(world_tmp):
    """uv < 0.11.17 wrote absolute links; a moved cache strands them (docs/uv-cache-format.md §8)."""
    root = fixtures.extract("uv-0.10.12", world_tmp)
    shutil.rmtree("/tmp/uvci-fixtures/uv-0.10.12", ignore_errors=True)
    snap = _scan(root, bucket_set=buckets_for((0, 10, 12)))
    states = {e.state for e in snap.entries if e.kind == "wheel"}
    assert states == {LinkState.MOVED}
    assert not any(a.referenced for a in snap.archives)


def test_pool_and_in_process_agree(uvr, dists_dir, world_tmp, monkeypatch):
    for i in range(60):
        write_wheel(dists_dir, f"wide{i}", "1.0", n_modules=2)
    cache = make_cache(uvr, world_tmp / "cache", [f"wide{i}" for i in range(60)])
    monkeypatch.setattr(scan_mod, "POOL_MIN_UNITS", 10)
    pooled = _scan(cache, workers=2)
    single = _scan(cache, workers=1)
    assert pooled.total_bytes == single.total_bytes == uvr.cache_size(cache)
    key = lambda s: sorted((a.id, a.package, a.bytes, a.files, a.referenced) for a in s.archives)  # noqa: E731
    assert key(pooled) == key(single)
    assert len(pooled.archives) == 60


def test_odd_names_are_recorded_not_raised(real_cache):
    archive = next((real_cache / "archive-v0").iterdir())
    odd = os.fsencode(str(archive)) + b"/caf\xe9 \xff name.py"
    with open(odd, "wb") as fh:
        fh.write(b"x" * 5000)
    (archive / ("l" * 200)).write_text("long name")
    (real_cache / ".tmp with space").mkdir()
    snap = _scan(real_cache)
    a = snap.archive(archive.name)
    assert a is not None and a.files >= 5
    assert any(t.path.endswith(".tmp with space") for t in snap.tmp_dirs)


def test_symlinks_are_never_followed(real_cache, world_tmp):
    outside = world_tmp / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"x" * 100_000)
    archive = next((real_cache / "archive-v0").iterdir())
    (archive / "loop").symlink_to(".")
    (archive / "escape").symlink_to(outside)
    (real_cache / "wheels-v8" / "escape").symlink_to(outside)
    (real_cache / "wheels-v8" / "loop").symlink_to("../wheels-v8")
    before = _scan(real_cache)
    assert before.total_bytes < 100_000 + sum(b.bytes for b in before.buckets)
    escape = [e for e in before.entries if e.path.endswith("wheels-v8/escape")]
    assert escape and escape[0].state is LinkState.OUTSIDE


def test_unreadable_directory_seen_by_the_user(nobody_cache, unprivileged):
    """As the user (uid 65534): a root-owned 0700 archive is recorded, the scan goes on."""
    archive = next((nobody_cache / "archive-v0").iterdir())
    os.chown(archive, 0, 0)
    archive.chmod(0o700)
    proc = unprivileged.uvci("scan", "--cache-dir", str(nobody_cache), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    import json

    data = json.loads(proc.stdout)
    marks = {m["path"]: m for m in data["marks"]}
    assert str(archive) in marks
    assert marks[str(archive)]["owner"]["uid"] == 0


def test_files_vanishing_during_the_scan(real_cache):
    archive_dir = real_cache / "archive-v0"
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            d = archive_dir / f"churn{i % 7}"
            d.mkdir(exist_ok=True)
            for j in range(20):
                (d / f"f{j}").write_bytes(b"x")
            shutil.rmtree(d, ignore_errors=True)
            i += 1

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(25):
            _scan(real_cache, workers=1)
    finally:
        stop.set()
        t.join()


def test_cancel_stops_the_scan(real_cache):
    token = CancelToken()
    gen = scan(str(real_cache), cancel=token)
    next(gen)
    token.cancel()
    with pytest.raises(CancelledError):
        list(gen)


def test_cancel_kills_the_worker_pool(uvr, dists_dir, world_tmp, monkeypatch):
    for i in range(30):
        write_wheel(dists_dir, f"cancel{i}", "1.0")
    cache = make_cache(uvr, world_tmp / "cache", [f"cancel{i}" for i in range(30)])
    monkeypatch.setattr(scan_mod, "POOL_MIN_UNITS", 1)
    monkeypatch.setattr(scan_mod, "chunked", lambda units, workers: [[u] for u in units])
    token = CancelToken()
    gen = scan(str(cache), cancel=token, workers=2)
    started = time.monotonic()

    def consume() -> None:
        for p in gen:
            if p.phase == "scanning" and p.done >= 1:
                token.cancel()

    with pytest.raises(CancelledError):
        consume()
    assert time.monotonic() - started < 10


def test_the_root_itself(world_tmp):
    with pytest.raises(CacheNotFoundError):
        _scan(world_tmp / "missing")
    (world_tmp / "file").write_text("x")
    with pytest.raises(NotACacheError):
        _scan(world_tmp / "file")


def test_symlinked_root_is_followed_like_uv(real_cache, world_tmp, uvr):
    link = world_tmp / "link-to-cache"
    link.symlink_to(real_cache)
    snap = _scan(link)
    assert snap.root_is_symlink
    assert snap.total_bytes == uvr.cache_size(real_cache)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_walkers_run_below_the_priority_of_the_process_that_started_them(tmp_path):
    """So that the app's GUI thread gets a core when the walkers fill them all (bench_gui_stall
    measured 50-80 ms stalls on 2 cores before)."""
    from uv_cache_inspector.core.cache.walk import WORKER_NICENESS
    from uv_cache_inspector.core.cache.workers import WorkerPool, chunked

    (tmp_path / "unit").mkdir()
    (tmp_path / "unit" / "f").write_bytes(b"x")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    with WorkerPool(2) as pool:
        results = [
            r
            for batch in pool.run(chunked([(str(tmp_path / "unit"), "archive", None)], 2))
            for r in batch
        ]
        assert [r.files for r in results] == [1]
        # Every worker, even one that was given no work yet: the pool niced it at spawn.
        niceness = {os.getpriority(os.PRIO_PROCESS, p.pid) for p in pool.procs}
    assert niceness == {min(19, mine + WORKER_NICENESS)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread")
def test_walker_threads_run_below_the_priority_of_the_process(tmp_path, monkeypatch):
    """The compiled walker walks in threads of this process; on Linux each lowers its own
    priority as the walker processes do, and the thread that started them keeps its own."""
    from uv_cache_inspector.core.cache import workers
    from uv_cache_inspector.core.cache.walk import WORKER_NICENESS

    seen: list[int] = []
    real = workers.walk_many

    def spy(units, **kw):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(units, **kw)

    monkeypatch.setattr(workers, "walk_many", spy)
    (tmp_path / "unit").mkdir()
    (tmp_path / "unit" / "f").write_bytes(b"x")
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pool = workers.ThreadPool(2)
    try:
        units = [(str(tmp_path / "unit"), "archive", None)] * 4
        results = [r for batch in pool.run(workers.chunked(units, 2)) for r in batch]
    finally:
        pool.close()
    assert [r.files for r in results] == [1] * 4
    assert set(seen) == {min(19, mine + WORKER_NICENESS)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
