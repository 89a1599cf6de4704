"""Windows facts through the Win32 API (ctypes): volume, free space, drive type, OneDrive.

NOT VERIFIED ON WINDOWS: CI runs on Linux. The decisions are pure functions (`classify_volume`,
`is_onedrive_path`), tested everywhere; the ctypes calls below them (GetVolumePathNameW,
GetVolumeInformationW, GetDriveTypeW, GetDiskFreeSpaceExW) run in CI only under Wine
(tests/windows), whose answers for NTFS, network drives and OneDrive are not Windows' own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from uv_cache_inspector.core.platform import FsFacts

FILE_READ_ONLY_VOLUME = 0x00080000
FILE_SUPPORTS_HARD_LINKS = 0x00400000
DRIVE_REMOTE = 4
DRIVE_TYPES = {
    0: "unknown",
    1: "no root",
    2: "removable",
    3: "fixed",
    4: "remote",
    5: "cdrom",
    6: "ramdisk",
}


def classify_volume(fs_name: str, flags: int, drive_type: int) -> dict[str, object]:
    """What matters to uv about a volume, from GetVolumeInformationW/GetDriveTypeW output."""
    return {
        "fstype": fs_name.lower() or None,
        "read_only": bool(flags & FILE_READ_ONLY_VOLUME),
        "network": drive_type == DRIVE_REMOTE,
        "hardlinks": bool(flags & FILE_SUPPORTS_HARD_LINKS),
        "drive_type": DRIVE_TYPES.get(drive_type, "unknown"),
    }


def is_onedrive_path(path: str, env: Mapping[str, str]) -> bool:
    """Under a OneDrive folder (hardlinks there fail with os error 396,
    docs/failure-modes.md F6)."""
    norm = os.path.normcase(os.path.abspath(path))
    for var in ("OneDrive", "OneDriveConsumer", "OneDriveCommercial"):
        root = env.get(var)
        if root and norm.startswith(os.path.normcase(os.path.abspath(root)) + os.sep):
            return True
    return False


def kernel_text() -> str:
    import platform

    return f"Windows {platform.version()} {platform.machine()}"


def fs_facts(path: str) -> FsFacts:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    target = os.path.abspath(path)
    while not os.path.exists(target) and os.path.dirname(target) != target:
        target = os.path.dirname(target)
    vol = ctypes.create_unicode_buffer(261)
    if not k32.GetVolumePathNameW(target, vol, 261):
        return FsFacts(path, os.path.exists(path), error="GetVolumePathNameW failed")
    fs_name = ctypes.create_unicode_buffer(261)
    flags = wintypes.DWORD()
    serial = wintypes.DWORD()
    maxlen = wintypes.DWORD()
    k32.GetVolumeInformationW(
        vol.value,
        None,
        0,
        ctypes.byref(serial),
        ctypes.byref(maxlen),
        ctypes.byref(flags),
        fs_name,
        261,
    )
    drive_type = k32.GetDriveTypeW(vol.value)
    free = ctypes.c_ulonglong()
    total = ctypes.c_ulonglong()
    k32.GetDiskFreeSpaceExW(target, ctypes.byref(free), ctypes.byref(total), None)
    info = classify_volume(fs_name.value, flags.value, drive_type)
    options = [f"drive={info['drive_type']}"]
    if not info["hardlinks"]:
        options.append("no-hardlinks")
    if is_onedrive_path(target, os.environ):
        options.append("onedrive")
    fstype = info["fstype"]
    return FsFacts(
        path=path,
        exists=os.path.exists(path),
        device=serial.value,
        mount_point=vol.value,
        fstype=str(fstype) if fstype else None,
        options=tuple(options),
        read_only=bool(info["read_only"]),
        free_bytes=free.value,
        total_bytes=total.value,
        remote=bool(info["network"]),
    )
