"""Find the cache directory exactly as uv finds it, and say how it was found.

docs/uv-cache-format.md §1, first match wins: (1) `--no-cache` (ignored for inspection, but
reported), (2) `--cache-dir`, then `UV_CACHE_DIR`, (3) `cache-dir` in uv's config files (project
`uv.toml` or `[tool.uv]` found walking up from the CWD, then user, then system config), (4) the
legacy native directory if it exists (macOS `~/Library/Caches/uv`, Windows
`%LOCALAPPDATA%\\uv\\cache`), (5) `$XDG_CACHE_HOME/uv` when XDG_CACHE_HOME is absolute, else
`~/.cache/uv` (Windows: `%LOCALAPPDATA%\\uv\\cache`), (6) `.uv_cache` in the CWD.

Relative paths resolve against the CWD (also in config files); `~` is not expanded. When a `uv`
executable is available, `uv cache dir` is asked too and any disagreement is reported.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uv_cache_inspector.core.platform.subproc import NO_WINDOW

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BOOL_TRUE = frozenset({"1", "true", "yes", "y", "on", "t"})


@dataclass(frozen=True, slots=True)
class CacheLocation:
    path: str  # as uv would use it (absolute: made absolute against the CWD)
    source: str  # short label: "--cache-dir", "UV_CACHE_DIR", "uv.toml", "XDG_CACHE_HOME", ...
    detail: str  # a sentence: how it was found
    config_file: str | None = None
    uv_reported: str | None = None  # what `uv cache dir` printed, if asked
    uv_executable: str | None = None
    disagreement: str | None = None
    no_cache_note: str | None = None  # UV_NO_CACHE or no-cache=true: uv uses a temporary cache
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "detail": self.detail,
            "config_file": self.config_file,
            "uv_reported": self.uv_reported,
            "disagreement": self.disagreement,
            "no_cache_note": self.no_cache_note,
            "warnings": list(self.warnings),
        }


def _is_windows(platform: str) -> bool:
    return platform.startswith("win")


def _boolish(value: str | None) -> bool:
    return value is not None and value.strip().lower() in BOOL_TRUE


def _absolute(path: str, cwd: str) -> str:
    # uv keeps the path relative and resolves it against the CWD when used (no ~ expansion).
    return os.path.normpath(os.path.join(cwd, path))


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def _options_in_dir(directory: Path) -> tuple[dict[str, Any], Path] | None:
    """uv's `FilesystemOptions::from_directory`: uv.toml wins over pyproject's [tool.uv];
    a pyproject.toml without [tool.uv] is skipped."""
    uv_toml = directory / "uv.toml"
    if uv_toml.is_file():
        data = _read_toml(uv_toml)
        if data is not None:
            return data, uv_toml
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject)
        if data is not None:
            tool = data.get("tool")
            if isinstance(tool, dict) and isinstance(tool.get("uv"), dict):
                return tool["uv"], pyproject
    return None


def _is_member(root: Path, project: Path, workspace: dict[str, Any]) -> bool:
    rel = project.relative_to(root).as_posix()
    members = workspace.get("members") or []
    exclude = workspace.get("exclude") or []
    matches = [fnmatch.fnmatchcase(rel, str(m).rstrip("/")) for m in members]
    return any(matches) and not any(fnmatch.fnmatchcase(rel, str(e)) for e in exclude)


def _discovery_start(cwd: Path) -> Path:
    """Where uv begins its settings search (uv `lib.rs`: `Workspace::discover`, then
    `FilesystemOptions::find(workspace.install_path())`; on failure, the CWD).

    The nearest pyproject.toml above the CWD names the project if it has a [project] table (or
    is itself a workspace root); a workspace root above that lists it as a member takes over.
    Checked against real uv in tests/core/test_location.py.
    """
    for directory in [cwd, *cwd.parents]:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            break
    else:
        return cwd
    if data is None:
        return cwd
    tool_uv = (data.get("tool") or {}).get("uv") if isinstance(data.get("tool"), dict) else None
    if isinstance(tool_uv, dict) and isinstance(tool_uv.get("workspace"), dict):
        return directory
    if "project" not in data:
        return cwd
    for ancestor in directory.parents:
        candidate = ancestor / "pyproject.toml"
        if not candidate.is_file():
            continue
        root_data = _read_toml(candidate) or {}
        tool = root_data.get("tool")
        workspace = tool.get("uv", {}).get("workspace") if isinstance(tool, dict) else None
        if isinstance(workspace, dict):
            return ancestor if _is_member(ancestor, directory, workspace) else directory
    return directory


def _user_config_file(env: Mapping[str, str], platform: str, home: str | None) -> Path | None:
    if _is_windows(platform):
        appdata = env.get("APPDATA")
        return Path(appdata) / "uv" / "uv.toml" if appdata else None
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "uv" / "uv.toml"
    return Path(home) / ".config" / "uv" / "uv.toml" if home else None


def _system_config_file(env: Mapping[str, str], platform: str) -> Path | None:
    if _is_windows(platform):
        drive = env.get("SYSTEMDRIVE")
        if drive:
            candidate = Path(drive + "\\") / "ProgramData" / "uv" / "uv.toml"
            return candidate if candidate.is_file() else None
        return None
    dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    for d in dirs.split(":"):
        if not d:
            break
        candidate = Path(d) / "uv" / "uv.toml"
        if candidate.is_file():
            return candidate
    candidate = Path("/etc/uv/uv.toml")
    return candidate if candidate.is_file() else None


def _home(env: Mapping[str, str], platform: str) -> str | None:
    if _is_windows(platform):
        return env.get("USERPROFILE") or env.get("HOME")
    home = env.get("HOME")
    if home:
        return home
    try:  # uv falls back to the passwd entry when HOME is unset
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return None


def locate(
    cache_dir: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    platform: str | None = None,
    no_config: bool | None = None,
) -> CacheLocation:
    """Where uv would put its cache, without asking uv. Pure apart from reading config files."""
    env = os.environ if env is None else env
    cwd = os.getcwd() if cwd is None else cwd
    platform = sys.platform if platform is None else platform
    home = _home(env, platform)
    warnings: list[str] = []
    no_cache_note = None
    if _boolish(env.get("UV_NO_CACHE")):
        no_cache_note = (
            "UV_NO_CACHE is set: uv itself uses a fresh temporary cache and deletes it on exit; "
            "this is the cache uv uses when UV_NO_CACHE is not set."
        )

    if cache_dir is not None:
        return CacheLocation(
            _absolute(cache_dir, cwd),
            "--cache-dir",
            f"given on the command line ({cache_dir})",
            no_cache_note=no_cache_note,
        )
    if "UV_CACHE_DIR" in env:
        value = env["UV_CACHE_DIR"]
        if value == "":
            warnings.append("UV_CACHE_DIR is set but empty: uv refuses to run with that (exit 2).")
        else:
            return CacheLocation(
                _absolute(value, cwd),
                "UV_CACHE_DIR",
                f"from the UV_CACHE_DIR environment variable ({value})",
                no_cache_note=no_cache_note,
            )

    if no_config is None:
        no_config = _boolish(env.get("UV_NO_CONFIG")) or _boolish(env.get("UV_ISOLATED"))
    if not no_config:
        found = _config_cache_dir(env, cwd, platform, home)
        if found is not None:
            value, cfg, label = found
            return CacheLocation(
                _absolute(value, cwd),
                label,
                f"from cache-dir = {value!r} in {cfg}",
                config_file=str(cfg),
                no_cache_note=no_cache_note,
                warnings=tuple(warnings),
            )

    loc = _default_dir(env, cwd, platform, home)
    return CacheLocation(
        loc[0], loc[1], loc[2], no_cache_note=no_cache_note, warnings=tuple(warnings)
    )


def _config_cache_dir(
    env: Mapping[str, str], cwd: str, platform: str, home: str | None
) -> tuple[str, Path, str] | None:
    # UV_CONFIG_FILE replaces discovery entirely.
    explicit = env.get("UV_CONFIG_FILE")
    if explicit:
        data = _read_toml(Path(_absolute(explicit, cwd)))
        if data is not None and isinstance(data.get("cache-dir"), str):
            return data["cache-dir"], Path(explicit), "UV_CONFIG_FILE"
        return None
    # Project: walk up from where uv starts (the project or workspace root, else the CWD); the
    # first directory with uv.toml or [tool.uv] decides.
    start = _discovery_start(Path(cwd))
    for directory in [start, *start.parents]:
        found = _options_in_dir(directory)
        if found is not None:
            options, cfg = found
            if isinstance(options.get("cache-dir"), str):
                label = "uv.toml" if cfg.name == "uv.toml" else "pyproject.toml [tool.uv]"
                return options["cache-dir"], cfg, label
            break
    user = _user_config_file(env, platform, home)
    if user is not None and user.is_file():
        data = _read_toml(user)
        if data is not None and isinstance(data.get("cache-dir"), str):
            return data["cache-dir"], user, "user uv.toml"
    if not _boolish(env.get("UV_NO_SYSTEM_CONFIG")):
        system = _system_config_file(env, platform)
        if system is not None:
            data = _read_toml(system)
            if data is not None and isinstance(data.get("cache-dir"), str):
                return data["cache-dir"], system, "system uv.toml"
    return None


def setting(
    key: str,
    *,
    env_var: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    platform: str | None = None,
) -> tuple[str | None, str]:
    """A uv setting (e.g. link-mode) as uv would read it: env var, then the config files in
    uv's order (project, user, system). Returns (value, where it came from)."""
    env = os.environ if env is None else env
    cwd = os.getcwd() if cwd is None else cwd
    platform = sys.platform if platform is None else platform
    if env_var and env.get(env_var):
        return env[env_var], env_var
    if _boolish(env.get("UV_NO_CONFIG")):
        return None, "default"
    home = _home(env, platform)
    start = _discovery_start(Path(cwd))
    for directory in [start, *start.parents]:
        found = _options_in_dir(directory)
        if found is not None:
            options, cfg = found
            if isinstance(options.get(key), str):
                return options[key], str(cfg)
            break
    others: list[Path | None] = [
        _user_config_file(env, platform, home),
        _system_config_file(env, platform),
    ]
    for other in others:
        if other is not None and other.is_file():
            data = _read_toml(other)
            if data is not None and isinstance(data.get(key), str):
                return data[key], str(other)
    return None, "default"


