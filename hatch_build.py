"""Build hook: compile the walker's inner loop (app/uv_cache_inspector/core/cache/_walker.c).

Hatchling builds the package; this hook adds one C extension module when it can:

- a wheel gets `uv_cache_inspector/core/_walker<EXT_SUFFIX>` and a platform tag;
- an editable install (what `uv sync` and `uv run` make of this project) gets the module
  compiled in place, beside its source (git-ignored), because the package is imported from
  `app/` there. `[tool.uv] cache-keys` in pyproject.toml makes uv rebuild when the C source or
  this hook changes.

Where that cannot work (no C compiler, no Python headers, Windows) the build goes on without it,
with a warning: the package then runs its Python walker (core/cache/walk.py, the reference the
compiled one is tested against) and `uvci --version` says which walker runs. `CC` picks the compiler
(default: the one Python was built with); `UVCI_NO_COMPILE=1` skips the compiler on purpose.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("app", "uv_cache_inspector", "core", "cache", "_walker.c")
PACKAGE_DIR = "uv_cache_inspector/core/cache"
MODULE = "_walker"


def _compiler() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(cc)


def compile_walker(source: Path, out: Path) -> str | None:
    """Compile `source` into the extension module `out`; None, or why it could not."""
    if sys.platform == "win32":
        return "Windows: the compiled walker is POSIX only"
    if os.environ.get("UVCI_NO_COMPILE"):
        return "UVCI_NO_COMPILE is set"
    cc = _compiler()
    if shutil.which(cc[0]) is None:
        return f"no C compiler ({cc[0]} not found; set CC to use another)"
    include = sysconfig.get_paths()["include"]
    if not Path(include, "Python.h").is_file():
        return f"no Python headers ({include}/Python.h; install the python3-dev package)"
    link = ["-bundle", "-undefined", "dynamic_lookup"] if sys.platform == "darwin" else ["-shared"]
    cmd = [
        *cc,
        "-O2",
        "-fPIC",
        "-Wall",
        "-fvisibility=hidden",
        *link,
        "-I",
        include,
        str(source),
        "-o",
        str(out),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{shlex.join(cmd)}: {exc}"
    if done.returncode != 0 or not out.is_file():
        return f"{shlex.join(cmd)} failed:\n{done.stderr.strip()[-2000:]}"
    return None


class WalkerBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        source = Path(self.root, SOURCE)
        name = MODULE + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        if version == "editable":
            out = source.with_name(name)
            out.unlink(missing_ok=True)  # never leave a build of older sources behind
        else:
            self._tmp = tempfile.mkdtemp(prefix="uvci-walker-")
            out = Path(self._tmp, name)
        why = compile_walker(source, out)
        if why is not None:
            self.app.display_warning(
                f"uv-cache-inspector: the compiled walker was not built ({why}); the Python "
                "walker runs instead (same results, slower scans)"
            )
            return
        self.app.display_info(f"uv-cache-inspector: compiled walker built: {out.name}")
        if version != "editable":
            build_data["force_include"][str(out)] = f"{PACKAGE_DIR}/{name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
