"""Shared fixtures: a loopback package index, real uv, real caches, an unprivileged user."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every test that touches Qt renders offscreen (CI has no display; a developer's stays untouched).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT))

from tests.harness.dists import write_sdist, write_wheel  # noqa: E402
from tests.harness.index import PackageIndex  # noqa: E402
from tests.harness.privs import Unprivileged, find_unprivileged_python, make_unprivileged  # noqa: E402
from tests.harness.uvcache import UvRun, copy_cache, installed_by_inode, make_cache  # noqa: E402

# The packages of the standard test cache: wheels (one with native-looking files, one with a
# dependency, two versions of one), and an sdist that uv must build.
STANDARD_WHEELS = [
    ("alpha", "1.0", {"n_modules": 3}),
    ("alpha", "2.0", {"n_modules": 3}),
    ("beta", "1.0", {"n_modules": 2, "requires": ["alpha"]}),
    ("gamma-native", "0.1", {"n_modules": 2, "native": True}),
    ("delta", "3.1.4", {"n_modules": 5}),
]
STANDARD_SDISTS = [("epsilon", "0.5")]
STANDARD_REQUIREMENTS = ["beta==1.0", "alpha==2.0", "gamma-native", "delta", "epsilon"]


def _world_dir(prefix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


@pytest.fixture(scope="session")
def uv_bin() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    d = _world_dir("uvci-session-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def world_tmp() -> Iterator[Path]:
    """A temporary directory every user can traverse (pytest's own are 0700, root's)."""
    d = _world_dir("uvci-test-")
    yield d
    _force_rmtree(d)


def _force_rmtree(path: Path) -> None:
    def onerror(func: object, p: str, exc: object) -> None:
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
        except OSError:
            pass
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.unlink(p)
            except OSError:
                pass

    shutil.rmtree(path, onerror=onerror)  # onexc= needs 3.12


@pytest.fixture(scope="session")
def dists_dir(session_dir: Path) -> Path:
    d = session_dir / "dists"
    for name, version, kw in STANDARD_WHEELS:
        write_wheel(d, name, version, **kw)  # type: ignore[arg-type]
    for name, version in STANDARD_SDISTS:
        write_sdist(d, name, version)
    return d


@pytest.fixture(scope="session")
def index(dists_dir: Path) -> Iterator[PackageIndex]:
    with PackageIndex(dists_dir) as idx:
        yield idx


@pytest.fixture(scope="session")
def test_python() -> str:
    """An interpreter that both root and uid 65534 can run; test venvs are made from it."""
    return find_unprivileged_python()


@pytest.fixture(scope="session")
def uvr(uv_bin: str, index: PackageIndex, test_python: str) -> UvRun:
    return UvRun(uv_bin, index.url, test_python)


@dataclass
class Template:
    cache: Path
    installed: dict[str, tuple[str, str]]  # archive id -> (name, version), by inode (uv's record)
    orphans: set[str]  # archives uv itself stopped linking (left for prune, §4)
    environment: str  # the cached `uv run --with` environment's archive


@pytest.fixture(scope="session")
def template(uvr: UvRun, session_dir: Path) -> Template:
    """The standard cache, written once per session by real uv; tests get copies.

    Lived-in, as a user's is: two venvs' worth of wheels and an sdist build, a cached
    `uv run --with` environment, and an archive orphaned by a `--reinstall --refresh`.
    """
    base = session_dir / "template"
    cache = base / "cache"
    base.mkdir()
    make_cache(uvr, cache, STANDARD_REQUIREMENTS, venv=base / "venv1", keep_venv=True)
    make_cache(uvr, cache, ["alpha==1.0"], venv=base / "venv2", keep_venv=True)
    first = installed_by_inode(base / "venv1", cache)
    second = installed_by_inode(base / "venv2", cache)
    uvr.pip_install(cache, base / "venv1", ["delta"], "--reinstall", "--refresh-package", "delta")
    after = installed_by_inode(base / "venv1", cache)
    installed = {**first, **second, **after}
    orphans = set(first) - set(after) - set(second)
    scratch = base / "scratch"
    scratch.mkdir()
    uvr.run_with(cache, "alpha==2.0", "import alpha", scratch)
    (environment,) = set(os.listdir(cache / "archive-v0")) - set(installed)
    return Template(cache, installed, orphans, environment)


@pytest.fixture(scope="session")
def template_cache(template: Template) -> Path:
    return template.cache


@pytest.fixture
def real_cache(template_cache: Path, world_tmp: Path) -> Path:
    """A private copy of the standard cache, written by real uv."""
    return copy_cache(template_cache, world_tmp / "cache")


@pytest.fixture(scope="session")
def unprivileged(uv_bin: str) -> Iterator[Unprivileged]:
    u = make_unprivileged(uv_bin)
    yield u
    shutil.rmtree(u.base, ignore_errors=True)


@pytest.fixture
def nobody_cache(real_cache: Path) -> Path:
    """The standard cache owned by uid 65534, as a user's own cache is."""
    for dirpath, dirnames, filenames in os.walk(real_cache):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), 65534, 65534)
    os.lchown(real_cache, 65534, 65534)
    return real_cache
