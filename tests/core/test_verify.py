"""Verify on caches real uv wrote: clean caches verify clean, what cannot be verified says so,
changes inside an archive are named, remembered verdicts spare the hashing (issue 17)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from tests.cli.helpers import uvci
from tests.harness.dists import module_files, wheel_bytes
from tests.harness.index import PackageIndex
from tests.harness.uvcache import UvRun, make_cache, tree_state
from uv_cache_inspector.cli.output import drive
from uv_cache_inspector.core.cache import record
from uv_cache_inspector.core.diagnosis.verify import load_summary, state_files, verify
from uv_cache_inspector.core.errors import CancelledError
from uv_cache_inspector.core.model import CancelToken, Progress


def _verify(cache: Path, state: Path, **kw):
    return drive(verify(str(cache), state_directory=str(state), **kw))


def _archives_of(cache: Path, dist_info: str) -> list[Path]:
    return sorted(a for a in (cache / "archive-v0").iterdir() if (a / dist_info).is_dir())


def _archive_of(cache: Path, dist_info: str) -> Path:
    (hit,) = _archives_of(cache, dist_info)
    return hit


def _past_racy_window(root: Path) -> None:
    """Wait until every file below `root` is older than the window in which verify does not
    remember a verdict (file times move in clock ticks): the condition, not a guessed sleep."""
    newest = 0.0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            newest = max(newest, st.st_mtime, st.st_ctime)
    while time.time() <= newest + record.RACY_SECONDS:
        time.sleep(0.05)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_parse_record_as_the_wheel_spec_and_uv_read_it():
    data = (
        f"pkg/a.py,sha256={_b64(b'a')},1\n"
        '"pkg/with,comma.py",sha256=' + _b64(b"b") + ",1\n"
        "/pkg/leading_slash.py,,3\n"
        "./pkg/dotted.py,,\n"
        "../../bin/outside,,\n"
        f"pkg/big.py,sha512={base64.urlsafe_b64encode(hashlib.sha512(b'c').digest()).decode()},1\n"
        "pkg/bad.py,sha256=***,1\n"
        "pkg/unknown.py,crc32=abcd,1\n"
        "pkg-1.0.dist-info/RECORD,,\n"
    ).encode()
    entries, outside = record.parse_record(data)
    assert outside == 1
    assert entries["pkg/a.py"] == (f"sha256={_b64(b'a')}", 1)
    assert entries["pkg/with,comma.py"][0] == f"sha256={_b64(b'b')}"
    assert entries["pkg/leading_slash.py"] == (None, 3)
    assert entries["pkg/dotted.py"] == (None, None)
    assert entries["pkg-1.0.dist-info/RECORD"] == (None, None)

    def decoded(path):
        return record.decode_hash(entries[path][0])

    assert decoded("pkg/a.py") == ("sha256", hashlib.sha256(b"a").digest())
    assert decoded("pkg/big.py") == ("sha512", hashlib.sha512(b"c").digest())
    assert decoded("pkg/bad.py") is None  # not base64: only the size counts
    assert decoded("pkg/unknown.py") is None  # not an algorithm hashlib always has
    assert record.decode_hash(f"sha256={_b64(b'a')[:-2]}") is None  # too short


def test_a_lived_in_cache_verifies_clean(real_cache, template, world_tmp):
    """Wheels, a wheel uv built from an sdist, an orphaned archive: all match their RECORD;
    the cached `uv run --with` environment cannot be verified, and is not called modified."""
    proc = uvci("verify", "--json", "--cache-dir", str(real_cache),
                env={"UVCI_STATE_DIR": str(world_tmp / "state")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["modified"] == [] and data["findings"] == []
    verified_ids = set(os.listdir(real_cache / "archive-v0")) - {template.environment}
    assert verified_ids == set(template.installed)  # epsilon (built from its sdist) included
    assert data["archives"]["verified"] == len(verified_ids)
    (env,) = data["cannot_verify"]
    assert env["id"] == template.environment and "cached environment" in env["reason"]
    assert data["files"]["hashed"] > 0 and data["bytes_hashed"] > 0


def test_archives_without_record_cannot_be_verified_never_modified(real_cache, world_tmp):
    alpha = _archive_of(real_cache, "alpha-1.0.dist-info")
    (alpha / "alpha-1.0.dist-info" / "RECORD").unlink()
    report = _verify(real_cache, world_tmp / "state")
    assert report.modified == []
    reasons = {u.id: u.reason for u in report.cannot_verify}
    assert reasons[alpha.name] == "no RECORD in its .dist-info"


def test_changes_inside_an_archive_are_named(real_cache, world_tmp):
    """Edited, missing and unexpected files; Python's __pycache__ is not a change. The worker
    pool and the in-process path agree."""
    delta = _archives_of(real_cache, "delta-3.1.4.dist-info")[0]  # one of two (reinstalled)
    pkg = delta / "delta"
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "m1.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (pkg / "extra.py").write_text("print('not from the wheel')\n")
    (pkg / "m2.py").unlink()
    data = bytearray((pkg / "m3.py").read_bytes())
    data[0:1] = b"!"  # same size, other bytes
    with open(pkg / "m3.py", "r+b") as fh:
        fh.write(data)
    for workers in (None, 1):
        report = _verify(real_cache, world_tmp / f"state-{workers}", workers=workers)
        (m,) = report.modified
        assert (m.package, m.version, m.id) == ("delta", "3.1.4", delta.name)
        changes = {f.path: f.change for f in m.files}
        assert changes == {
            "delta/extra.py": "unexpected",
            "delta/m2.py": "missing",
            "delta/m3.py": "modified",
        }
        (finding,) = report.findings
        assert finding.code == "modified-archive" and finding.path == str(delta)
        assert "delta/m3.py modified" in finding.message


def test_a_record_healed_by_uv_verifies_clean(uv_bin, test_python, world_tmp):
    """uv (>= 0.11.6) rewrites a RECORD that does not match the wheel: unlisted files get a
    line with a size and no hash. Such an archive is not modified."""
    dists = world_tmp / "dists"
    dists.mkdir()
    base = wheel_bytes("healed", "1.0", module_files("healed", 2))
    buf = io.BytesIO(base)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("healed/unlisted.py", "X = 1\n")
    (dists / "healed-1.0-py3-none-any.whl").write_bytes(buf.getvalue())
    cache = world_tmp / "cache"
    with PackageIndex(dists) as index:
        make_cache(UvRun(uv_bin, index.url, test_python), cache, ["healed"])
    archive = _archive_of(cache, "healed-1.0.dist-info")
    lines = (archive / "healed-1.0.dist-info" / "RECORD").read_text().splitlines()
    assert "healed/unlisted.py,,6" in lines  # uv's own rewrite, seen on disk
    report = _verify(cache, world_tmp / "state")
    assert report.modified == [] and report.verified == 1


def test_the_second_run_hashes_nothing_and_the_next_edit_only_its_file(real_cache, world_tmp):
    state = world_tmp / "state"
    _past_racy_window(real_cache)
    first = _verify(real_cache, state)
    assert first.hashed > 0 and first.reused == 0
    verdicts, summary = state_files(str(real_cache), str(state))
    assert os.path.isfile(verdicts) and os.path.isfile(summary)
    second = _verify(real_cache, state)
    assert (second.hashed, second.hashed_bytes) == (0, 0)
    assert second.reused == second.files == first.files
    beta = _archive_of(real_cache, "beta-1.0.dist-info")
    target = beta / "beta" / "m1.py"
    data = bytearray(target.read_bytes())
    data[0:1] = b"!"
    with open(target, "r+b") as fh:
        fh.write(data)
    third = _verify(real_cache, state)
    assert third.hashed == 1
    assert [(m.package, [f.path for f in m.files]) for m in third.modified] == [
        ("beta", ["beta/m1.py"])
    ]
    assert load_summary(str(real_cache), str(state))["modified"][beta.name]["package"] == "beta"
    # Without the state every file is hashed again.
    fresh = _verify(real_cache, state, use_state=False)
    assert fresh.hashed == first.hashed and fresh.reused == 0


def test_cancel_stops_and_remembers_nothing(real_cache, world_tmp):
    token = CancelToken()
    gen = verify(str(real_cache), cancel=token, state_directory=str(world_tmp / "state"))

    def run_and_cancel_when_verifying() -> None:
        for p in gen:
            if isinstance(p, Progress) and p.phase == "verifying":
                token.cancel()

    with pytest.raises(CancelledError):
        run_and_cancel_when_verifying()
    assert not (world_tmp / "state").exists()


def test_package_filter(real_cache, world_tmp):
    report = _verify(real_cache, world_tmp / "state", packages=["Alpha"])
    assert report.verified == 2  # alpha 1.0 and 2.0
    assert report.cannot_verify == []


def test_unreadable_files_as_the_user_are_not_modified(nobody_cache, unprivileged):
    """As the user (uid 65534): a root-only file in an archive cannot be read, so that archive
    cannot be verified; nothing is called modified, nothing in the cache changes, and the
    verdicts go to the user's own state directory."""
    gamma = _archive_of(nobody_cache, "gamma_native-0.1.dist-info")
    secret = gamma / "gamma_native" / "helper.dll"
    os.chown(secret, 0, 0)
    secret.chmod(0o600)
    before = tree_state(nobody_cache)
    proc = unprivileged.uvci("verify", "--json", "--cache-dir", str(nobody_cache))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["modified"] == []
    reasons = {u["id"]: u["reason"] for u in data["cannot_verify"]}
    assert "cannot be read" in reasons[gamma.name]
    assert "Permission denied" in reasons[gamma.name]
    assert tree_state(nobody_cache) == before
    assert data["state_file"].startswith(str(unprivileged.home) + "/")


