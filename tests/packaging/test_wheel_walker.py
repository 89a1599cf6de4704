"""The wheel carries the compiled walker where a C compiler is found, and installs and runs
without one (the Python walker then scans, and `uvci --version` says so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SO = "uv_cache_inspector/core/cache/_walker" + sysconfig.get_config_var("EXT_SUFFIX")


def _build(dest: Path, *, source: Path = ROOT, target: str = "wheel", **env: str) -> Path:
    built = subprocess.run(  # hatchling from the dev environment: no download
        [sys.executable, "-m", "hatchling", "build", "-t", target, "-d", str(dest)],
        capture_output=True,
        text=True,
        cwd=source,
        env={**os.environ, **env},
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (out,) = dest.glob("*.whl" if target == "wheel" else "*.tar.gz")
    return out


def _install(wheel: Path, venv: Path, uv_bin: str) -> Path:
    """A fresh venv with the wheel and its dependencies, from uv's cache (`uv sync` filled it)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    for cmd in (
        [uv_bin, "venv", "-q", "--python", sys.executable, str(venv)],
        [uv_bin, "pip", "install", "-q", "--offline", "--python", str(venv / "bin" / "python"),
         str(wheel)],
    ):  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
    return venv / "bin" / "uvci"


def _scan_total(uvci: Path, cache: Path) -> int:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "UVCI_WALKER"}}
    out = subprocess.run(
        [str(uvci), "scan", "--json", "--workers", "2", "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return int(json.loads(out.stdout)["total_bytes"])


def _version(uvci: Path) -> str:
    out = subprocess.run([str(uvci), "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_wheel_carries_the_compiled_walker(tmp_path, uv_bin, real_cache, uvr):
    wheel = _build(tmp_path / "dist")
    assert not wheel.name.endswith("-none-any.whl")  # a platform wheel: it holds a binary
    names = zipfile.ZipFile(wheel).namelist()
    assert names.count(SO) == 1
    assert not [n for n in names if n.endswith(".c")]
    uvci = _install(wheel, tmp_path / "venv", uv_bin)
    assert _version(uvci).endswith("(compiled walker)")
    assert _scan_total(uvci, real_cache) == uvr.cache_size(real_cache)


def test_without_a_compiler_the_wheel_installs_and_runs(tmp_path, uv_bin, real_cache, uvr):
    wheel = _build(tmp_path / "dist", CC="/nonexistent/cc")
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "/_walker." in n and n.endswith((".so", ".pyd"))]
    uvci = _install(wheel, tmp_path / "venv", uv_bin)
    assert _version(uvci).endswith("(Python walker: the compiled one is not built)")
    assert _scan_total(uvci, real_cache) == uvr.cache_size(real_cache)


def test_the_sdist_builds_a_wheel_with_the_walker(tmp_path):
    sdist = _build(tmp_path / "sdist", target="sdist")
    with tarfile.open(sdist) as tf:
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(tmp_path / "src", **kwargs)  # type: ignore[arg-type]
    (source,) = (tmp_path / "src").iterdir()
    assert (source / "hatch_build.py").is_file()
    wheel = _build(tmp_path / "dist", source=source)
    assert SO in zipfile.ZipFile(wheel).namelist()
