"""Before Qt starts on Linux: can its X11 (xcb) platform plugin load here?

PySide6's wheels carry Qt but not the X11 helper libraries its xcb plugin links against
(libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...). When one is missing, Qt prints a
generic message and aborts the process (exit 134); a user installs one library, starts again,
and meets the next. This module finds out before QApplication exists, and names every missing
library at once with the command that installs them.

Qt-free on purpose: nothing here may load a platform plugin. The pure parts (the ELF dynamic
section, glibc's ld.so.cache, the loader's search order, Qt's choice of platform, the package
names) are functions of their inputs and are tested on files and bytes; `check()` puts them
together with the one ground truth there is: the dynamic loader itself (dlopen of the plugin).
Only when the loader refuses the plugin is the list of missing libraries worked out, so a
mistake in this module can never keep a working app from starting.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# -- ELF: which libraries a shared object needs, and where it says to look for them -----------

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 1, 5, 15, 29


@dataclass(frozen=True, slots=True)
class Elf:
    bits: int  # 32 or 64
    machine: int  # e_machine: a library of another architecture does not count
    needed: tuple[str, ...]
    rpath: tuple[str, ...]  # DT_RPATH entries, $ORIGIN expanded
    runpath: tuple[str, ...]  # DT_RUNPATH entries, $ORIGIN expanded


def parse_elf(data: bytes | mmap.mmap, origin: str = "") -> Elf | None:
    """The dynamic section of an ELF shared object or executable; None when `data` is not one.

    Reads program headers only (what the loader reads; stripped files keep them): PT_DYNAMIC
    for DT_NEEDED / DT_RPATH / DT_RUNPATH, PT_LOAD to turn DT_STRTAB's address into an offset.
    """
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    bits = 32 if data[4] == 1 else 64
    end = "<" if data[5] == 1 else ">"
    try:
        (machine,) = struct.unpack_from(end + "H", data, 18)
        if bits == 64:
            (phoff,) = struct.unpack_from(end + "Q", data, 32)
            phentsize, phnum = struct.unpack_from(end + "HH", data, 54)
        else:
            (phoff,) = struct.unpack_from(end + "I", data, 28)
            phentsize, phnum = struct.unpack_from(end + "HH", data, 42)
        loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
        dynamic: tuple[int, int] | None = None
        for i in range(phnum):
            at = phoff + i * phentsize
            if bits == 64:
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                    end + "IIQQQQ", data, at
                )
            else:
                p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                    end + "IIIII", data, at
                )
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_filesz, p_offset))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return Elf(bits, machine, (), (), ())
        entry = struct.Struct(end + ("qQ" if bits == 64 else "iI"))
        tags: list[tuple[int, int]] = []
        offset, size = dynamic
        for at in range(offset, offset + size - entry.size + 1, entry.size):
            tag, value = entry.unpack_from(data, at)
            if tag == DT_NULL:
                break
            tags.append((tag, value))
        strtab = next((v for t, v in tags if t == DT_STRTAB), None)
        if strtab is None:
            return Elf(bits, machine, (), (), ())
        base = next((off + strtab - va for va, sz, off in loads if va <= strtab < va + sz), None)
        if base is None:
            return None

        def string(at: int) -> str:
            return _cstring(data, base + at)

        needed = tuple(string(v) for t, v in tags if t == DT_NEEDED)
        rpath = tuple(d for t, v in tags if t == DT_RPATH for d in expand_origin(string(v), origin))
        runpath = tuple(
            d for t, v in tags if t == DT_RUNPATH for d in expand_origin(string(v), origin)
        )
    except (struct.error, ValueError):
        return None
    return Elf(bits, machine, needed, rpath, runpath)


def _cstring(data: bytes | mmap.mmap, at: int) -> str:
    stop = data.find(b"\0", at)
    if stop < 0:
        raise ValueError("unterminated string")
    return data[at:stop].decode("utf-8", "replace")


def expand_origin(value: str, origin: str) -> list[str]:
    """'$ORIGIN/../lib:/opt/x' -> directories; entries with other loader tokens are dropped."""
    out = []
    for part in value.split(":"):
        d = part.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if d and "$" not in d:
            out.append(os.path.normpath(d))
    return out


def read_elf(path: str) -> Elf | None:
    """parse_elf on a file, mapped rather than read (Qt's ICU data alone is 30 MiB)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return parse_elf(data, os.path.dirname(os.path.realpath(path)))
    except (OSError, ValueError):  # missing, a directory, empty (mmap refuses length 0)
        return None


# -- glibc's loader cache (/etc/ld.so.cache, written by ldconfig) ------------------------------

CACHE_MAGIC = b"glibc-ld.so.cache1.1"


def ld_cache_paths(data: bytes) -> list[str]:
    """The library paths listed in an ld.so.cache (the format glibc has written since 2.32, also
    found after the old-format part of the files older glibc wrote). [] when unreadable."""
    start = data.find(CACHE_MAGIC)
    if start < 0:
        return []
    try:
        nlibs, _strings = struct.unpack_from("=II", data, start + 20)
        out = []
        for i in range(nlibs):
            _flags, _key, value = struct.unpack_from("=iII", data, start + 48 + i * 24)
            # Offsets count from the start of the new-format part.
            at = start + value
            out.append(_cstring(data, at))
    except (struct.error, ValueError):
        return []
    return out


def _loader_name(name: str) -> bool:
    """The dynamic loader itself (listed as needed by libc): always there if anything runs."""
    return name.startswith(("ld-linux", "ld64.so", "ld.so"))


class Finder:
    """Where the dynamic loader would find a library: the needing object's DT_RPATH (when it has
    no DT_RUNPATH), LD_LIBRARY_PATH, its DT_RUNPATH, the ld.so.cache, the default directories;
    the first file of the same class and machine wins."""

    DEFAULT_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib")

    def __init__(
        self,
        ld_library_path: str = "",
        cache: Iterable[str] = (),
        default_dirs: Sequence[str] = DEFAULT_DIRS,
    ) -> None:
        self.env_dirs = [d for d in ld_library_path.replace(";", ":").split(":") if d]
        self.cached: dict[str, list[str]] = {}
        for path in cache:
            self.cached.setdefault(os.path.basename(path), []).append(path)
        self.default_dirs = list(default_dirs)
        self._elf: dict[str, Elf | None] = {}

    @classmethod
    def from_system(cls, env: Mapping[str, str]) -> Finder:
        try:
            with open("/etc/ld.so.cache", "rb") as fh:
                cache = ld_cache_paths(fh.read())
        except OSError:
            cache = []
        return cls(env.get("LD_LIBRARY_PATH", ""), cache)

    def elf(self, path: str) -> Elf | None:
        if path not in self._elf:
            self._elf[path] = read_elf(path)
        return self._elf[path]

    def find(self, name: str, needer: Elf, like: Elf) -> str | None:
        if "/" in name:
            candidates = [name]
        else:
            dirs = [*(needer.rpath if not needer.runpath else ()), *self.env_dirs]
            dirs += needer.runpath
            candidates = [os.path.join(d, name) for d in dirs]
            candidates += self.cached.get(name, [])
            candidates += [os.path.join(d, name) for d in self.default_dirs]
        for c in candidates:
            e = self.elf(c)
            if e is not None and (e.bits, e.machine) == (like.bits, like.machine):
                return c
        return None


def missing_libraries(path: str, finder: Finder) -> list[str]:
    """Every library in `path`'s dependency tree that the loader would not find, in the order
    met (breadth first: the plugin's own needs before their needs)."""
    top = finder.elf(path)
    if top is None:
        return []
    seen: set[str] = set()
    missing: list[str] = []
    queue = [top]
    while queue:
        needer = queue.pop(0)
        for name in needer.needed:
            if name in seen or _loader_name(name):
                continue
            seen.add(name)
            found = finder.find(name, needer, top)
            if found is None:
                missing.append(name)
            else:
                e = finder.elf(found)
                if e is not None:
                    queue.append(e)
    return missing


# -- Qt's choice of platform plugin ---------------------------------------------------------


def platform_order(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt 6 tries, in order (QGuiApplicationPrivate::createPlatform-
    Integration): QT_QPA_PLATFORM when set; otherwise wayland first in a Wayland session, then
    xcb when DISPLAY is set, then the build's default (xcb)."""
    chosen = env.get("QT_QPA_PLATFORM", "")
    if not chosen:
        order: list[str] = []
        if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
            order.append("wayland")
        order.append("xcb")
        return order
    return [p.split(":", 1)[0].strip() for p in chosen.split(";") if p.strip()]


# -- what to install -------------------------------------------------------------------------

MANAGERS = (
    ("apt", "Debian, Ubuntu", "sudo apt install"),
    ("dnf", "Fedora, RHEL", "sudo dnf install"),
    ("pacman", "Arch", "sudo pacman -S"),
    ("zypper", "openSUSE", "sudo zypper install"),
)

# soname -> (apt, dnf, pacman, zypper): the libraries Qt's xcb plugin links against that a
# desktop may lack. Names from each distribution's package index.
PACKAGES: dict[str, tuple[str, str, str, str]] = {
    "libxcb-cursor.so.0": (
        "libxcb-cursor0",
        "xcb-util-cursor",
        "xcb-util-cursor",
        "libxcb-cursor0",
    ),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm", "libxcb-icccm4"),
    "libxcb-keysyms.so.1": (
        "libxcb-keysyms1",
        "xcb-util-keysyms",
        "xcb-util-keysyms",
        "libxcb-keysyms1",
    ),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image", "libxcb-image0"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
        "libxcb-render-util0",
    ),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util", "libxcb-util1"),
    "libxkbcommon-x11.so.0": (
        "libxkbcommon-x11-0",
        "libxkbcommon-x11",
        "libxkbcommon-x11",
        "libxkbcommon-x11-0",
    ),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon", "libxkbcommon0"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb", "libxcb1"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb", "libxcb-randr0"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb", "libxcb-render0"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb", "libxcb-shape0"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb", "libxcb-shm0"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb", "libxcb-sync1"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb", "libxcb-xfixes0"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb", "libxcb-xkb1"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11", "libX11-xcb1"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11", "libX11-6"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd", "libGL1"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd", "libEGL1"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd", "libOpenGL0"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig", "libfontconfig1"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2", "libfreetype6"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus", "libdbus-1-3"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2", "libglib-2_0-0"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2", "libgthread-2_0-0"),
}


def install_commands(missing: Sequence[str]) -> list[tuple[str, str]]:
    """[(distributions, command)] that install the packages providing `missing` (the known
    ones; see unknown_libraries for the rest)."""
    out = []
    for i, (_tool, distros, prefix) in enumerate(MANAGERS):
        names: list[str] = []
        for lib in missing:
            pkgs = PACKAGES.get(lib)
            if pkgs is not None and pkgs[i] not in names:
                names.append(pkgs[i])
        if names:
            out.append((distros, f"{prefix} {' '.join(names)}"))
    return out


def unknown_libraries(missing: Sequence[str]) -> list[str]:
    return [lib for lib in missing if lib not in PACKAGES]


def message(missing: Sequence[str], load_error: str, plugin: str) -> str:
    """What the user reads on the terminal instead of Qt's abort."""
    lines = [
        (
            "uv-cache-inspector: the window cannot open on this X11 display: Qt's xcb platform "
            "plugin needs system libraries that are not installed here."
        ),
    ]
    if missing:
        lines.append(f"Missing: {', '.join(missing)}")
        commands = install_commands(missing)
        if commands:
            lines.append("Install them, then start the app again:")
            width = max(len(d) for d, _ in commands) + 1
            lines += [f"  {(d + ':').ljust(width)} {cmd}" for d, cmd in commands]
        unknown = unknown_libraries(missing)
        if unknown:
            names = " ".join(unknown)
            lines.append(
                f"Find the package that provides {names} with `apt-file search`, "
                "`dnf provides '*/NAME'`, `pacman -F` or `zypper search --provides`."
            )
    else:
        lines.append(f"The loader says: {load_error}")
        lines.append(f"(plugin: {plugin})")
    lines.append(
        "The command line needs none of them: `uvci doctor`, `uvci repair`, `uvci prune`. "
        "Or open the window without a screen: QT_QPA_PLATFORM=offscreen uv-cache-inspector "
        "--screenshot FILE."
    )
    return "\n".join(lines)


# -- putting it together ---------------------------------------------------------------------


def _dlopen(path: str) -> str | None:
    """None when the loader accepts `path` (it is then loaded, as Qt would load it next)."""
    import ctypes

    try:
        ctypes.CDLL(path, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        return str(exc)
    return None


def plugin_file(name: str, env: Mapping[str, str], builtin: str | None) -> str | None:
    """The file of platform plugin `name` where Qt looks: QT_QPA_PLATFORM_PLUGIN_PATH, then
    QT_PLUGIN_PATH's platforms/, then Qt's own plugin directory."""
    files = [f"libq{name}.so"] + (["libqwayland.so"] if name.startswith("wayland") else [])
    dirs = [d for d in env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(":") if d]
    dirs += [os.path.join(d, "platforms") for d in env.get("QT_PLUGIN_PATH", "").split(":") if d]
    if builtin:
        dirs.append(os.path.join(builtin, "platforms"))
    for d in dirs:
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p):
                return p
    return None


def _qt_plugins_dir() -> str | None:
    try:
        from PySide6.QtCore import QLibraryInfo  # QtCore only: no platform plugin is loaded
    except ImportError:
        return None
    return QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)


def check(
    env: Mapping[str, str] | None = None,
    *,
    load: Callable[[str], str | None] = _dlopen,
    plugins_dir: Callable[[], str | None] = _qt_plugins_dir,
    finder: Callable[[Mapping[str, str]], Finder] = Finder.from_system,
) -> str | None:
    """The message to print when Qt would abort for want of the xcb plugin's libraries; None
    when the platform Qt picks loads (or is not xcb, or this is not Linux)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    builtin = plugins_dir()
    for name in platform_order(env):
        path = plugin_file(name, env, builtin)
        if path is None:
            continue
        error = load(path)
        if error is None:
            return None  # Qt can load this one: it is what the window will use
        if name == "xcb":
            return message(missing_libraries(path, finder(env)), error, path)
    return None