def _default_dir(
    env: Mapping[str, str], cwd: str, platform: str, home: str | None
) -> tuple[str, str, str]:
    if _is_windows(platform):
        local = env.get("LOCALAPPDATA")
        if local:
            path = os.path.join(local, "uv", "cache")
            return path, "LOCALAPPDATA", "the Windows default, %LOCALAPPDATA%\\uv\\cache"
        path = os.path.join(cwd, ".uv_cache")
        return path, "fallback", "no LOCALAPPDATA: uv's last resort, .uv_cache in the CWD"
    if platform == "darwin" and home:
        legacy = os.path.join(home, "Library", "Caches", "uv")
        if os.path.isdir(legacy):
            return legacy, "legacy macOS", "the pre-0.3 macOS directory, which exists"
    xdg = env.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "uv"), "XDG_CACHE_HOME", f"$XDG_CACHE_HOME/uv ({xdg})"
    if home:
        detail = "the default, ~/.cache/uv"
        if not env.get("HOME") and not _is_windows(platform):
            detail += f"; HOME is not set, so ~ is {home}, from the user database, as for uv"
        if xdg:
            detail += f" (XDG_CACHE_HOME={xdg!r} is relative, which uv ignores)"
        return os.path.join(home, ".cache", "uv"), "default", detail
    return (
        os.path.join(cwd, ".uv_cache"),
        "fallback",
        "no home directory: uv's last resort, .uv_cache in the CWD",
    )


