"""How cache entries point at archives: symlinks, Windows link files, and uv's side files.

docs/uv-cache-format.md §3 ("What a link is", "Side-file formats"). Every parser here
takes bytes (or a link target string) and returns a typed result; corrupt or truncated input gives a
`Corrupt` value, never an exception.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

WINDOWS_LINK_RE = re.compile(r"^archive-v(\d+)[/\\](.+)$")
MAX_SIDE_FILE = 64 * 1024 * 1024  # refuse to read anything larger as a side file


@dataclass(frozen=True, slots=True)
class Corrupt:
    reason: str

    def __bool__(self) -> bool:  # lets callers write `if not result:`
        return False


@dataclass(frozen=True, slots=True)
class ArchivePointer:
    """uv's `Archive` record: which archive-v0 entry a `.http`/`.rev` file names."""

    id: str
    version: int  # archive bucket version; only 0 exists
    filename: str | None = None
    size: int | None = None
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a link says, before checking whether it exists."""

    archive_version: int | None
    archive_id: str | None
    absolute: bool
    raw: str


def parse_symlink_target(raw: str) -> LinkTarget:
    """Read a Unix symlink target: relative `../../archive-v0/<id>` (>=0.11.17) or absolute.

    Only the last two components are interpreted here; whether they land inside *this* cache is
    decided by the scanner, which knows the link's directory and the cache root.
    """
    norm = raw.replace("\\", "/").rstrip("/")
    parts = norm.split("/")
    if len(parts) >= 2:
        m = re.fullmatch(r"archive-v(\d+)", parts[-2])
        if m:
            return LinkTarget(int(m.group(1)), parts[-1], os.path.isabs(raw), raw)
    return LinkTarget(None, None, os.path.isabs(raw), raw)


def parse_link_file(data: bytes) -> LinkTarget | Corrupt:
    """A Windows (>=0.6.0) link file: UTF-8 text `archive-v0/<id>`, no newline."""
    if len(data) > 4096:
        return Corrupt("too large for a link file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Corrupt("not UTF-8 text")
    m = WINDOWS_LINK_RE.match(text.strip())
    if not m:
        return Corrupt("not of the form archive-vN/<id>")
    return LinkTarget(int(m.group(1)), m.group(2), absolute=False, raw=text)


# `--layout` names (docs/cli-contract.md) and the link style each reads: Unix uv writes symlinks,
# Windows uv (>=0.6.0) link files. A cache says which by what is in it, not by the OS reading it: a
# WSL user reads the Windows cache at /mnt/c/Users/NAME/AppData/Local/uv/cache.
LAYOUT_STYLES = {"unix": "symlink", "windows": "file"}
STYLE_LAYOUTS = {"symlink": "unix", "file": "windows", "mixed": "mixed"}


def host_link_style() -> str:
    """The style of the uv running on this machine (what an empty cache will hold)."""
    return "file" if os.name == "nt" else "symlink"


def detect_style(symlinks: int, link_files: int, default: str | None = None) -> tuple[str, str]:
    """(style, source) from the evidence on disk: the number of symlinks and of link files that
    point into `archive-v*` (whatever their state). Both kinds: two uvs share the cache (Linux uv
    in WSL on the Windows cache), and each kind counts, so nothing either uv uses looks unused.
    Neither: nothing to read, and the host's own uv decides."""
    if symlinks and link_files:
        return "mixed", "detected"
    if link_files:
        return "file", "detected"
    if symlinks:
        return "symlink", "detected"
    return default or host_link_style(), "default"


def http_payload(data: bytes) -> bytes | Corrupt:
    """The payload of uv's HTTP cache container (wheel `.http`, `revision.http`, `.msgpack`).

    >=0.13.0: [payload][pad to 16][16-byte id][rkyv policy][u32 crc32][u64 len(payload)], the
    CRC over b[payload_len:-12] + b[-8:]. <=0.12.x: [payload][rkyv policy][u64 len(policy)].
    Tell them apart by the CRC (docs/uv-cache-format.md §3).
    """
    n = len(data)
    if n < 8:
        return Corrupt(f"truncated ({n} bytes)")
    (tail,) = struct.unpack_from("<Q", data, n - 8)
    if n >= 12 and tail <= n - 12:
        (crc,) = struct.unpack_from("<I", data, n - 12)
        if zlib.crc32(data[tail : n - 12] + data[n - 8 :]) & 0xFFFFFFFF == crc:
            return data[:tail]
    # Old format: the trailing u64 is the length of the policy that precedes it.
    if tail > n - 8:
        return Corrupt("footer length larger than the file")
    return data[: n - 8 - tail]


def decode_msgpack(payload: bytes) -> Any | Corrupt:
    try:
        import msgpack

        return msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        return Corrupt(f"not valid msgpack: {type(exc).__name__}")


