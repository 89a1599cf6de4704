"""Qt's xcb plugin and the system libraries it needs: found missing before Qt aborts.

The pure parts run on the real plugin PySide6 ships and on this machine's loader cache; the
whole app runs once against a copy of the plugin whose needs name a library that exists nowhere,
so the loader really refuses it, as it does on a desktop without libxcb-cursor0.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import APP
from uv_cache_inspector.gui import native_libs as nl

START = "from uv_cache_inspector.gui.app import main; raise SystemExit(main())"
THE_THREE = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


@pytest.fixture(scope="module")
def plugins_dir() -> str:
    from PySide6.QtCore import QLibraryInfo

    return QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)


@pytest.fixture(scope="module")
def xcb_plugin(plugins_dir: str) -> str:
    path = os.path.join(plugins_dir, "platforms", "libqxcb.so")
    assert os.path.isfile(path), path
    return path


def test_reads_what_the_real_plugin_needs(xcb_plugin, plugins_dir):
    elf = nl.read_elf(xcb_plugin)
    assert elf is not None
    assert elf.bits == struct.calcsize("P") * 8
    for lib in ["libQt6XcbQpa.so.6", "libxcb.so.1", *THE_THREE]:
        assert lib in elf.needed, elf.needed
    # RUNPATH $ORIGIN/../../lib, expanded: where PySide6 keeps Qt's own libraries.
    qt_lib = os.path.normpath(os.path.join(plugins_dir, "..", "lib"))
    assert os.path.realpath(qt_lib) in [os.path.realpath(d) for d in elf.runpath]
    assert elf.rpath == ()


def test_what_is_not_elf_is_refused(tmp_path):
    assert nl.parse_elf(b"") is None
    assert nl.parse_elf(b"#!/bin/sh\necho hi\n" * 10) is None
    assert nl.read_elf(str(tmp_path / "missing.so")) is None
    (tmp_path / "empty.so").write_bytes(b"")
    assert nl.read_elf(str(tmp_path / "empty.so")) is None
    assert nl.read_elf(str(tmp_path)) is None
    with open(sys.executable, "rb") as fh:
        head = fh.read(200)  # a real ELF header whose program headers are cut off
    assert nl.parse_elf(head) is None


def test_origin_expansion():
    assert nl.expand_origin("$ORIGIN/../lib:/opt/x::${ORIGIN}", "/a/b") == [
        "/a/lib",
        "/opt/x",
        "/a/b",
    ]
    assert nl.expand_origin("$LIB/x:/ok", "/a") == ["/ok"]  # other loader tokens: not guessed


def _cache_bytes(paths: list[str]) -> bytes:
    """An ld.so.cache in glibc's current format (header, 24-byte entries, then strings)."""
    strings = b""
    offsets = []
    head = 48 + 24 * len(paths)
    for p in paths:
        key = head + len(strings)
        strings += os.path.basename(p).encode() + b"\0"
        value = head + len(strings)
        strings += p.encode() + b"\0"
        offsets.append((key, value))
    out = nl.CACHE_MAGIC + struct.pack("=II", len(paths), len(strings)) + bytes(20)
    assert len(out) == 48
    for key, value in offsets:
        out += struct.pack("=iIIIQ", 0x0303, key, value, 0, 0)
    return out + strings


def test_reads_the_loader_cache():
    paths = ["/usr/lib/libone.so.1", "/lib/x86_64-linux-gnu/libtwo.so.2"]
    assert nl.ld_cache_paths(_cache_bytes(paths)) == paths
    # After the old format's part, as glibc before 2.32 wrote it.
    assert nl.ld_cache_paths(b"ld.so-1.7.0\0" + bytes(4) + _cache_bytes(paths)) == paths
    assert nl.ld_cache_paths(b"not a cache") == []
    assert nl.ld_cache_paths(_cache_bytes(paths)[:60]) == []  # cut short
    with open("/etc/ld.so.cache", "rb") as fh:
        real = nl.ld_cache_paths(fh.read())
    assert any(os.path.basename(p) == "libc.so.6" for p in real), real[:5]


def _system_closure(plugin: str) -> dict[str, str]:
    """soname -> file, for every library of the plugin's tree that this machine has."""
    finder = nl.Finder.from_system(os.environ)
    top = finder.elf(plugin)
    assert top is not None
    found: dict[str, str] = {}
    queue = [top]
    while queue:
        e = queue.pop(0)
        for name in e.needed:
            if name in found or nl._loader_name(name):
                continue
            path = finder.find(name, e, top)
            if path is not None:
                found[name] = path
                elf = finder.elf(path)
                assert elf is not None
                queue.append(elf)
    return found


def test_every_missing_library_is_named_at_once(xcb_plugin):
    """A machine without the three libraries of the uv #11018 user's Debian 12: all named,
    breadth first, not one per attempt."""
    have = _system_closure(xcb_plugin)
    kept = [p for name, p in have.items() if name not in THE_THREE]
    finder = nl.Finder(cache=kept, default_dirs=[])
    assert nl.missing_libraries(xcb_plugin, finder) == THE_THREE
    # With everything there, nothing is missing.
    assert (
        nl.missing_libraries(xcb_plugin, nl.Finder(cache=list(have.values()), default_dirs=[]))
        == []
    )
    # A library needed only by another library (libXau, by libxcb) is found missing too.
    assert "libXau.so.6" not in (nl.read_elf(xcb_plugin).needed)  # type: ignore[union-attr]
    kept = [p for name, p in have.items() if name != "libXau.so.6"]
    assert nl.missing_libraries(xcb_plugin, nl.Finder(cache=kept, default_dirs=[])) == [
        "libXau.so.6"
    ]


