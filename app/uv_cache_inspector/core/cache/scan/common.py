"""What the scan's three parts share: allocated sizes, names uv gives temporary folders, and
the tallies kept per bucket and per unit."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

HAS_BLOCKS = hasattr(os.stat_result, "st_blocks")


def alloc(st: os.stat_result) -> int:
    return st.st_blocks * 512 if HAS_BLOCKS else st.st_size


def ext(name: str) -> str:
    # Rust's Path::extension: after the last dot, and a leading dot does not count.
    base = name.removeprefix(".")
    return base.rpartition(".")[2].lower() if "." in base else ""


def is_tmp(name: str) -> bool:
    return name.startswith(".tmp")


def owner_tuple(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@dataclass
class Tally:
    bytes: int = 0
    files: int = 0
    dirs: int = 0


@dataclass
class UnitInfo:
    bucket: str  # bucket name, or "" for root-level items
    role: str  # "archive" | "tmp" | "tree" | "dir"
    location: str  # for tmp: "root" or the bucket
