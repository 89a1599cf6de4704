"""What an `(os error N)` means, on the platform uv ran on.

uv (Rust) prints the operating system's own message followed by `(os error N)`. N is an errno
on Linux and macOS (they differ above 34: 45 is ENOTSUP on macOS, EL2HLT on Linux) and a Win32
error code on Windows (5 is "Access is denied", 32 a sharing violation). The English message,
when there is one, decides; otherwise the number is read with the platform the text shows.
The result is a *kind*, the family of failure explain reasons about.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class ErrorKind(NamedTuple):
    name: str  # EACCES, ERROR_SHARING_VIOLATION, ...
    kind: str  # denied, rofs, nospace, quota, exdev, busy, in-use, noent, notdir, ...


# The messages Rust prints (strerror on Unix, FormatMessage on Windows), English only: a
# localized message falls back to the number.
_MESSAGES: tuple[tuple[str, str, str], ...] = (
    ("permission denied", "EACCES", "denied"),
    ("operation not permitted", "EPERM", "denied"),
    ("access is denied", "ERROR_ACCESS_DENIED", "denied"),
    ("read-only file system", "EROFS", "rofs"),
    ("no space left on device", "ENOSPC", "nospace"),
    ("there is not enough space on the disk", "ERROR_DISK_FULL", "nospace"),
    ("disk quota exceeded", "EDQUOT", "quota"),
    ("invalid cross-device link", "EXDEV", "exdev"),
    ("cross-device link", "EXDEV", "exdev"),
    ("cannot move the file to a different disk drive", "ERROR_NOT_SAME_DEVICE", "exdev"),
    ("device or resource busy", "EBUSY", "busy"),
    ("resource busy", "EBUSY", "busy"),
    ("text file busy", "ETXTBSY", "busy"),
    ("being used by another process", "ERROR_SHARING_VIOLATION", "in-use"),
    ("locked a portion of the file", "ERROR_LOCK_VIOLATION", "in-use"),
    ("user-mapped section open", "ERROR_USER_MAPPED_FILE", "mapped"),
    ("no such file or directory", "ENOENT", "noent"),
    ("the system cannot find the file specified", "ERROR_FILE_NOT_FOUND", "noent"),
    ("the system cannot find the path specified", "ERROR_PATH_NOT_FOUND", "noent"),
    ("entity not found", "ENOENT", "noent"),
    ("not a directory", "ENOTDIR", "notdir"),
    ("is a directory", "EISDIR", "isdir"),
    ("directory not empty", "ENOTEMPTY", "notempty"),
    ("the directory is not empty", "ERROR_DIR_NOT_EMPTY", "notempty"),
    ("file exists", "EEXIST", "exists"),
    ("file name too long", "ENAMETOOLONG", "nametoolong"),
    ("the filename or extension is too long", "ERROR_FILENAME_EXCED_RANGE", "nametoolong"),
    ("too many open files", "EMFILE", "emfile"),
    ("no file descriptors available", "EMFILE", "emfile"),
    ("bad file descriptor", "EBADF", "badf"),
    ("function not implemented", "ENOSYS", "nosys"),
    ("operation not supported", "EOPNOTSUPP", "notsup"),
    ("not supported", "EOPNOTSUPP", "notsup"),
    ("incorrect function", "ERROR_INVALID_FUNCTION", "notsup"),
    ("no locks available", "ENOLCK", "nolock"),
    ("stale file handle", "ESTALE", "stale"),
    ("stale nfs file handle", "ESTALE", "stale"),
    ("cannot allocate memory", "ENOMEM", "nomem"),
    ("out of memory", "ENOMEM", "nomem"),
    ("resource temporarily unavailable", "EAGAIN", "again"),
    ("input/output error", "EIO", "io"),
    ("incompatible hardlinks", "ERROR_CLOUD_FILE_INCOMPATIBLE_HARDLINKS", "cloud"),
    ("cloud file", "ERROR_CLOUD_FILE", "cloud"),
    ("cannot be accessed by the system", "ERROR_CANT_ACCESS_FILE", "cantaccess"),
    ("too many levels of symbolic links", "ELOOP", "loop"),
    ("a required privilege is not held", "ERROR_PRIVILEGE_NOT_HELD", "privilege"),
    ("virus", "ERROR_VIRUS_INFECTED", "virus"),
    ("unknown error 524", "ENOTSUPP", "nolock"),
)

_LINUX: dict[int, tuple[str, str]] = {
    1: ("EPERM", "denied"),
    2: ("ENOENT", "noent"),
    5: ("EIO", "io"),
    9: ("EBADF", "badf"),
    11: ("EAGAIN", "again"),
    12: ("ENOMEM", "nomem"),
    13: ("EACCES", "denied"),
    16: ("EBUSY", "busy"),
    17: ("EEXIST", "exists"),
    18: ("EXDEV", "exdev"),
    20: ("ENOTDIR", "notdir"),
    21: ("EISDIR", "isdir"),
    23: ("ENFILE", "emfile"),
    24: ("EMFILE", "emfile"),
    26: ("ETXTBSY", "busy"),
    28: ("ENOSPC", "nospace"),
    30: ("EROFS", "rofs"),
    36: ("ENAMETOOLONG", "nametoolong"),
    37: ("ENOLCK", "nolock"),
    38: ("ENOSYS", "nosys"),
    39: ("ENOTEMPTY", "notempty"),
    40: ("ELOOP", "loop"),
    95: ("EOPNOTSUPP", "notsup"),
    116: ("ESTALE", "stale"),
    122: ("EDQUOT", "quota"),
    524: ("ENOTSUPP", "nolock"),
}
_MACOS: dict[int, tuple[str, str]] = {
    **{k: v for k, v in _LINUX.items() if k <= 34},
    35: ("EAGAIN", "again"),
    45: ("ENOTSUP", "notsup"),
    62: ("ELOOP", "loop"),
    63: ("ENAMETOOLONG", "nametoolong"),
    66: ("ENOTEMPTY", "notempty"),
    69: ("EDQUOT", "quota"),
    70: ("ESTALE", "stale"),
    77: ("ENOLCK", "nolock"),
    78: ("ENOSYS", "nosys"),
    102: ("EOPNOTSUPP", "notsup"),
}
_WINDOWS: dict[int, tuple[str, str]] = {
    1: ("ERROR_INVALID_FUNCTION", "notsup"),
    2: ("ERROR_FILE_NOT_FOUND", "noent"),
    3: ("ERROR_PATH_NOT_FOUND", "noent"),
    5: ("ERROR_ACCESS_DENIED", "denied"),
    17: ("ERROR_NOT_SAME_DEVICE", "exdev"),
    32: ("ERROR_SHARING_VIOLATION", "in-use"),
    33: ("ERROR_LOCK_VIOLATION", "in-use"),
    39: ("ERROR_HANDLE_DISK_FULL", "nospace"),
    50: ("ERROR_NOT_SUPPORTED", "notsup"),
    112: ("ERROR_DISK_FULL", "nospace"),
    145: ("ERROR_DIR_NOT_EMPTY", "notempty"),
    183: ("ERROR_ALREADY_EXISTS", "exists"),
    206: ("ERROR_FILENAME_EXCED_RANGE", "nametoolong"),
    225: ("ERROR_VIRUS_INFECTED", "virus"),
    226: ("ERROR_VIRUS_DELETED", "virus"),
    396: ("ERROR_CLOUD_FILE_INCOMPATIBLE_HARDLINKS", "cloud"),
    1224: ("ERROR_USER_MAPPED_FILE", "mapped"),
    1314: ("ERROR_PRIVILEGE_NOT_HELD", "privilege"),
    1920: ("ERROR_CANT_ACCESS_FILE", "cantaccess"),
}


@lru_cache(maxsize=4096)
def classify(code: int | None, message: str, platform: str) -> ErrorKind | None:
    """The kind of an OS error from its message (English) or its number on `platform`
    ("windows", "macos", "linux" or "unknown")."""
    low = message.lower()
    table = {"windows": _WINDOWS, "macos": _MACOS}.get(platform, _LINUX)
    if low:
        for phrase, name, kind in _MESSAGES:
            if phrase in low:
                # the number names it on its platform (45 is ENOTSUP on macOS, "Operation not
                # supported" is EOPNOTSUPP, 95, on Linux)
                tables = [table] if platform != "unknown" else [_LINUX, _MACOS, _WINDOWS]
                for t in tables:
                    known = t.get(code) if code is not None else None
                    if known is not None and known[1] == kind:
                        return ErrorKind(*known)
                return ErrorKind(name, kind)
    if code is None:
        return None
    entry = table.get(code)
    if entry is None and platform == "unknown":
        entry = _WINDOWS.get(code) if code > 130 else None
    return ErrorKind(*entry) if entry else None


def from_hresult(value: int) -> int | None:
    """A Windows HRESULT (0x8007xxxx, or the same printed as a negative number) -> the Win32
    error code it wraps."""
    value &= 0xFFFFFFFF
    if value & 0xFFFF0000 == 0x80070000:
        return value & 0xFFFF
    return None
