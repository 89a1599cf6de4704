"""Put the app in the Start menu, the application menu or ~/Applications, and take it out again.

For people who installed with `uv tool install` or pip (the installers make their own entries):

- Linux: an XDG desktop entry in `$XDG_DATA_HOME/applications` and hicolor icons in
  `$XDG_DATA_HOME/icons` (default `~/.local/share`), launching the GUI script by absolute path
  (a desktop session's PATH often lacks `~/.local/bin`).
- Windows: `%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\uv Cache Inspector.lnk`, written
  by Windows itself (WScript.Shell through PowerShell), pointing at `uv-cache-inspector.exe`.
- macOS: `~/Applications/uv Cache Inspector.app`, a small bundle whose executable starts the GUI
  script.

Everything written is listed in a manifest (`<data dir>/uv-cache-inspector/shortcut.json`), and
uninstall removes exactly those files, and the folders it created once they are empty. The pure
parts (paths, file contents, the PowerShell script) are functions of their inputs, tested on every
platform; the Windows and macOS writers are unverified on real Windows and macOS.
"""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uv_cache_inspector import __version__
from uv_cache_inspector.core import resources as res
from uv_cache_inspector.core.errors import InspectorError

MANIFEST = "shortcut.json"


@dataclass
class ShortcutResult:
    platform: str
    action: str  # "install" | "uninstall"
    dry_run: bool
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    target: str = ""  # what the shortcut starts
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = {"install": "would write" if self.dry_run else "wrote"}.get(
            self.action, "would remove" if self.dry_run else "removed"
        )
        files = self.written if self.action == "install" else self.removed
        head = (
            f"{res.APP_NAME}: {verb} {len(files)} file{'s' if len(files) != 1 else ''}"
            + (f", starting {self.target}" if self.target else "")
            + "."
        )
        return "\n".join([head, *(f"  {f}" for f in files), *self.notes])

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "action": self.action,
            "dry_run": self.dry_run,
            "written": self.written,
            "removed": self.removed,
            "target": self.target,
            "notes": self.notes,
        }


# -- where things go ------------------------------------------------------------------------


def platform_key(name: str | None = None) -> str:
    name = name or sys.platform
    if name.startswith("win"):
        return "windows"
    if name == "darwin":
        return "macos"
    return "linux"


def xdg_data_home(env: Mapping[str, str], home: str) -> Path:
    """$XDG_DATA_HOME when it is an absolute path (the spec says to ignore a relative one)."""
    value = env.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path(home) / ".local" / "share"


def home_dir(env: Mapping[str, str]) -> str:
    return env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")


def start_menu_dir(env: Mapping[str, str]) -> Path:
    appdata = env.get("APPDATA") or os.path.join(home_dir(env), "AppData", "Roaming")
    return Path(appdata) / "Microsoft" / "Windows" / "Start Menu" / "Programs"


