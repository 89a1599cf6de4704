"""uvci install-shortcut: a valid entry in a temporary HOME that starts the app; --uninstall
removes all it wrote. The Windows and macOS writers are checked on their pure parts."""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import subprocess
from pathlib import Path

from tests.cli.helpers import uvci
from tests.harness.uvcache import tree_state
from uv_cache_inspector.core import resources as res
from uv_cache_inspector.core.platform import shortcut

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home with space"
    (home / ".local" / "share").mkdir(parents=True)
    (home / ".local" / "share" / "keep-me.txt").write_text("the user's own file")
    env = {"HOME": str(home), "XDG_DATA_HOME": "", "APPDATA": "", "LOCALAPPDATA": ""}
    return home, env


def _exec_argv(entry: Path) -> list[str]:
    line = next(x for x in entry.read_text().splitlines() if x.startswith("Exec="))
    return shlex.split(line[len("Exec=") :].replace("%%", "%"))


def test_linux_entry_is_valid_starts_the_app_and_uninstall_removes_all(tmp_path, real_cache):
    home, env = _home(tmp_path)
    before = tree_state(home)

    dry = uvci("install-shortcut", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)["written"]
    assert tree_state(home) == before  # a dry run writes nothing

    done = uvci("install-shortcut", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["written"] == planned
    data = home / ".local" / "share"
    entry = data / "applications" / f"{res.APP_ID}.desktop"
    assert str(entry) in result["written"]
    valid = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert valid.returncode == 0 and not valid.stdout.strip(), valid.stdout
    for size in res.ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{res.APP_ID}.png"
        assert icon.read_bytes() == res.icon_png(size).read_bytes()

    # What the menu would run starts the app (offscreen, rendering the real cache).
    argv = _exec_argv(entry)
    assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
    png = tmp_path / "from-menu.png"
    started = subprocess.run(
        [*argv, "--cache-dir", str(real_cache), "--screenshot", str(png)],
        capture_output=True,
        text=True,
        timeout=180,
        # (the app's own cache of uv versions goes elsewhere: this test counts what the
        # shortcut writes)
        env={
            **os.environ,
            **env,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CACHE_HOME": str(tmp_path / "app-cache"),
        },
    )
    assert started.returncode == 0, started.stderr
    assert png.stat().st_size > 10_000

    gone = uvci("install-shortcut", "--uninstall", "--json", env=env)
    assert gone.returncode == 0, gone.stderr
    assert sorted(json.loads(gone.stdout)["removed"]) == sorted(result["written"])
    assert tree_state(home) == before  # every file and folder it made is gone, nothing else

    again = uvci("install-shortcut", "--uninstall", env=env)
    assert again.returncode == 0 and "Nothing to remove" in again.stdout


def test_xdg_data_home_is_honoured_only_when_absolute(tmp_path):
    home, env = _home(tmp_path)
    custom = tmp_path / "data"
    r = shortcut.install(
        env={**env, "XDG_DATA_HOME": str(custom)}, platform="linux", executable="/opt/x/uvci-gui"
    )
    assert all(p.startswith(str(custom)) for p in r.written)
    shortcut.uninstall(env={**env, "XDG_DATA_HOME": str(custom)}, platform="linux")
    r = shortcut.install(
        env={**env, "XDG_DATA_HOME": "relative/dir"},
        platform="linux",
        executable="/opt/x/uvci-gui",
        dry_run=True,
    )
    assert all(p.startswith(str(home / ".local" / "share")) for p in r.written)


def test_exec_line_quotes_odd_paths():
    text = shortcut.desktop_entry_text('/home/a b/it\'s "x" $HOME/100%/uv-cache-inspector')
    exec_line = next(x for x in text.splitlines() if x.startswith("Exec="))
    assert exec_line == ('Exec="/home/a b/it\'s \\\\"x\\\\" \\\\$HOME/100%%/uv-cache-inspector"')


def test_windows_shortcut_script_and_paths():
    env = {"APPDATA": r"C:\Users\Zoë O'Neil\AppData\Roaming", "HOME": r"C:\Users\Zoë O'Neil"}
    lnk = shortcut.start_menu_dir(env) / "uv Cache Inspector.lnk"
    assert str(lnk).endswith(
        os.path.join("Microsoft", "Windows", "Start Menu", "Programs", "uv Cache Inspector.lnk")
    )
    script = shortcut.windows_shortcut_script(
        r"C:\Users\Zoë O'Neil\Start\uv Cache Inspector.lnk",
        r"C:\Users\Zoë O'Neil\.local\bin\uv-cache-inspector.exe",
        r"C:\icons\uv-cache-inspector.ico",
        r"C:\Users\Zoë O'Neil",
    )
    # Single-quoted PowerShell strings: a quote is doubled, nothing else is interpreted.
    assert "CreateShortcut('C:\\Users\\Zoë O''Neil\\Start\\uv Cache Inspector.lnk')" in script
    assert "$s.TargetPath = 'C:\\Users\\Zoë O''Neil\\.local\\bin\\uv-cache-inspector.exe'" in script
    assert "$s.IconLocation = 'C:\\icons\\uv-cache-inspector.ico,0'" in script
    assert script.endswith("$s.Save()")
    dry = shortcut.install(
        env=env, platform="win32", executable=r"C:\x\uv-cache-inspector.exe", dry_run=True
    )
    assert dry.written == [str(lnk)]


def test_macos_bundle_starts_the_gui_script(tmp_path):
    home, env = _home(tmp_path)
    before = tree_state(home)
    gui = str(VENV_BIN / "uv-cache-inspector")
    r = shortcut.install(env=env, platform="darwin", executable=gui)
    contents = home / "Applications" / "uv Cache Inspector.app" / "Contents"
    info = plistlib.loads((contents / "Info.plist").read_bytes())
    assert info["CFBundleIdentifier"] == res.APP_ID
    assert info["CFBundleExecutable"] == "uv-cache-inspector"
    assert (contents / "Resources" / info["CFBundleIconFile"]).read_bytes()[:4] == b"icns"
    launcher = contents / "MacOS" / "uv-cache-inspector"
    assert os.access(launcher, os.X_OK)
    # The launcher is a shell script: it runs here too, and reaches the app.
    out = subprocess.run([str(launcher), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--screenshot" in out.stdout, out.stderr
    assert len(r.written) == 3
    shortcut.uninstall(env=env, platform="darwin")
    assert tree_state(home) == before