def test_ld_library_path_and_architecture(xcb_plugin, tmp_path):
    have = _system_closure(xcb_plugin)
    libdir = tmp_path / "libs"
    libdir.mkdir()
    for name in THE_THREE:
        if name in have:
            os.symlink(have[name], libdir / name)
    rest = [p for name, p in have.items() if name not in THE_THREE]
    found_here = [n for n in THE_THREE if n in have]
    finder = nl.Finder(str(libdir), cache=rest, default_dirs=[])
    assert nl.missing_libraries(xcb_plugin, finder) == [n for n in THE_THREE if n not in have]
    assert found_here  # this machine has at least one of them to put on LD_LIBRARY_PATH
    # A file of the right name but not a library of this architecture does not count.
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    for name in THE_THREE:
        (wrong / name).write_bytes(b"\x7fELF" + b"\0" * 60)
    finder = nl.Finder(str(wrong), cache=rest, default_dirs=[])
    assert nl.missing_libraries(xcb_plugin, finder) == THE_THREE


def test_which_platform_qt_picks():
    assert nl.platform_order({"DISPLAY": ":0"}) == ["xcb"]
    assert nl.platform_order({}) == ["xcb"]
    assert nl.platform_order({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == [
        "wayland",
        "xcb",
    ]
    assert nl.platform_order({"XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert nl.platform_order({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}) == ["offscreen"]
    assert nl.platform_order({"QT_QPA_PLATFORM": "wayland;xcb:nomitshm"}) == ["wayland", "xcb"]


def test_the_message_names_libraries_and_commands():
    text = nl.message(THE_THREE, "libxcb-cursor.so.0: cannot open shared object file", "/p")
    assert "Missing: libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in text
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in text
    assert "sudo pacman -S xcb-util-cursor xcb-util-wm xcb-util-keysyms" in text
    assert "sudo zypper install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in text
    assert "uvci doctor" in text
    # One package for several libraries is named once; an unknown library is searched for.
    cmds = dict(nl.install_commands(["libxcb-randr.so.0", "libxcb-shm.so.0", "libfoo.so.9"]))
    assert cmds["Fedora, RHEL"] == "sudo dnf install libxcb"
    assert cmds["Debian, Ubuntu"] == "sudo apt install libxcb-randr0 libxcb-shm0"
    text = nl.message(["libfoo.so.9"], "x", "/p")
    assert "provides libfoo.so.9" in text and "apt install" not in text
    # Nothing found missing, yet the loader refused: its own words are shown.
    text = nl.message([], "undefined symbol: xcb_foo", "/plugins/platforms/libqxcb.so")
    assert "undefined symbol: xcb_foo" in text


def test_check_asks_the_loader_first(xcb_plugin, plugins_dir):
    have = _system_closure(xcb_plugin)
    without = nl.Finder(cache=[p for n, p in have.items() if n not in THE_THREE], default_dirs=[])
    loaded: list[str] = []

    def refuse(path: str) -> str:
        loaded.append(path)
        return "libxcb-cursor.so.0: cannot open shared object file: No such file or directory"

    def run(env, load=refuse):  # type: ignore[no-untyped-def]
        return nl.check(env, load=load, plugins_dir=lambda: plugins_dir, finder=lambda _e: without)

    text = run({"DISPLAY": ":0"})
    assert text is not None and "sudo apt install libxcb-cursor0 libxcb-icccm4" in text
    assert loaded == [xcb_plugin]
    # The loader accepts it: whatever this module thinks is missing, the app starts.
    assert run({"DISPLAY": ":0"}, load=lambda _p: None) is None
    # Another platform was asked for: xcb is not even looked at.
    loaded.clear()
    assert run({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is None
    assert loaded == [os.path.join(plugins_dir, "platforms", "libqoffscreen.so")]
    # Wayland first and it loads: Qt uses it, the xcb libraries do not matter.
    assert run({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}, load=lambda _p: None) is None
    # Wayland first but refused too: Qt falls back to xcb, which is then what counts.
    loaded.clear()
    assert run({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}) is not None
    assert [os.path.basename(p) for p in loaded] == ["libqwayland.so", "libqxcb.so"]


def test_the_app_prints_the_libraries_instead_of_aborting(xcb_plugin, tmp_path):
    """The real app and the real loader, on a copy of the xcb plugin that needs a library no
    system has (one name changed, same length): exit 2 and the message, not Qt's abort (134)."""
    qt = Path(xcb_plugin).parents[2]
    fake = tmp_path / "Qt"
    (fake / "plugins" / "platforms").mkdir(parents=True)
    os.symlink(qt / "lib", fake / "lib")  # $ORIGIN/../../lib still finds Qt's libraries
    data = Path(xcb_plugin).read_bytes()
    assert data.count(b"libxcb-keysyms.so.1\0") >= 1
    patched = fake / "plugins" / "platforms" / "libqxcb.so"
    patched.write_bytes(data.replace(b"libxcb-keysyms.so.1\0", b"libxcb-keysyXs.so.1\0"))
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
    env.update(
        PYTHONPATH=APP,
        DISPLAY=":99",  # never reached: the check comes before Qt opens the display
        QT_QPA_PLATFORM_PLUGIN_PATH=str(patched.parent),
    )
    done = subprocess.run(
        [sys.executable, "-c", START, "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Missing: " in done.stderr and "libxcb-keysyXs.so.1" in done.stderr, done.stderr
    assert "provides libxcb-keysyXs.so.1" in done.stderr
    assert "Traceback" not in done.stderr and "qt.qpa" not in done.stderr
    assert Path(xcb_plugin).read_bytes() == data  # the real plugin stayed as it was