def manifest_dir(plat: str, env: Mapping[str, str]) -> Path:
    home = home_dir(env)
    if plat == "windows":
        base = Path(env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"))
    elif plat == "macos":
        base = Path(home) / "Library" / "Application Support"
    else:
        base = xdg_data_home(env, home)
    return base / "uv-cache-inspector"


def gui_executable(plat: str) -> str:
    """The program a shortcut starts: this frozen app, or the GUI script installed beside the
    interpreter running us (a `uv tool install` venv, a virtualenv, a user install)."""
    if getattr(sys, "frozen", False):
        return sys.executable
    exe = res.GUI_SCRIPT + (".exe" if plat == "windows" else "")
    here = Path(sys.executable).parent
    for candidate in (here / exe, here / "Scripts" / exe):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(res.GUI_SCRIPT)
    if found:
        return os.path.abspath(found)
    raise InspectorError(
        f"{exe} was not found next to {sys.executable} or on PATH; install the app first "
        "(`uv tool install uv-cache-inspector`)."
    )


# -- file contents (pure) ----------------------------------------------------------------------


def _desktop_quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry spec wants (reserved characters inside
    double quotes, with ", `, $ and \\ escaped by a backslash; % doubled)."""
    arg = arg.replace("%", "%%")
    if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def _desktop_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def desktop_entry_text(executable: str) -> str:
    """The packaged desktop entry, with Exec and TryExec pointing at `executable`."""
    template = res.desktop_entry().read_text(encoding="utf-8")
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            lines.append("Exec=" + _desktop_value(_desktop_quote(executable)))
        elif line.startswith("TryExec="):
            lines.append("TryExec=" + _desktop_value(executable))
        else:
            lines.append(line)
    lines.append(f"X-UvCacheInspector-Version={__version__}")
    return "\n".join(lines) + "\n"


def _ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal: only ' needs escaping (by doubling)."""
    return "'" + text.replace("'", "''") + "'"


def windows_shortcut_script(lnk: str, target: str, icon: str, workdir: str) -> str:
    """PowerShell that makes Windows write the .lnk itself (WScript.Shell COM object)."""
    return "; ".join(
        [
            "$ErrorActionPreference = 'Stop'",
            "$s = (New-Object -ComObject WScript.Shell).CreateShortcut(" + _ps_quote(lnk) + ")",
            "$s.TargetPath = " + _ps_quote(target),
            "$s.WorkingDirectory = " + _ps_quote(workdir),
            "$s.IconLocation = " + _ps_quote(icon + ",0"),
            "$s.Description = " + _ps_quote(res.APP_NAME),
            "$s.Save()",
        ]
    )


def mac_info_plist(executable_name: str) -> bytes:
    return plistlib.dumps(
        {
            "CFBundleName": res.APP_NAME,
            "CFBundleDisplayName": res.APP_NAME,
            "CFBundleIdentifier": res.APP_ID,
            "CFBundleVersion": __version__,
            "CFBundleShortVersionString": __version__,
            "CFBundlePackageType": "APPL",
            "CFBundleExecutable": executable_name,
            "CFBundleIconFile": "uv-cache-inspector.icns",
            "LSMinimumSystemVersion": "11.0",
            "NSHighResolutionCapable": True,
        }
    )


def mac_launcher(executable: str) -> str:
    quoted = "'" + executable.replace("'", "'\\''") + "'"
    return (
        f"#!/bin/sh\n# Starts {res.APP_NAME} (written by uvci install-shortcut).\n"
        f'exec {quoted} "$@"\n'
    )


# -- the plans: (path, bytes or source file, mode) ------------------------------------------

Item = tuple[Path, "bytes | Path", int]


def linux_items(executable: str, data_home: Path) -> list[Item]:
    items: list[Item] = [
        (
            data_home / "applications" / f"{res.APP_ID}.desktop",
            desktop_entry_text(executable).encode(),
            0o644,
        )
    ]
    for size in res.ICON_SIZES:
        src = res.icon_png(size)
        if src.exists():
            dest = data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / src.name
            items.append((dest, src, 0o644))
    svg = res.icon_svg()
    if svg.exists():
        dest = data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{res.APP_ID}.svg"
        items.append((dest, svg, 0o644))
    return items


def mac_items(executable: str, home: str) -> list[Item]:
    app = Path(home) / "Applications" / f"{res.APP_NAME}.app" / "Contents"
    items: list[Item] = [
        (app / "Info.plist", mac_info_plist(res.GUI_SCRIPT), 0o644),
        (app / "MacOS" / res.GUI_SCRIPT, mac_launcher(executable).encode(), 0o755),
    ]
    if res.icon_icns().exists():
        items.append((app / "Resources" / "uv-cache-inspector.icns", res.icon_icns(), 0o644))
    return items


# -- doing it ------------------------------------------------------------------------------


def _missing_dirs(path: Path) -> list[Path]:
    out = []
    p = path.parent
    while not p.exists():
        out.append(p)
        if p.parent == p:
            break
        p = p.parent
    return out


def _write(item: Item) -> None:
    path, content, mode = item
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.read_bytes() if isinstance(content, Path) else content
    tmp = path.with_name(f".{path.name}.uvci-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # a menu never sees half a file


def _load_manifest(mdir: Path) -> dict[str, Any]:
    try:
        data = json.loads((mdir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def install(
    *,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    executable: str | None = None,
    run_powershell: bool = True,
) -> ShortcutResult:
    env = dict(os.environ if env is None else env)
    plat = platform_key(platform)
    exe = executable or gui_executable(plat)
    home = home_dir(env)
    mdir = manifest_dir(plat, env)
    result = ShortcutResult(plat, "install", dry_run, target=exe)
    if plat == "windows":
        lnk = start_menu_dir(env) / f"{res.APP_NAME}.lnk"
        result.written = [str(lnk)]
        if dry_run:
            return result
        script = windows_shortcut_script(str(lnk), exe, str(res.icon_ico()), home)
        if run_powershell:
            lnk.parent.mkdir(parents=True, exist_ok=True)
            from uv_cache_inspector.core.platform.subproc import NO_WINDOW

            proc = subprocess.run(
                ["powershell", "-NoProfile", "-NonInteractive", "-Command", script],
                capture_output=True,
                text=True,
                check=False,
                creationflags=NO_WINDOW,
            )
            if proc.returncode != 0:
                raise InspectorError(
                    f"Windows did not write the shortcut: {proc.stderr.strip() or proc.stdout}"
                )
        _save_manifest(mdir, [lnk], [], dry_run)
        return result
    items = mac_items(exe, home) if plat == "macos" else linux_items(exe, xdg_data_home(env, home))
    created: list[Path] = []
    for path, _, _ in items:
        for d in _missing_dirs(path):
            if d not in created:
                created.append(d)
    result.written = [str(p) for p, _, _ in items]
    if plat == "linux":
        result.notes.append(
            "Your desktop picks the entry up by itself; log out and in if it does not appear."
        )
    if dry_run:
        return result
    for item in items:
        _write(item)
    _save_manifest(mdir, [p for p, _, _ in items], created, dry_run)
    return result


def _save_manifest(mdir: Path, files: Sequence[Path], dirs: Sequence[Path], dry_run: bool) -> None:
    if dry_run:
        return
    old = _load_manifest(mdir)
    known_dirs = [str(d) for d in dirs] + [
        d for d in old.get("dirs", []) if isinstance(d, str) and d not in map(str, dirs)
    ]
    for d in _missing_dirs(mdir / MANIFEST):  # the manifest's own folder, and any above it
        if str(d) not in known_dirs:
            known_dirs.append(str(d))
    mdir.mkdir(parents=True, exist_ok=True)
    data = {
        "version": __version__,
        "files": sorted({*map(str, files), *old.get("files", [])}),
        "dirs": known_dirs,
    }
    (mdir / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def uninstall(
    *,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> ShortcutResult:
    """Remove what install() wrote (by its manifest): files, then the folders it created, deepest
    first, each only if empty. Nothing else is touched."""
    env = dict(os.environ if env is None else env)
    plat = platform_key(platform)
    mdir = manifest_dir(plat, env)
    manifest = _load_manifest(mdir)
    result = ShortcutResult(plat, "uninstall", dry_run)
    files = [Path(f) for f in manifest.get("files", []) if isinstance(f, str)]
    for f in files:
        if f.is_file() or f.is_symlink():
            result.removed.append(str(f))
            if not dry_run:
                f.unlink()
    if not manifest:
        result.notes.append("Nothing to remove: no shortcut was installed by uvci for this user.")
        return result
    if dry_run:
        return result
    (mdir / MANIFEST).unlink(missing_ok=True)
    dirs = [Path(d) for d in manifest.get("dirs", []) if isinstance(d, str)]
    for d in sorted(set(dirs), key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()  # only when empty
        except OSError:
            pass
    return result


__all__: Sequence[str] = [
    "ShortcutResult",
    "desktop_entry_text",
    "install",
    "linux_items",
    "mac_info_plist",
    "mac_items",
    "uninstall",
    "windows_shortcut_script",
]
