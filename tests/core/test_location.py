"""Finding the cache as uv finds it (docs/uv-cache-format.md §1), with real `uv cache dir` as the oracle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uv_cache_inspector.core.cache.location import ask_uv_cache_dir, cross_check, locate


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "NO_COLOR": "1"}
    env.update(extra)
    return env


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# Each scenario: (files to write, env additions, cwd relative to the sandbox, expected source)
SCENARIOS = {
    "default": ({}, {}, "work", "default"),
    "xdg-absolute": ({}, {"XDG_CACHE_HOME": "{s}/xdgcache"}, "work", "XDG_CACHE_HOME"),
    "xdg-relative-ignored": ({}, {"XDG_CACHE_HOME": "relcache"}, "work", "default"),
    "env-absolute": ({}, {"UV_CACHE_DIR": "{s}/envcache"}, "work", "UV_CACHE_DIR"),
    "env-relative": ({}, {"UV_CACHE_DIR": "rel/cache"}, "work", "UV_CACHE_DIR"),
    "env-tilde-not-expanded": ({}, {"UV_CACHE_DIR": "~/tilde"}, "work", "UV_CACHE_DIR"),
    "uv-toml-in-cwd": ({"work/uv.toml": 'cache-dir = "projcache"\n'}, {}, "work", "uv.toml"),
    "uv-toml-in-parent-resolves-against-cwd": (
        {"work/uv.toml": 'cache-dir = "projcache"\n'},
        {},
        "work/sub",
        "uv.toml",
    ),
    "pyproject-tool-uv": (
        {
            "work/pyproject.toml": '[project]\nname = "p"\nversion = "0"\n'
            '[tool.uv]\ncache-dir = "/tmp/uvci-loc-pyproject"\n'
        },
        {},
        "work",
        "pyproject.toml [tool.uv]",
    ),
    "pyproject-without-tool-uv-is-skipped": (
        {
            "work/uv.toml": 'cache-dir = "fromparent"\n',
            "work/sub/pyproject.toml": "[tool.black]\nline-length = 1\n",
        },
        {},
        "work/sub",
        "uv.toml",
    ),
    "uv-toml-beats-pyproject": (
        {
            "work/uv.toml": 'cache-dir = "fromuvtoml"\n',
            "work/pyproject.toml": '[tool.uv]\ncache-dir = "frompyproject"\n',
        },
        {},
        "work",
        "uv.toml",
    ),
    "user-config": (
        {"home/.config/uv/uv.toml": 'cache-dir = "/tmp/uvci-loc-user"\n'},
        {},
        "work",
        "user uv.toml",
    ),
    "xdg-config-home": (
        {"cfg/uv/uv.toml": 'cache-dir = "/tmp/uvci-loc-xdgcfg"\n'},
        {"XDG_CONFIG_HOME": "{s}/cfg"},
        "work",
        "user uv.toml",
    ),
    "system-config": (
        {"sysxdg/uv/uv.toml": 'cache-dir = "/tmp/uvci-loc-system"\n'},
        {"XDG_CONFIG_DIRS": "{s}/sysxdg"},
        "work",
        "system uv.toml",
    ),
    "project-beats-user": (
        {
            "home/.config/uv/uv.toml": 'cache-dir = "/tmp/uvci-loc-user"\n',
            "work/uv.toml": 'cache-dir = "proj"\n',
        },
        {},
        "work",
        "uv.toml",
    ),
    "env-beats-config": (
        {"work/uv.toml": 'cache-dir = "proj"\n'},
        {"UV_CACHE_DIR": "{s}/envwins"},
        "work",
        "UV_CACHE_DIR",
    ),
    "workspace-member-uses-root-settings": (
        {
            "ws/pyproject.toml": '[project]\nname = "root"\nversion = "0"\n[tool.uv]\n'
            'cache-dir = "/tmp/uvci-loc-ws"\n[tool.uv.workspace]\nmembers = ["pkgs/*"]\n',
            "ws/pkgs/m/pyproject.toml": '[project]\nname = "m"\nversion = "0"\n[tool.uv]\n'
            'cache-dir = "/tmp/uvci-loc-member"\n',
        },
        {},
        "ws/pkgs/m/src",
        "pyproject.toml [tool.uv]",
    ),
    "non-member-uses-own-settings": (
        {
            "ws/pyproject.toml": '[project]\nname = "root"\nversion = "0"\n[tool.uv]\n'
            'cache-dir = "/tmp/uvci-loc-ws"\n[tool.uv.workspace]\nmembers = ["pkgs/*"]\n',
            "ws/other/pyproject.toml": '[project]\nname = "o"\nversion = "0"\n[tool.uv]\n'
            'cache-dir = "/tmp/uvci-loc-other"\n',
        },
        {},
        "ws/other",
        "pyproject.toml [tool.uv]",
    ),
    "project-root-shadows-uv-toml-below-it": (
        {
            "proj/pyproject.toml": '[project]\nname = "p"\nversion = "0"\n',
            "proj/sub/uv.toml": 'cache-dir = "ignored"\n',
        },
        {},
        "proj/sub",
        "default",
    ),
    "no-config-ignores-files": (
        {"work/uv.toml": 'cache-dir = "proj"\n'},
        {"UV_NO_CONFIG": "1"},
        "work",
        "default",
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_locate_agrees_with_real_uv(scenario, tmp_path, uv_bin):
    files, extra, cwd_rel, source = SCENARIOS[scenario]
    for rel, text in files.items():
        _write(tmp_path / rel, text)
    (tmp_path / "home").mkdir(exist_ok=True)
    cwd = tmp_path / cwd_rel
    cwd.mkdir(parents=True, exist_ok=True)
    env = _env(tmp_path / "home", **{k: v.format(s=tmp_path) for k, v in extra.items()})
    ours = locate(env=env, cwd=str(cwd), platform="linux")
    theirs = ask_uv_cache_dir(uv_bin, env=env, cwd=str(cwd))
    assert theirs is not None
    assert ours.path == os.path.normpath(os.path.join(cwd, theirs)), (ours, theirs)
    assert ours.source == source
    checked = cross_check(ours, uv_bin, env=env, cwd=str(cwd))
    assert checked.disagreement is None
    assert checked.uv_reported == theirs


def test_disagreement_is_reported_and_uv_wins(tmp_path, uv_bin):
    # Whatever our rules say, what the user's uv says wins, and the difference is shown.
    from dataclasses import replace

    env = _env(tmp_path)
    ours = replace(locate(env=env, cwd=str(tmp_path), platform="linux"), path="/nowhere/uv")
    checked = cross_check(ours, uv_bin, env=env, cwd=str(tmp_path))
    assert checked.disagreement is not None and "/nowhere/uv" in checked.disagreement
    assert checked.path == str(tmp_path / ".cache" / "uv")
    assert checked.source == "uv cache dir"


def test_flag_wins_and_is_not_cross_checked(tmp_path, uv_bin):
    loc = locate("relative/dir", env=_env(tmp_path, UV_CACHE_DIR="/elsewhere"), cwd=str(tmp_path))
    assert loc.path == str(tmp_path / "relative/dir")
    assert loc.source == "--cache-dir"
    assert cross_check(loc, uv_bin).uv_reported is None


def test_empty_uv_cache_dir_is_flagged(tmp_path):
    loc = locate(env=_env(tmp_path, UV_CACHE_DIR=""), cwd=str(tmp_path), platform="linux")
    assert loc.source == "default"
    assert any("empty" in w for w in loc.warnings)


def test_uv_no_cache_is_reported_not_followed(tmp_path):
    loc = locate(env=_env(tmp_path, UV_NO_CACHE="1"), cwd=str(tmp_path), platform="linux")
    assert loc.path == str(tmp_path / ".cache" / "uv")
    assert loc.no_cache_note and "temporary" in loc.no_cache_note


def test_broken_config_file_falls_through(tmp_path):
    _write(tmp_path / "work/uv.toml", "cache-dir = [unclosed\n")
    loc = locate(env=_env(tmp_path), cwd=str(tmp_path / "work"), platform="linux")
    assert loc.source == "default"


# Platform rules that cannot run here: their pure logic, with the platform passed in.


def test_windows_localappdata(tmp_path):
    env = {"LOCALAPPDATA": r"C:\Users\Ana\AppData\Local", "USERPROFILE": r"C:\Users\Ana"}
    loc = locate(env=env, cwd=str(tmp_path), platform="win32")
    assert loc.path.endswith(os.path.join("uv", "cache"))
    assert loc.path.startswith(r"C:\Users\Ana\AppData\Local")
    assert loc.source == "LOCALAPPDATA"


def test_windows_user_config_is_in_appdata(tmp_path):
    _write(tmp_path / "Roaming/uv/uv.toml", 'cache-dir = "D:/uvcache"\n')
    env = {"APPDATA": str(tmp_path / "Roaming"), "LOCALAPPDATA": str(tmp_path / "Local")}
    loc = locate(env=env, cwd=str(tmp_path), platform="win32")
    assert loc.source == "user uv.toml"


def test_macos_legacy_dir_only_if_it_exists(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert locate(env=env, cwd=str(tmp_path), platform="darwin").source == "default"
    (tmp_path / "Library/Caches/uv").mkdir(parents=True)
    loc = locate(env=env, cwd=str(tmp_path), platform="darwin")
    assert loc.source == "legacy macOS"
    assert loc.path == str(tmp_path / "Library/Caches/uv")