def ask_uv_cache_dir(
    uv: str, *, env: Mapping[str, str] | None = None, cwd: str | None = None, timeout: float = 10
) -> str | None:
    """`uv cache dir` (cheap, no side effects, takes no lock). None if it fails."""
    run_env = dict(os.environ if env is None else env)
    run_env.pop("UV_NO_CACHE", None)
    run_env["NO_COLOR"] = "1"
    try:
        proc = subprocess.run(
            [uv, "cache", "dir"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=run_env,
            cwd=cwd,
            check=False,
            creationflags=NO_WINDOW,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = str(proc.stdout).strip()
    if proc.returncode != 0 or not out:
        return None
    return out.splitlines()[-1].strip()


def cross_check(
    location: CacheLocation,
    uv: str | None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> CacheLocation:
    """Ask `uv cache dir` and record a disagreement (only for caches we did not get by flag)."""
    if uv is None or location.source == "--cache-dir":
        return location
    reported = ask_uv_cache_dir(uv, env=env, cwd=cwd)
    if reported is None:
        return _replace(location, uv_executable=uv)
    cwd = os.getcwd() if cwd is None else cwd
    same = os.path.normcase(_absolute(reported, cwd)) == os.path.normcase(location.path)
    disagreement = None
    if not same:
        disagreement = (
            f"`{uv} cache dir` says {reported}, but uv's rules give {location.path} "
            f"({location.detail}); the inspector uses what uv says."
        )
    result = _replace(location, uv_reported=reported, uv_executable=uv, disagreement=disagreement)
    if disagreement:
        result = _replace(result, path=_absolute(reported, cwd), source="uv cache dir")
    return result


def _replace(loc: CacheLocation, **changes: Any) -> CacheLocation:
    from dataclasses import replace

    return replace(loc, **changes)
