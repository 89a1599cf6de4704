"""Run `uvci` as a user would: a separate process, its real exit code and streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

APP = str(Path(__file__).resolve().parents[2] / "app")


def uvci(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,  # noqa: A002
    cwd: str | Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = APP
    full_env.pop("UV_CACHE_DIR", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "uv_cache_inspector", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def uvci_json(*args: str, **kw: Any) -> tuple[int, Any]:
    proc = uvci(*args, "--json", **kw)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)
