"""Plans: what repair or prune would do, as typed actions, before anything is done.

A plan is computed from a scan (and, for repair, a diagnosis) without side effects, shown to
the user, saved as JSON (for the privileged helper, which checks it again), and executed by
`actions.apply`. Every action records what its target must still be when it runs (type, inode,
device), the physical bytes it frees now (files still hard-linked from a venv or another entry
free nothing until those go: `shared_bytes` says how much), and whether it needs privilege.

The plans themselves are made in `prune.py`, `repair.py` and `delete.py` (Delete of chosen rows,
and verify's fix), from the deletions `removal.py` builds.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.model import display_path

PLAN_VERSION = 1

# Execution order: links and pointers before the archives they name, so uv finds a usable cache
# at every instant (an entry without its archive is a broken cache; an archive without its entry
# is only unused). Permission fixes first: they can make the rest possible.
ORDER = {
    "chown": 0,
    "chmod": 1,
    "link": 10,  # a link or pointer file
    "entry": 20,  # a bucket entry directory (wheel shard dir, sdist revision)
    "environment": 30,
    "build": 30,
    "tmp": 40,
    "stale-bucket": 50,
    "other": 50,
    "archive": 60,
}


@dataclass(frozen=True, slots=True)
class Expect:
    """What a path must still be when its action runs (checked again at that moment)."""

    kind: str  # "dir" | "file" | "link"
    ino: int
    dev: int

    @classmethod
    def of(cls, path: str) -> Expect | None:
        """What `path` is now (never following a link), or None when it is gone."""
        try:
            st = os.lstat(path)
        except OSError:
            return None
        kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"
        return cls(kind, st.st_ino, st.st_dev)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "delete" | "chmod" | "chown"
    path: str
    bytes: int  # physical bytes freed now (0 for chmod/chown)
    needs_privilege: bool
    reason: str  # for people: "unreferenced archive of six 1.17.0"
    category: str  # "unreferenced" | "stale-bucket" | "orphaned-tmp" | "sdist-revision" | ...
    step: str  # ordering class, a key of ORDER
    expect: Expect | None = None
    shared_bytes: int = 0  # bytes in files hard-linked elsewhere: freed only when those go
    logical_bytes: int = 0  # allocated bytes of the whole tree
    uid: int | None = None  # chown target
    gid: int | None = None
    add_mode: int | None = None  # chmod: permission bits to add to directories
    add_file_mode: int | None = None  # chmod: permission bits to add to files
    recursive: bool = False
    package: str | None = None
    version: str | None = None
    shared_files: int = 0  # chown/chmod: files linked elsewhere, replaced by copies (issue 20)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "path": display_path(self.path),
            "bytes": self.bytes,
            "needs_privilege": self.needs_privilege,
            "done": False,
            "error": None,
            "reason": self.reason,
            "category": self.category,
        }
        if self.shared_bytes:
            out["shared_bytes"] = self.shared_bytes
        if self.kind == "chown":
            out["uid"], out["gid"] = self.uid, self.gid
        if self.kind == "chmod":
            out["add_mode"] = f"{self.add_mode or 0:04o}"
        if self.shared_files:
            out["shared_files"] = self.shared_files
        return out


@dataclass
class Plan:
    root: str
    kind: str  # "repair" | "prune"
    actions: list[Action]
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what uv would remove but we keep, and why
    created_at: float = field(default_factory=time.time)
    uv_version: str | None = None
    for_uid: int | None = None  # repair: the user who runs uv (chown target)
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def freed_bytes(self) -> int:
        return sum(a.bytes for a in self.actions if a.kind == "delete")

    @property
    def needs_privilege(self) -> bool:
        return any(a.needs_privilege for a in self.actions)

    def ordered(self) -> list[Action]:
        return sorted(self.actions, key=lambda a: (ORDER.get(a.step, 50), a.path))

    def summary(self) -> str:
        n = len(self.actions)
        if not n:
            return "Nothing to do."
        deletes = [a for a in self.actions if a.kind == "delete"]
        fixes = [a for a in self.actions if a.kind != "delete"]
        parts = []
        if deletes:
            parts.append(
                f"remove {len(deletes)} item{'s' if len(deletes) != 1 else ''} "
                f"({fmt.size(self.freed_bytes)} freed)"
            )
        if fixes:
            parts.append(
                f"fix ownership or permissions of {len(fixes)} place"
                f"{'s' if len(fixes) != 1 else ''}"
            )
        return "Plan: " + " and ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "kind": self.kind,
            "cache_dir": display_path(self.root),
            "actions": [a.to_json() for a in self.ordered()],
            "freed_bytes": self.freed_bytes,
            "warnings": self.warnings,
            "kept": self.kept,
            "uv_version": self.uv_version,
        }

    def dump(self) -> str:
        """The full plan, for the privileged helper (`uvci repair --plan FILE`)."""
        return json.dumps(
            {
                "version": PLAN_VERSION,
                "root": self.root,
                "kind": self.kind,
                "created_at": self.created_at,
                "uv_version": self.uv_version,
                "for_uid": self.for_uid,
                "policy": self.policy,
                "warnings": self.warnings,
                "actions": [
                    {**asdict(a), "expect": asdict(a.expect) if a.expect else None}
                    for a in self.actions
                ],
            },
            indent=1,
        )

    @classmethod
    def load(cls, text: str) -> Plan:
        from uv_cache_inspector.core.errors import UsageError

        try:
            data = json.loads(text)
            if data.get("version") != PLAN_VERSION:
                raise UsageError("this plan was made by another version of the inspector")
            actions = []
            for a in data["actions"]:
                exp = a.pop("expect")
                actions.append(Action(**a, expect=Expect(**exp) if exp else None))
            return cls(
                root=data["root"],
                kind=data["kind"],
                actions=actions,
                warnings=list(data.get("warnings", [])),
                created_at=float(data["created_at"]),
                uv_version=data.get("uv_version"),
                for_uid=data.get("for_uid"),
                policy=dict(data.get("policy", {})),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"not a plan file: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PrunePolicy:
    ci: bool = False
    packages: tuple[str, ...] = ()
    older_than_days: float | None = None
    max_size: int | None = None
    venvs: tuple[str, ...] = ()  # environments to protect (symlink link-mode)
    link_mode: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "ci": self.ci,
                "packages": list(self.packages),
                "older_than_days": self.older_than_days,
                "max_size": self.max_size,
            }.items()
            if v
        }
