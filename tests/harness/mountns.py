"""Run commands inside a private mount namespace (`unshare -m`, as root) after setting up mounts.

Real read-only filesystems, tiny full filesystems and buckets on another filesystem, without
touching the machine's own mounts: everything disappears with the namespace.

    results = in_mount_namespace(
        ["mount -t tmpfs -o size=2m tmpfs /x"],          # shell lines, run first
        [["uv", "pip", "install", ...],                   # then these, in order;
         {"cmd": ["uvci", "explain"], "stdin_from": 0}],  # a dict feeds an earlier stderr
    )
    results[0].returncode, results[0].stdout, results[0].stderr
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_DRIVER = r"""
import json, subprocess, sys
spec = json.load(open(sys.argv[1]))
for line in spec["setup"]:
    r = subprocess.run(["sh", "-c", line], capture_output=True, text=True)
    if r.returncode != 0:
        print(json.dumps({"setup_failed": line, "stderr": r.stderr}))
        sys.exit(0)
out = []
for cmd in spec["commands"]:
    stdin = spec.get("input")
    if isinstance(cmd, dict):  # {"cmd": [...], "stdin_from": i}: feed an earlier stderr
        stdin = out[cmd["stdin_from"]]["stderr"]
        cmd = cmd["cmd"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=spec["env"],
                       input=stdin, cwd=spec.get("cwd"))
    out.append({"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr})
print(json.dumps({"results": out}))
"""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def in_mount_namespace(
    setup: Sequence[str],
    commands: Sequence[Sequence[str] | dict[str, object]],
    *,
    env: dict[str, str] | None = None,
    work: Path,
    input: str | None = None,  # noqa: A002
    cwd: str | None = None,
) -> list[Result]:
    if shutil.which("unshare") is None:
        raise AssertionError("unshare (util-linux) is needed; .ci/run installs it")
    spec = work / "ns-spec.json"
    driver = work / "ns-driver.py"
    cmds = [c if isinstance(c, dict) else list(c) for c in commands]
    spec.write_text(
        json.dumps(
            {
                "setup": list(setup),
                "commands": cmds,
                "env": env or dict(os.environ),
                "input": input,
                "cwd": cwd,
            }
        )
    )
    driver.write_text(_DRIVER)
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, str(driver), str(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"namespace run failed: {proc.stderr}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if "setup_failed" in data:
        raise AssertionError(f"mount setup failed: {data['setup_failed']}: {data['stderr']}")
    return [Result(**r) for r in data["results"]]
