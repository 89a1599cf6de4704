"""What every command needs first: which cache, how it was found, which uv versions are here.

Shared by the CLI and the GUI. Asking uv binaries for their versions runs subprocesses, so it is
done in the background while the scan starts (`CacheContext.bucket_set` waits for it only when the
scan needs it, at the end), and answers are remembered per binary (path, size, mtime).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uv_cache_inspector.core.cache import uv_binaries
from uv_cache_inspector.core.cache.layout import (
    NEWEST_KNOWN,
    BucketSet,
    buckets_for,
    format_version,
)
from uv_cache_inspector.core.cache.location import CacheLocation, cross_check, locate
from uv_cache_inspector.core.cache.uv_binaries import UvBinary


def _version_cache_file() -> Path | None:
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("uv-cache-inspector", appauthor=False)) / "uv-versions.json"
    except Exception:
        return None


def _load_version_cache() -> None:
    path = _version_cache_file()
    if path is None:
        return
    try:
        uv_binaries.import_versions(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return


def _save_version_cache() -> None:
    path = _version_cache_file()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(uv_binaries.export_versions()), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return


@dataclass
class CacheContext:
    location: CacheLocation
    explicit_uv: Sequence[str] = ()
    # `--layout`: "auto" reads the cache's links as what is in it says (symlinks or Windows link
    # files); "windows" / "unix" force one.
    layout: str = "auto"
    _binaries: list[UvBinary] | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> CacheContext:
        """Begin looking for uv binaries in the background."""
        self._thread = threading.Thread(target=self._find, name="uvci-find-uv", daemon=True)
        self._thread.start()
        return self

    def _find(self) -> None:
        _load_version_cache()
        self._binaries = uv_binaries.find_uv_binaries(self.explicit_uv)
        _save_version_cache()

    @property
    def binaries(self) -> list[UvBinary]:
        if self._binaries is None:
            if self._thread is None:
                self._find()
            else:
                self._thread.join()
        return self._binaries or []

    @property
    def link_style(self) -> str | None:
        """The scan's `link_style` for this layout (None: detect it)."""
        from uv_cache_inspector.core.cache.links import LAYOUT_STYLES

        return LAYOUT_STYLES.get(self.layout)

    @property
    def newest_uv(self) -> UvBinary | None:
        return uv_binaries.newest(self.binaries)

    def bucket_set(self) -> BucketSet:
        newest = self.newest_uv
        return buckets_for(newest.version if newest and newest.version else NEWEST_KNOWN)

    def uv_version_label(self) -> str:
        newest = self.newest_uv
        if newest and newest.version:
            return format_version(newest.version)
        return f"{format_version(NEWEST_KNOWN)} (assumed: no uv found)"


def make_context(
    cache_dir: str | None = None,
    uv_paths: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    check_with_uv: bool = True,
    layout: str = "auto",
) -> CacheContext:
    """Locate the cache (cross-checked with `uv cache dir` when uv is on PATH)."""
    location = locate(cache_dir, env=env)
    if check_with_uv and cache_dir is None:
        uv = next(iter(uv_paths), None) or _which_uv(env)
        location = cross_check(location, uv, env=env)
    return CacheContext(location, tuple(uv_paths), layout)


def _which_uv(env: Mapping[str, str] | None) -> str | None:
    import shutil

    path = (env or os.environ).get("PATH")
    return shutil.which("uv", path=path)
