"""explain: uv's error text -> the failed operation -> the precondition that failed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.helpers import APP
from tests.harness.dists import write_wheel
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import clean_env
from uv_cache_inspector.core import explain as ex
from uv_cache_inspector.core.access import UvUser

ALICE = UvUser(1000, 1000, frozenset({1000}), "alice", "you")

# Messages as uv prints them, across releases and platforms (from uv's source and issues).
SAMPLES = {
    "rename-0.13": (
        "error: Failed to download `six==1.17.0`\n"
        "  cause: Failed to write to the distribution cache\n"
        "  cause: failed to rename file from /home/a/.cache/uv/.tmpYCueGN to "
        "/home/a/.cache/uv/archive-v0/-RwqJGO4xNlt3iJm: Permission denied (os error 13)",
        "rename",
        13,
        ("/home/a/.cache/uv/.tmpYCueGN", "/home/a/.cache/uv/archive-v0/-RwqJGO4xNlt3iJm"),
    ),
    "rename-windows-french": (
        r"  Caused by: failed to rename file from C:\Users\A\AppData\Local\uv\cache\.tmpX1 to "
        r"C:\Users\A\AppData\Local\uv\cache\archive-v0\abc: Accès refusé. (os error 5)",
        "rename",
        5,
        None,
    ),
    "open-quotes-old": (
        "error: failed to open file '/home/a/.cache/uv/sdists-v9/.git': Permission denied (os error 13)",
        "open",
        13,
        ("/home/a/.cache/uv/sdists-v9/.git",),
    ),
    "open-backticks-ro": (
        "error: failed to open file `/c/sdists-v11/.git`: Read-only file system (os error 30)",
        "open",
        30,
        ("/c/sdists-v11/.git",),
    ),
    "persist": (
        r"error: Failed to persist temporary file to `C:\c\simple-v6\pip.rkyv`: Access is "
        r"denied. (os error 5)",
        "persist",
        5,
        None,
    ),
    "sharing-violation": (
        "error: failed to remove directory `C:\\p\\.venv`: The process cannot access the file "
        "because it is being used by another process. (os error 32)",
        "remove",
        32,
        None,
    ),
    "lock-violation": (
        "error: Failed to persist temporary file to `C:\\c\\simple-v6\\pip.rkyv`: The process "
        "cannot access the file because another process has locked a portion of the file. "
        "(os error 33)",
        "persist",
        33,
        None,
    ),
    "onedrive": (
        "error: failed to hardlink file from C:\\c\\archive-v0\\x\\a.py to C:\\OneDrive\\p\\a.py: "
        "The cloud operation cannot be performed on a file with incompatible hardlinks. "
        "(os error 396)",
        "hardlink",
        396,
        None,
    ),
    "exdev": (
        "error: failed to rename file from /c/.tmpAb to /mnt/other/archive-v0/x: Invalid "
        "cross-device link (os error 18)",
        "rename",
        18,
        None,
    ),
    "enospc-at-path": (
        'error: No space left on device (os error 28) at path "/root/.cache/uv/.tmpR5qLnt"',
        "at_path",
        28,
        ("/root/.cache/uv/.tmpR5qLnt",),
    ),
    "emfile": (
        "error: Failed to write to the client cache\n  Caused by: Too many open files "
        '(os error 24) at path "/c/simple-v12/pypi/.tmpX"',
        "at_path",
        24,
        None,
    ),
    "lock-timeout": (
        "error: Timeout (300s) when waiting for lock on `/c` at `/c/.lock`, is another uv "
        "process running? You can set `UV_LOCK_TIMEOUT` to increase the timeout.",
        "lock_timeout",
        None,
        ("/c/.lock",),
    ),
    "nfs-lock": (
        "error: failed to lock '/c/git-v0/locks/abc': Bad file descriptor (os error 9)",
        "lock",
        9,
        None,
    ),
    "deserialize": ("error: Failed to deserialize cache entry", "deserialize", None, None),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parse_every_form(name):
    text, op, errno_, paths = SAMPLES[name]
    failures = ex.parse(text)
    assert failures, name
    f = failures[0]
    assert f.op == op and f.errno == errno_
    if paths is not None:
        assert f.paths == paths


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("rename-windows-french", "windows-access-denied"),
        ("persist", "windows-access-denied"),
        ("sharing-violation", "file-in-use"),
        ("lock-violation", "file-in-use"),
        ("onedrive", "onedrive"),
        ("exdev", "cross-device"),
        ("enospc-at-path", "low-disk-space"),
        ("emfile", "open-file-limit"),
        ("lock-timeout", "cache-in-use"),
        ("nfs-lock", "lock-unsupported"),
        ("deserialize", "corrupt-entry"),
        ("open-backticks-ro", "read-only-filesystem"),
    ],
)
def test_what_each_error_means(name, code):
    findings = ex.explain_failures(ex.parse(SAMPLES[name][0]), ALICE, None)
    assert code in {f.code for f in findings}, findings


def test_localized_text_is_kept_and_the_number_decides():
    (f,) = ex.parse(SAMPLES["rename-windows-french"][0])
    assert "Accès refusé" in f.os_message


def test_junk_is_not_a_failure():
    assert ex.parse("hello\nnothing to see here\n") == []


# -- real uv failures, produced in private mount namespaces ------------------------------------


def _uv_then_explain(uvr, uv_bin, cache, venv, setup, work, package):
    env = {**clean_env(), "PYTHONPATH": APP}
    install = [
        uv_bin,
        "pip",
        "install",
        "--cache-dir",
        str(cache),
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        uvr.index_url,
        package,
    ]
    explain = [
        sys.executable,
        "-m",
        "uv_cache_inspector",
        "explain",
        "--json",
        "--cache-dir",
        str(cache),
    ]
    uv_result, explained = in_mount_namespace(
        setup, [install, {"cmd": explain, "stdin_from": 0}], env=env, work=work
    )
    assert uv_result.returncode != 0, uv_result.stderr
    assert "Traceback" not in explained.stderr, explained.stderr
    return uv_result.stderr, json.loads(explained.stdout)


def test_real_read_only_cache(real_cache, uvr, uv_bin, dists_dir, world_tmp):
    write_wheel(dists_dir, "ro-probe", "1.0")
    venv = uvr.venv(world_tmp / "venv", real_cache)
    said, data = _uv_then_explain(
        uvr,
        uv_bin,
        real_cache,
        venv,
        [f"mount --bind {real_cache} {real_cache}", f"mount -o remount,ro,bind {real_cache}"],
        world_tmp,
        "ro-probe",
    )
    assert "os error 30" in said
    assert "read-only-filesystem" in {f["code"] for f in data["findings"]}


def test_real_cross_device_archive(real_cache, uvr, uv_bin, dists_dir, world_tmp):
    write_wheel(dists_dir, "xdev-probe", "1.0")
    venv = uvr.venv(world_tmp / "venv", real_cache)
    saved = world_tmp / "saved"
    subprocess.run(["cp", "-a", str(real_cache / "archive-v0"), str(saved)], check=True)
    said, data = _uv_then_explain(
        uvr,
        uv_bin,
        real_cache,
        venv,
        [
            f"mount -t tmpfs tmpfs {real_cache / 'archive-v0'}",
            f"cp -a {saved}/. {real_cache / 'archive-v0'}/",
        ],
        world_tmp,
        "xdev-probe",
    )
    assert "os error 18" in said
    cross = [f for f in data["findings"] if f["code"] == "cross-device"]
    assert cross and cross[0]["severity"] == "error"


def test_real_full_disk(uvr, uv_bin, dists_dir, world_tmp):
    write_wheel(dists_dir, "bigprobe", "1.0", n_modules=40, payload=200_000)
    small = world_tmp / "small"
    small.mkdir()
    cache = small / "cache"
    venv = uvr.venv(world_tmp / "venv", world_tmp / "scratch-cache")
    said, data = _uv_then_explain(
        uvr,
        uv_bin,
        cache,
        venv,
        [f"mount -t tmpfs -o size=2m tmpfs {small}"],
        world_tmp,
        "bigprobe",
    )
    assert "os error 28" in said
    assert "low-disk-space" in {f["code"] for f in data["findings"]}
