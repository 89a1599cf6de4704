"""Windows under Wine: caches written by the real uv.exe, and the inspector on Windows CPython.

The world (a Wine prefix, uv.exe releases, the embeddable CPython, the Windows wheels of our
dependencies) is made once per session under the session directory; each release's cache once
too, and tests work on copies. Without Wine these tests skip with the reason, except where
`UVCI_REQUIRE_WINE=1` (set by .ci/run once it has installed Wine): there they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import STANDARD_REQUIREMENTS
from tests.harness import wine
from tests.harness.index import PackageIndex
from tests.harness.uvcache import copy_cache


@pytest.fixture(scope="session")
def windows_world(uv_bin: str, session_dir: Path) -> Iterator[wine.WindowsWorld]:
    reason = wine.unavailable()
    if reason is not None:
        if os.environ.get("UVCI_REQUIRE_WINE") == "1":
            pytest.fail(f"UVCI_REQUIRE_WINE=1 but the Wine harness cannot run: {reason}")
        pytest.skip(f"Wine harness unavailable: {reason}")
    world = wine.make_world(uv_bin, session_dir / "wine")
    yield world
    world.wine.stop()


@pytest.fixture(scope="session")
def windows_cache(
    windows_world: wine.WindowsWorld, index: PackageIndex, session_dir: Path
) -> Callable[[str], wine.WindowsCache]:
    """`windows_cache(version)`: the cache uv.exe `version` wrote (made on first use)."""
    made: dict[str, wine.WindowsCache] = {}

    def get(version: str) -> wine.WindowsCache:
        if version not in made:
            made[version] = wine.make_windows_cache(
                windows_world,
                version,
                index.url,
                session_dir / "wine" / f"cache-{version}",
                list(STANDARD_REQUIREMENTS),
            )
        return made[version]

    return get


@pytest.fixture
def copy_of(world_tmp: Path) -> Callable[[wine.WindowsCache, str], Path]:
    def copy(wc: wine.WindowsCache, name: str = "cache") -> Path:
        return copy_cache(wc.cache, world_tmp / name)

    return copy
