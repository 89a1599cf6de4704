"""`uvci scan` per the contract: JSON fields, human table, exit codes, never a traceback."""

from __future__ import annotations

import json
import os

from tests.cli.helpers import uvci, uvci_json


def test_scan_json_has_the_contract_fields(real_cache, uvr):
    code, data = uvci_json("scan", "--cache-dir", str(real_cache))
    assert code == 0
    assert data["cache_dir"] == str(real_cache)
    assert isinstance(data["uv_version"], str)
    assert data["total_bytes"] == uvr.cache_size(real_cache)
    for b in data["buckets"]:
        assert set(b) >= {"name", "kind", "version", "status", "bytes", "files"}
        assert b["status"] in {"current", "stale", "unknown"}
    assert {b["name"] for b in data["buckets"]} >= {"archive-v0", "wheels-v8", "sdists-v11"}
    for a in data["archives"]:
        assert set(a) >= {"id", "package", "version", "bytes", "referenced", "referrers"}
        assert isinstance(a["referrers"], list)
    for t in data["tmp_dirs"]:
        assert set(t) >= {"path", "bytes", "age_seconds"}


def test_global_options_before_or_after_the_subcommand(real_cache):
    a = uvci("--cache-dir", str(real_cache), "--json", "scan")
    b = uvci("scan", "--cache-dir", str(real_cache), "--json")
    assert a.returncode == b.returncode == 0
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    for d in (da, db):
        d.pop("duration_seconds")
    assert da["archives"] == db["archives"] and da["total_bytes"] == db["total_bytes"]


def test_human_output_is_a_table(real_cache):
    proc = uvci("scan", "--cache-dir", str(real_cache))
    assert proc.returncode == 0
    out = proc.stdout
    assert "bucket" in out and "package" in out and "last used" in out
    for name in ("alpha", "beta", "gamma-native", "epsilon", "wheels-v8", "archive-v0"):
        assert name in out
    assert "Traceback" not in proc.stderr


def test_cache_found_through_uv_cache_dir_env(real_cache, tmp_path):
    code, data = uvci_json("scan", env={"UV_CACHE_DIR": str(real_cache), "HOME": str(tmp_path)})
    assert code == 0
    assert data["location"]["source"] == "UV_CACHE_DIR"


def test_missing_cache_is_one_line_exit_2(tmp_path):
    proc = uvci("scan", "--cache-dir", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "has not created a cache" in proc.stderr


def test_a_file_is_not_a_cache(tmp_path):
    (tmp_path / "f").write_text("x")
    proc = uvci("scan", "--cache-dir", str(tmp_path / "f"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_usage_errors_exit_2():
    proc = uvci("scan", "--no-such-option")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = uvci()
    assert proc.returncode == 2


def test_non_utf8_names_make_valid_json(real_cache):
    archive = next((real_cache / "archive-v0").iterdir())
    with open(os.fsencode(str(real_cache / ".tmp")) + b"\xff\xfe-odd", "wb") as fh:
        fh.write(b"x")
    del archive
    code, data = uvci_json("scan", "--cache-dir", str(real_cache))
    assert code == 0
    assert any("\\xff\\xfe-odd" in t["path"] for t in data["tmp_dirs"])
