"""Each diagnosis rule on a real cache that real uv wrote, broken the way a user's gets broken.

Permission rules run the user's side as uid 65534 (as root nothing is ever refused).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import APP, uvci_json
from tests.harness import fixtures
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import copy_cache, make_cache
from tests.harness.uvproc import uv_holding_lock
from uv_cache_inspector.core.cache.layout import buckets_for
from uv_cache_inspector.core.cache.uv_binaries import UvBinary
from uv_cache_inspector.core.diagnosis.engine import Diagnosis, diagnose

NEWEST = buckets_for((0, 13, 9))


def run(root: Path, **kw) -> Diagnosis:
    kw.setdefault("bucket_set", NEWEST)
    kw.setdefault("binaries", [])
    gen = diagnose(str(root), **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def codes(diag: Diagnosis, severity: str | None = None) -> set[str]:
    return {f.code for f in diag.findings if severity is None or f.severity.value == severity}


def by_code(diag: Diagnosis, code: str) -> list:
    return [f for f in diag.findings if f.code == code]


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), (old, old), follow_symlinks=False)
    os.utime(path, (old, old))


def test_a_healthy_cache_has_no_errors_or_warnings(real_cache, template):
    diag = run(real_cache)
    assert not codes(diag, "error") and not codes(diag, "warning"), diag.findings
    (unref,) = by_code(diag, "unreferenced-archive")
    assert unref.count == len(template.orphans) + 1  # the orphan and the cached environment


def test_streams_shallow_findings_before_the_deep_scan(real_cache):
    os.chmod(real_cache / "archive-v0", 0o555)  # seen by the quick look (as the cache owner...)
    seen = [
        "finding" if hasattr(item, "code") else item.phase
        for item in diagnose(str(real_cache), bucket_set=NEWEST, binaries=[], owner="65534")
    ]
    first_scan = seen.index("scanning") if "scanning" in seen else len(seen)
    assert "finding" in seen[:first_scan]


# -- permissions (as the unprivileged user) ----------------------------------------------------


def _doctor_as_nobody(unprivileged, cache: Path, *extra: str) -> tuple[int, dict]:
    proc = unprivileged.uvci("doctor", "--json", "--cache-dir", str(cache), *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_root_owned_archives_only_block_cleanup(nobody_cache, unprivileged):
    archives = sorted((nobody_cache / "archive-v0").iterdir())
    for a in archives:
        subprocess.run(["chown", "-R", "0:0", str(a)], check=True)
    code, data = _doctor_as_nobody(unprivileged, nobody_cache)
    assert code == 0  # uv can still install from them: warnings, not errors
    (grouped,) = [f for f in data["findings"] if f["code"] == "foreign-owner"]
    assert grouped["severity"] == "warning"
    assert grouped["path"] == str(nobody_cache / "archive-v0")
    assert grouped["count"] == len(archives)
    assert "cannot delete" in grouped["message"]


def test_read_only_archive_bucket_of_the_users_own(nobody_cache, unprivileged):
    (nobody_cache / "archive-v0").chmod(0o555)
    code, data = _doctor_as_nobody(unprivileged, nobody_cache)
    assert code == 1
    (f,) = [f for f in data["findings"] if f["code"] == "permission-denied"]
    assert f["path"] == str(nobody_cache / "archive-v0") and f["severity"] == "error"
    assert f["details"]["mode"] == "0555"


def test_root_owned_lock_file(nobody_cache, unprivileged):
    os.chown(nobody_cache / ".lock", 0, 0)
    (nobody_cache / ".lock").chmod(0o644)
    code, data = _doctor_as_nobody(unprivileged, nobody_cache)
    assert code == 1
    (f,) = [f for f in data["findings"] if f["code"] == "foreign-owner"]
    assert f["path"] == str(nobody_cache / ".lock")
    assert "lock" in f["message"]


def test_unreadable_archive(nobody_cache, unprivileged):
    archive = next((nobody_cache / "archive-v0").iterdir())
    subprocess.run(["chown", "-R", "0:0", str(archive)], check=True)
    archive.chmod(0o700)
    code, data = _doctor_as_nobody(unprivileged, nobody_cache)
    assert code == 1  # uv cannot install from it
    # chown -R also reached files another archive shares by hard link (a cached environment):
    # those are reported too, so look for this archive's own finding.
    owner = {f["path"]: f for f in data["findings"] if f["code"] == "foreign-owner"}
    assert str(archive) in owner and owner[str(archive)]["severity"] == "error", owner
    assert any(f["code"] == "unreadable" for f in data["findings"])


def test_shared_cache_lost_group_write(real_cache):
    subprocess.run(["chgrp", "-R", "staff", str(real_cache)], check=True)
    subprocess.run(["chmod", "-R", "g+rwX", str(real_cache)], check=True)
    real_cache.chmod(0o2775)
    (real_cache / "wheels-v8").chmod(0o755)
    diag = run(real_cache)
    (f,) = by_code(diag, "shared-cache-permissions")
    assert f.path == str(real_cache / "wheels-v8")


# -- temporary directories ---------------------------------------------------------------------


def test_orphaned_tmp_dirs(real_cache):
    old = real_cache / ".tmpAbC123"
    old.mkdir()
    (old / "partial.py").write_bytes(b"x" * 10000)
    _age(old, 3 * 3600)
    in_bucket = real_cache / "wheels-v8" / ".tmpXyZ789"
    in_bucket.mkdir()
    _age(in_bucket, 3 * 3600)
    young = real_cache / ".tmpNew000"
    young.mkdir()
    diag = run(real_cache)
    paths = {f.path for f in by_code(diag, "orphaned-tmp")}
    assert paths == {str(old), str(in_bucket)}


def test_a_tmp_dir_in_use_is_not_orphaned(real_cache):
    busy = real_cache / ".tmpBusy01"
    busy.mkdir()
    (busy / "being-written.whl").write_bytes(b"x")
    _age(busy, 3 * 3600)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; f = open(sys.argv[1], 'rb'); time.sleep(60)",
            str(busy / "being-written.whl"),
        ]
    )
    try:
        time.sleep(0.3)
        diag = run(real_cache)
        assert not by_code(diag, "orphaned-tmp")
    finally:
        holder.kill()
        holder.wait()
    diag = run(real_cache)
    assert [f.path for f in by_code(diag, "orphaned-tmp")] == [str(busy)]


# -- layout and versions -----------------------------------------------------------------------


def test_stale_buckets_and_mixed_versions(uvr, world_tmp):
    cache = copy_cache(fixtures.extract("uv-0.12.24"), world_tmp / "cache")
    make_cache(uvr, cache, ["alpha==2.0"], venv=world_tmp / "venv")
    diag = run(cache)
    stale = {os.path.basename(f.path) for f in by_code(diag, "stale-bucket")}
    assert stale == {"wheels-v6", "sdists-v9", "simple-v25", "interpreter-v4"}
    (mixed,) = by_code(diag, "mixed-uv-versions")
    assert "wheels" in mixed.details["buckets"]
    # Judged by 0.12.24, the newer buckets are unknown, never stale.
    old_view = run(cache, bucket_set=buckets_for((0, 12, 24)))
    assert "wheels-v8" in {os.path.basename(f.path) for f in by_code(old_view, "unknown-bucket")}


def test_an_old_uv_without_locking(real_cache):
    old = UvBinary("/opt/old/uv", (0, 5, 31), "uv 0.5.31", "PATH")
    new = UvBinary("/usr/bin/uv", (0, 13, 9), "uv 0.13.9", "PATH")
    diag = run(real_cache, binaries=[old, new])
    assert [f.path for f in by_code(diag, "uv-without-lock")] == ["/opt/old/uv"]
    assert by_code(diag, "mixed-uv-versions")


def test_cache_in_use_names_the_process(real_cache, uv_bin, test_python):
    with uv_holding_lock(uv_bin, real_cache, test_python):
        diag = run(real_cache)
    (f,) = by_code(diag, "cache-in-use")
    assert "uv run" in f.message and f.severity.value == "info"


# -- entries -----------------------------------------------------------------------------------


def test_dangling_and_incomplete_and_corrupt(real_cache, template):
    linked = sorted(set(template.installed) - template.orphans)
    gone, broken = linked[0], linked[1]
    subprocess.run(["rm", "-rf", str(real_cache / "archive-v0" / gone)], check=True)
    for rec in (real_cache / "archive-v0" / broken).glob("*.dist-info/RECORD"):
        rec.unlink()
    (real_cache / "archive-v0" / "EmptyArchive0000").mkdir()  # deliberately broken: empty
    http = next((real_cache / "wheels-v8").rglob("*.http"))
    http.write_bytes(http.read_bytes()[:10])
    diag = run(real_cache)
    assert any(gone == f.details.get("archive") for f in by_code(diag, "dangling-link"))
    incomplete = {os.path.basename(f.path) for f in by_code(diag, "incomplete-archive")}
    assert incomplete == {broken, "EmptyArchive0000"}
    assert str(http) in {f.path for f in by_code(diag, "corrupt-entry")}


def test_moved_cache_with_absolute_links(world_tmp):
    root = fixtures.extract("uv-0.10.12", world_tmp)
    subprocess.run(["rm", "-rf", "/tmp/uvci-fixtures/uv-0.10.12"], check=True)
    diag = run(root, bucket_set=buckets_for((0, 10, 12)))
    assert by_code(diag, "absolute-links")


def test_not_a_uv_cache(world_tmp):
    (world_tmp / "notes.txt").write_text("my files")
    (world_tmp / "photos").mkdir()
    diag = run(world_tmp)
    assert codes(diag) == {"not-a-uv-cache"} and diag.snapshot is None


# -- filesystems (real mounts in a private namespace) ---------------------------------------


def _doctor_in_ns(setup: list[str], cache: Path, work: Path, *extra: str) -> tuple[int, dict]:
    env = {**os.environ, "PYTHONPATH": APP}
    (res,) = in_mount_namespace(
        setup,
        [
            [
                sys.executable,
                "-m",
                "uv_cache_inspector",
                "doctor",
                "--json",
                "--cache-dir",
                str(cache),
                *extra,
            ]
        ],
        env=env,
        work=work,
    )
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout)


def test_read_only_filesystem(real_cache, world_tmp):
    code, data = _doctor_in_ns(
        [f"mount --bind {real_cache} {real_cache}", f"mount -o remount,ro,bind {real_cache}"],
        real_cache,
        world_tmp,
    )
    assert code == 1
    assert "read-only-filesystem" in {f["code"] for f in data["findings"]}


def test_bucket_on_another_filesystem(real_cache, world_tmp):
    saved = world_tmp / "saved-archive"
    subprocess.run(["cp", "-a", str(real_cache / "archive-v0"), str(saved)], check=True)
    code, data = _doctor_in_ns(
        [
            f"mount -t tmpfs -o size=64m tmpfs {real_cache / 'archive-v0'}",
            f"cp -a {saved}/. {real_cache / 'archive-v0'}/",
        ],
        real_cache,
        world_tmp,
    )
    assert code == 1
    cross = [f for f in data["findings"] if f["code"] == "cross-device"]
    assert cross and cross[0]["path"] == str(real_cache / "archive-v0")


def test_venv_on_another_filesystem(real_cache, world_tmp):
    venv = world_tmp / "venv"
    venv.mkdir()
    _code, data = _doctor_in_ns(
        [f"mount -t tmpfs tmpfs {venv}"], real_cache, world_tmp, "--venv", str(venv)
    )
    cross = [f for f in data["findings"] if f["code"] == "cross-device"]
    assert cross and cross[0]["severity"] == "warning" and cross[0]["path"] == str(venv)


def test_full_disk(real_cache, world_tmp):
    small = world_tmp / "small"
    small.mkdir()
    code, data = _doctor_in_ns(
        [f"mount -t tmpfs -o size=3m tmpfs {small}", f"cp -a {real_cache} {small}/cache"],
        small / "cache",
        world_tmp,
    )
    low = [f for f in data["findings"] if f["code"] == "low-disk-space"]
    assert low and low[0]["severity"] == "error" and code == 1


def test_low_open_file_limit(real_cache):
    proc = subprocess.run(
        [
            "prlimit",
            "--nofile=256:256",
            sys.executable,
            "-m",
            "uv_cache_inspector",
            "doctor",
            "--json",
            "--cache-dir",
            str(real_cache),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": APP},
        check=False,
    )
    data = json.loads(proc.stdout)
    assert "open-file-limit" in {f["code"] for f in data["findings"]}


# -- rules on facts this machine cannot produce (pure logic, real cache) ----------------------


def _with_facts(root: Path, **changes):
    from dataclasses import replace

    from uv_cache_inspector.core import platform
    from uv_cache_inspector.core.cache import lock
    from uv_cache_inspector.core.diagnosis import inputs as d
    from uv_cache_inspector.core.diagnosis.quick import quick_look
    from uv_cache_inspector.core.platform.access import resolve_user

    q = quick_look(str(root))
    facts = platform.gather(q.real_root)
    cache_changes = changes.pop("cache", {})
    facts = replace(facts, cache=replace(facts.cache, **cache_changes), **changes)
    return d.Inputs(
        root=str(root),
        quick=q,
        facts=facts,
        lock=lock.probe(str(root)),
        user=resolve_user(q.root_node.owner),
        binaries=[],
        bucket_set=NEWEST,
        now=time.time(),
    )


def test_network_filesystem_rule(real_cache):
    from uv_cache_inspector.core.diagnosis.rules import filesystem as d

    inp = _with_facts(real_cache, cache={"fstype": "nfs4", "mount_point": "/home"})
    assert [f.code for f in d.rule_network(inp)] == ["network-filesystem"]


def test_wsl1_rule(real_cache):
    from uv_cache_inspector.core.diagnosis.rules import filesystem as d

    inp = _with_facts(real_cache, wsl=1, cache={"fstype": "lxfs"})
    (f,) = d.rule_wsl(inp)
    assert "11018" in f.message and "WSL2" in f.fix
    assert list(d.rule_network(inp)) == []


def test_lock_unsupported_rule(real_cache):
    from dataclasses import replace

    from uv_cache_inspector.core.diagnosis.rules import locktmp as d

    inp = _with_facts(real_cache)
    inp.lock = replace(inp.lock, supported=False, error="Function not implemented (os error 38)")
    (f,) = d.rule_lock(inp)
    assert f.code == "lock-unsupported" and "os error 38" in f.message


def test_doctor_cli_exit_codes(real_cache, world_tmp):
    code, data = uvci_json("doctor", "--cache-dir", str(real_cache))
    assert code == 0 and data["cache_dir"] == str(real_cache)
    from tests.cli.helpers import uvci

    missing = uvci("doctor", "--cache-dir", str(world_tmp / "missing"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
