"""explain: uv's error text -> the failed operation -> the precondition that failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import APP
from tests.harness.dists import write_wheel
from tests.harness.mountns import in_mount_namespace
from tests.harness.uvcache import clean_env
from uv_cache_inspector.core.diagnosis import explain as ex
from uv_cache_inspector.core.diagnosis import uvtext
from uv_cache_inspector.core.diagnosis.explain import reading
from uv_cache_inspector.core.platform.access import UvUser

ALICE = UvUser(1000, 1000, frozenset({1000}), "alice", "you")
DATA = Path(__file__).resolve().parents[1] / "data"
PHRASINGS = json.loads((DATA / "uv_phrasings.json").read_text(encoding="utf-8"))["phrasings"]
CORPUS = {
    e["id"]: e
    for e in json.loads((DATA / "explain_corpus.json").read_text(encoding="utf-8"))["entries"]
}

# -- every phrasing uv prints (from uv's and fs-err's source, tests/data/uv_phrasings.json) ---

A = "/home/alice/.cache/uv/.tmpAb12Cd"
B = "/home/alice/.cache/uv/archive-v0/Xy_9-zz"
R = "/home/alice/.cache/uv"


def _fill(fmt: str) -> str:
    return (
        fmt.replace("{a}", A if "{b}" in fmt else B)
        .replace("{b}", B)
        .replace("{r}", R)
        .replace("{err}", "Permission denied (os error 13)")
    )


@pytest.mark.parametrize("p", PHRASINGS, ids=[p["format"][:48] for p in PHRASINGS])
@pytest.mark.parametrize("layout", ["one-line", "caused-by", "tree", "wrapped"])
def test_every_phrasing_in_every_layout(p, layout):
    msg = _fill(p["format"])
    has_err = "(os error" in msg
    if layout == "one-line":
        text = f"error: {msg}" + ("" if has_err else ": Permission denied (os error 13)")
    elif layout == "caused-by":
        text = "error: Failed to install: x-1.0-py3-none-any.whl (x==1.0)\n"
        text += f"  Caused by: {msg}\n"
        text += "" if has_err else "  Caused by: Permission denied (os error 13)\n"
    elif layout == "tree":
        text = "  × Failed to download `x==1.0`\n  ├─▶ Failed to write to the distribution cache\n"
        text += f"  ╰─▶ {msg}" + ("" if has_err else ": Permission denied (os error 13)")
    else:  # miette's wrapping: words moved to indented lines
        words = (msg + ("" if has_err else ": Permission denied (os error 13)")).split(" ")
        lines = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
        text = "  × Failed to download `x==1.0`\n  ╰─▶ " + "\n      ".join(lines)
    failures = ex.parse(text)
    f = ex.primary(failures)
    assert f is not None, text
    assert f.op == p["operation"], (text, f)
    want = {0: (), 1: (B,), 2: (A, B)}[p["paths"]]
    if p["operation"] == "create_temp":
        want = (B,)
    assert f.paths == want, (text, f)
    assert f.errno == 13 or p["operation"] in ("lock_wait", "lock_timeout"), (text, f)


# -- the forms of the real corpus (tests/data/explain_corpus.json) ----------------------------


@pytest.mark.parametrize(
    ("entry", "errno_name", "os_message"),
    [
        (
            "uv-14017",
            "ERROR_USER_MAPPED_FILE",
            "Der Vorgang ist bei einer Datei mit einem "
            "geöffneten Bereich, der einem Benutzer zugeordnet ist, nicht anwendbar.",
        ),
        ("uv-2355", "ERROR_ACCESS_DENIED", "拒绝访问。"),
        ("uv-11233", "ERROR_INVALID_FUNCTION", "Incorrect function."),
        ("uv-12129", "ENOTSUP", "Operation not supported"),
        ("nersc-interactem-532", "ENOTSUPP", "Unknown error 524"),
        ("uv-13950", "ENOSPC", "No space left on device"),
    ],
)
def test_localized_and_platform_specific_numbers(entry, errno_name, os_message):
    f = ex.primary(ex.parse(CORPUS[entry]["text"]))
    assert f is not None
    assert f.errno_name == errno_name
    assert f.os_message == os_message


def test_a_chain_flattened_onto_wrapped_lines_is_linked():
    # NERSC: "error: Could not acquire lock  Caused by: ..." broken by the terminal mid-sentence
    f = ex.primary(ex.parse(CORPUS["nersc-interactem-532"]["text"]))
    assert f is not None
    assert (f.op, f.paths, f.errno) == ("lock", ("~/.cache/uv/.lock",), 524)
    assert f.chain[0] == "Could not acquire lock"


def test_paths_with_spaces_and_verbatim_prefix():
    f = ex.primary(ex.parse(CORPUS["uv-1491-omdaniel"]["text"]))
    assert f is not None
    assert f.paths[0] == r"\\?\C:\Program Files\envs\pipx\venvs\venvs\uv\uvcache\.tmpvKXHjN"
    assert f.platform == "windows"


def test_a_path_cut_by_the_terminal_is_glued_back():
    # a terminal cuts at its width, anywhere, and does not indent the rest
    text = (
        "error: failed to rename file from /home/alice/.cache/uv/.tmpAb12Cd to /home/alice/.c\n"
        "ache/uv/archive-v0/Xy_9-zz: Permission denied (os error 13)"
    )
    f = ex.primary(ex.parse(text))
    assert f is not None
    assert f.paths == (
        "/home/alice/.cache/uv/.tmpAb12Cd",
        "/home/alice/.cache/uv/archive-v0/Xy_9-zz",
    )
    # miette breaks long words at a hyphen and indents the rest
    text = (
        "  ╰─▶ failed to open file `/home/alice/.cache/uv/sdists-v9/scikit-\n"
        "      learn-1.7.2/.git`: Permission denied (os error 13)"
    )
    f = ex.primary(ex.parse(text))
    assert f is not None
    assert f.paths == ("/home/alice/.cache/uv/sdists-v9/scikit-learn-1.7.2/.git",)


@pytest.mark.parametrize(
    ("text", "errno"),
    [
        ("error: failed to open file `C:\\c\\.lock`: Access is denied. (os error -2147024891)", 5),
        ("error: failed to open file `C:\\c\\.lock`: Access is denied. (0x80070005)", 5),
        ("error: failed to open file `/c/.lock`: Unknown error (os error 4294967295)", 4294967295),
    ],
)
def test_negative_os_errors_and_hresults(text, errno):
    f = ex.primary(ex.parse(text))
    assert f is not None
    assert f.errno == errno


def test_junk_is_not_a_failure():
    assert ex.parse("hello\nnothing to see here\n") == []
    assert ex.parse("error: x\nerror: y\n") == []


def test_nul_bytes_and_binary_input_are_reported():
    prepared = uvtext.prepare(b"\x00\x01\x02garbage\x00" * 100)
    assert prepared.binary and prepared.nul_bytes == 200
    assert ex.parse(prepared.text) == []
    # a real message with NUL bytes in it is still read
    data = CORPUS["uv-16218"]["text"].encode() + b"\x00\x00"
    _, explained, prepared = ex.explain_text(data, ALICE, None)
    assert prepared.nul_bytes == 2 and explained[0].cause == "mount-point"


def test_escape_keeps_text_but_shows_controls():
    assert ex.escape("a\x1b[2Jb\x07c\u202ed") == "a\\x1b[2Jb\\x07c\\u202ed"
    assert ex.escape("é 拒绝访问") == "é 拒绝访问"


# -- never advise acting outside the cache ------------------------------------------------------


def test_a_path_outside_the_cache_is_named_not_touched(tmp_path):
    cache = tmp_path / "cache"
    (cache / "archive-v0").mkdir(parents=True)
    text = (
        f"error: failed to rename file from {cache}/.tmpAbCdEf to /etc/../etc/shadow: "
        "Permission denied (os error 13)"
    )
    nobody = UvUser(65534, 65534, frozenset({65534}), "nobody", "--owner")
    _, explained, _ = ex.explain_text(text, nobody, str(cache), cache_present=True)
    e = explained[0]
    assert e.finding.fix is not None
    assert "chown" not in e.finding.fix and "chmod" not in e.finding.fix
    assert "outside uv's cache" in e.finding.fix and "will not touch" in e.finding.fix
    assert "/etc" in " ".join(e.outside_cache)
    assert e.fix_action is None
    assert e.finding.details["fix_kind"] == "outside-cache"


def test_ownership_fixes_never_say_recursive_chown():
    for entry in CORPUS.values():
        _, explained, _ = ex.explain_text(entry["text"], ALICE, None)
        for e in explained:
            fix = (e.finding.fix or "").replace("Not `chown -R`", "")
            assert "chown -R" not in fix and "chmod -R" not in fix, entry["id"]


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


# -- rules for causes no corpus message shows (parsed failures, not invented messages) ---------


def _ranked(op, paths, errno, text=""):
    from uv_cache_inspector.core.diagnosis import oserrors

    platform = reading.platform_of(paths, [text])
    kind = oserrors.classify(errno, "", platform)
    f = ex.Failure(
        op,
        tuple(paths),
        errno,
        "",
        text,
        errno_name=kind.name if kind else None,
        errno_kind=kind.kind if kind else None,
        platform=platform,
    )
    return [c.cause for c in ex.rank_causes(f, ex.signals(text))]


def test_not_found_across_docker_volumes_is_two_filesystems():
    causes = _ranked("rename", ["/app/.venv/x", "/opt/venv/bin/x"], 2, "docker compose up")
    assert causes[0] == "cross-device"


def test_stale_nfs_handle_and_quota():
    assert _ranked("read_dir", ["/nfs/u/.cache/uv/archive-v0/x"], 116)[0] == "network-filesystem"
    assert _ranked("write", ["/home/u/.cache/uv/.tmpAbCdEf/x.py"], 122)[0] == "disk-quota"


def test_wsl_rename_lists_wsl1():
    causes = _ranked(
        "rename",
        ["/home/u/.cache/uv/.tmpAbCdEf", "/home/u/.cache/uv/archive-v0/x"],
        13,
        "Linux 4.4.0-19041-Microsoft",
    )
    assert "wsl1" in causes


def test_a_trailing_space_in_the_cache_path():
    causes = _ranked("create_dir", ["/srv/uv-cache /archive-v0"], 2)
    assert causes[0] == "trailing-space"


def test_human_output_escapes_and_json_stays_exact(tmp_path, capsys):
    from uv_cache_inspector import cli

    text = "error: failed to open file `/tmp/a\x07b\u202ec`: Permission denied (os error 13)"
    assert cli.main(["explain", "--cache-dir", str(tmp_path / "none"), text]) == 0
    human = capsys.readouterr().out
    assert "\x07" not in human and "\u202e" not in human and "/tmp/a\\x07b\\u202ec" in human
    assert cli.main(["explain", "--json", "--cache-dir", str(tmp_path / "none"), text]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failures"][0]["paths"] == ["/tmp/a\x07b\u202ec"]


def test_no_failure_and_binary_input_get_a_message_and_json(tmp_path, capsys):
    from uv_cache_inspector import cli

    assert cli.main(["explain", "--cache-dir", str(tmp_path / "none"), "hello"]) == 2
    assert "No uv failure found" in capsys.readouterr().out
    assert cli.main(["explain", "--json", "--cache-dir", str(tmp_path), "a\x00b\x00"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["failures"] == [] and "binary" in data["notices"][0]