def test_usage_and_missing_cache_exit_2(world_tmp):
    env = {"UVCI_STATE_DIR": str(world_tmp / "state")}
    proc = uvci("verify", "--yes", "--cache-dir", str(world_tmp), env=env)
    assert proc.returncode == 2 and "--fix" in proc.stderr
    proc = uvci("verify", "--cache-dir", str(world_tmp / "nothing-here"), env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (world_tmp / "not-a-cache").mkdir()
    (world_tmp / "not-a-cache" / "notes.txt").write_text("mine\n")
    proc = uvci("verify", "--cache-dir", str(world_tmp / "not-a-cache"), env=env)
    assert proc.returncode == 2 and "not a uv cache" in proc.stderr, proc.stderr


def test_a_damaged_state_file_costs_hashing_not_a_verdict(real_cache, world_tmp):
    """The state is the user's file: whatever is in it, verify hashes again rather than trust
    or crash."""
    import msgpack

    state = world_tmp / "state"
    _past_racy_window(real_cache)
    first = _verify(real_cache, state)
    verdicts, _ = state_files(str(real_cache), str(state))
    ids = sorted(os.listdir(real_cache / "archive-v0"))
    junk = {
        ids[0]: "junk",
        ids[1]: [[1, 2], {"x": {}}],
        ids[3]: 17,
        ids[4]: {"not": "a state"},
        ids[2]: [[0, 0, 0, 0], {"alpha/m1.py": [{}, [], None, "x", {}]}],
    }
    for aid in ids[5:]:
        junk[aid] = [[1, 2, 3, 4], {"a.py": [1, 2, 3, 4, {"not": "a verdict"}]}]
    with open(verdicts, "wb") as fh:
        fh.write(
            msgpack.packb({"version": 1, "root": os.path.realpath(real_cache), "archives": junk})
        )
    again = _verify(real_cache, state)
    assert again.modified == [] and again.reused == 0 and again.hashed == first.hashed
    assert [u.reason for u in again.cannot_verify if "internal" in u.reason] == []
    with open(verdicts, "wb") as fh:
        fh.write(b"\xc1 not msgpack")
    assert _verify(real_cache, state).hashed == first.hashed