def _hashes(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    if not isinstance(value, list):
        return ()
    for h in value:
        if isinstance(h, dict):
            out.extend(f"{k.lower()}:{v}" for k, v in h.items())
        elif isinstance(h, list) and len(h) == 2:
            out.append(f"{str(h[0]).lower()}:{h[1]}")
    return tuple(out)


def archive_from_value(value: Any) -> ArchivePointer | Corrupt:
    """uv's `Archive` as decoded msgpack: an array (<=0.11, >=0.13) or a map (0.12.2-0.12.24).

    Arrays grew over time: [id, hashes] (<=0.5), + version (0.6.0), + filename (0.6.4), + size
    (0.12.0); 0.13.9 writes [id, hashes, filename, version, size] (docs/uv-cache-format.md §3).
    """
    if isinstance(value, dict):
        aid = value.get("id")
        version = value.get("version", 0)
        filename = value.get("filename")
        size = value.get("size")
        hashes = _hashes(value.get("hashes"))
    elif isinstance(value, list) and value:
        # Positional, by length: [id, hashes] | [id, hashes, version] |
        # [id, hashes, filename, version] | [id, hashes, filename, version, size].
        aid = value[0]
        hashes = _hashes(value[1]) if len(value) > 1 else ()
        filename = size = None
        version = 0
        if len(value) == 3:
            version = value[2]
        elif len(value) >= 4:
            filename, version = value[2], value[3]
            size = value[4] if len(value) >= 5 else None
    else:
        return Corrupt("archive record is neither an array nor a map")
    if not isinstance(aid, str) or not aid:
        return Corrupt("archive record has no id")
    if not isinstance(version, int):
        return Corrupt("archive record has a non-integer version")
    return ArchivePointer(
        id=aid,
        version=version,
        filename=filename if isinstance(filename, str) else None,
        size=size if isinstance(size, int) else None,
        hashes=hashes,
    )


def parse_http_archive(data: bytes) -> ArchivePointer | Corrupt:
    """A wheel entry's `<key>.http`: container -> msgpack `Archive`."""
    payload = http_payload(data)
    if isinstance(payload, Corrupt):
        return payload
    value = decode_msgpack(payload)
    if isinstance(value, Corrupt):
        return value
    return archive_from_value(value)


def parse_rev(data: bytes) -> ArchivePointer | Corrupt:
    """A wheel entry's `<key>.rev` (local or path wheel): plain msgpack [[secs, nanos], Archive]."""
    value = decode_msgpack(data)
    if isinstance(value, Corrupt):
        return value
    if isinstance(value, dict):
        value = [value.get("timestamp"), value.get("archive", value.get("data"))]
    if not isinstance(value, list) or len(value) < 2:
        return Corrupt("expected [timestamp, archive]")
    return archive_from_value(value[1])


def revision_id_from_value(value: Any) -> str | Corrupt:
    """A sdist revision: `[id, hashes, size]` (0.13) or a map with `id` (0.12)."""
    if isinstance(value, dict):
        if "revision" in value:  # revision.rev: {cache_info, revision}
            return revision_id_from_value(value["revision"])
        rid = value.get("id")
    elif isinstance(value, list) and value:
        rid = value[0]
        if isinstance(rid, (list, dict)) and len(value) >= 2:  # [cache_info, revision]
            return revision_id_from_value(value[1])
    else:
        return Corrupt("revision record is neither an array nor a map")
    if not isinstance(rid, str) or not rid:
        return Corrupt("revision record has no id")
    return rid


def parse_revision_http(data: bytes) -> str | Corrupt:
    """A sdist shard's `revision.http`: container -> msgpack revision -> its id."""
    payload = http_payload(data)
    if isinstance(payload, Corrupt):
        return payload
    value = decode_msgpack(payload)
    if isinstance(value, Corrupt):
        return value
    return revision_id_from_value(value)


def parse_revision_rev(data: bytes) -> str | Corrupt:
    """A sdist shard's `revision.rev` (local source): plain msgpack {cache_info, revision}."""
    value = decode_msgpack(data)
    if isinstance(value, Corrupt):
        return value
    return revision_id_from_value(value)


def read_small(path: str, limit: int = MAX_SIDE_FILE) -> bytes | Corrupt:
    """Read a side file, or say why not (as a Corrupt value: missing, unreadable, too large)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        return Corrupt("missing")
    except OSError as exc:
        return Corrupt(f"unreadable: {exc.strerror or exc}")
    if len(data) > limit:
        return Corrupt("too large")
    return data


def wheel_key_version(package_dir: str, key: str) -> str | None:
    """The version part of a wheel entry key (docs/uv-cache-format.md §3, `wheels-vN`).

    >=0.6.4: `<version>-<py>-<abi>-<plat>`; long keys: `<truncated version>-<16hex>`;
    <0.6.4 and git wheels: the full stem `<name>-<version>-<tags>`.
    """
    parts = key.split("-")
    if len(parts) >= 5:
        # Full stem: name-version-py-abi-plat (name has no '-' in a wheel filename).
        return parts[1]
    if len(parts) >= 1 and parts[0] and parts[0][0].isdigit():
        return parts[0]
    del package_dir
    return None


def normalize_name(name: str) -> str:
    """PEP 503 normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_info_name_version(dirname: str) -> tuple[str, str] | None:
    """`six-1.17.0.dist-info` -> ('six', '1.17.0')."""
    if not dirname.endswith(".dist-info"):
        return None
    stem = dirname[: -len(".dist-info")]
    name, sep, version = stem.rpartition("-")
    if not sep or not name or not version:
        return None
    return name, version


def wheel_stem_name_version(stem: str) -> tuple[str, str] | None:
    """`docopt-0.6.2-py2.py3-none-any` (or a `.whl` filename) -> ('docopt', '0.6.2')."""
    stem = stem.removesuffix(".whl")
    parts = stem.split("-")
    if len(parts) < 5:
        return None
    return parts[0], parts[1]
