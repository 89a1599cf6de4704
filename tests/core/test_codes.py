"""The README's finding-code table lists every code the core can emit, and no other.

The codes are read from the core's source: the first argument of every `finding(...)`,
`Finding(...)`, `Hint(...)` and `Cause(...)` (explain's causes) call that is a string, and the strings a `code = ...` assignment
chooses between (`code = "foreign-owner" if ... else "permission-denied"`). A new code without a README line,
or a README line for a code that is gone, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "app" / "uv_cache_inspector" / "core"
CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$|^[a-z]+$")


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def emitted_codes() -> dict[str, set[str]]:
    codes: dict[str, set[str]] = {}
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            found: list[str] = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in {"finding", "Finding", "Hint", "Cause"} and node.args:
                    found = _strings(node.args[0])
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.IfExp)
                and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)
            ):
                found = _strings(node.value)
            for code in found:
                assert CODE.match(code), (path.name, code)
                codes.setdefault(code, set()).add(path.name)
    return codes


def readme_codes() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| code | what it means |", 1)[1].split("\n\n", 1)[0]
    codes: set[str] = set()
    for line in table.splitlines()[2:]:
        first_cell = line.split("|")[1]
        codes |= set(re.findall(r"`([a-z0-9-]+)`", first_cell))
    return codes


def test_the_scan_finds_codes_of_every_kind():
    codes = emitted_codes()
    # One of each way a code is written: finding(), Finding(), Hint(), `code = a if b else c`.
    assert "orphaned-tmp" in codes and "os-error" in codes and "onedrive" in codes
    assert {"foreign-owner", "permission-denied"} <= set(codes)
    assert len(codes) >= 39


def test_readme_lists_every_code_and_only_those():
    emitted, listed = set(emitted_codes()), readme_codes()
    assert sorted(emitted - listed) == [], "codes the README does not list"
    assert sorted(listed - emitted) == [], "README codes the core never emits"
