# Types of the compiled walker (_walker.c); walk.py's _walk_fd_compiled is its only caller.
from collections.abc import Callable

API: int

def walk(
    root_fd: int,
    is_archive: bool,
    track_file_mtime: bool,
    root_dev: int,
    root_ino: int,
    root_uid: int,
    root_gid: int,
    root_perm: int,
    root_mtime_ns: int,
    root_mark: int,
    add_mark: Callable[[str, str, int, int, int, int, int, str], int],
    too_deep_detail: str,
    /,
) -> tuple[
    int,  # 512-byte blocks of everything below the root
    int,  # files
    int,  # dirs
    int,  # symlinks
    int,  # others
    int,  # vanished
    int,  # newest file atime, ns
    int,  # newest mtime, ns
    list[str],  # top names
    bool,  # top truncated
    dict[str, bool],  # .dist-info directories: has RECORD
    bytes,  # array('Q') of linked inodes
    bytes,  # array('Q') of their allocated bytes
    int,  # shared bytes
    list[tuple[str, str, str]],  # problems
    list[int],  # other devices
    list[tuple[int, int, int]],  # (mark index, files, bytes) to add
]: ...
def list_dir(
    path: str, /
) -> list[tuple[str, str, int, int, int, int, int, int, int, int, str | None, int]]: ...
