"""Rules about the filesystem and the machine under the cache: mounts inside it, read-only,
network and WSL1 filesystems, a folder emptied at boot, disk space, the open-file limit, buckets
on other filesystems.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.diagnosis.inputs import (
    LOW_INODES_ERROR,
    LOW_INODES_WARN,
    LOW_SPACE_ERROR,
    LOW_SPACE_WARN,
    NOFILE_MIN,
    Inputs,
    finding,
    shell_quote,
)
from uv_cache_inspector.core.model import (
    Finding,
    Severity,
)
from uv_cache_inspector.core.platform import FsFacts

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _fs_label(fs: FsFacts) -> str:
    where = f" at {fmt.user_path(fs.mount_point)}" if fs.mount_point else ""
    return f"{fs.fstype or 'unknown filesystem'}{where}"


def rule_mounts_inside(inp: Inputs) -> Iterable[Finding]:
    """A filesystem mounted inside the cache (a bind mount has the cache's own st_dev)."""
    for mp in inp.facts.mounts_inside:
        yield finding(
            F.MOUNT_INSIDE_CACHE,
            WARNING,
            mp,
            f"{inp.short(mp)} is a mount point inside the cache: `uv cache clean` (or rm -rf) "
            "would delete whatever is mounted there. uvci refuses to delete through it.",
            f"Unmount it (`sudo umount {shell_quote(mp)}`) or mount it somewhere outside the "
            "cache.",
        )


def rule_read_only(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.read_only:
        yield finding(
            F.READ_ONLY_FILESYSTEM,
            ERROR,
            inp.root,
            f"The cache is on a read-only filesystem ({_fs_label(fs)}): uv cannot take its lock "
            'or unpack anything, so it fails with "Read-only file system (os error 30)".',
            "Set UV_CACHE_DIR (and TMPDIR) to a writable directory, for example inside your "
            "project, or use `uv --no-cache` (which still needs a writable TMPDIR).",
            fstype=fs.fstype,
            mount_point=fs.mount_point,
            options=list(fs.options),
        )
    tmp = inp.facts.tmpdir
    if tmp.read_only:
        yield finding(
            F.READ_ONLY_FILESYSTEM,
            WARNING,
            tmp.path,
            f"TMPDIR ({fmt.user_path(tmp.path)}) is read-only: `uv --no-cache` and builds that "
            "need a scratch directory fail.",
            "Point TMPDIR at a writable directory.",
        )


def rule_network(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.network and not fs.wsl1:
        yield finding(
            F.NETWORK_FILESYSTEM,
            WARNING,
            inp.root,
            f"The cache is on a network or FUSE filesystem ({_fs_label(fs)}): its locks may not "
            "exclude other machines, and entries can vanish under uv (uv issues #18073, #6147).",
            "Use a local directory for UV_CACHE_DIR (a node-local disk on clusters).",
            fstype=fs.fstype,
        )


def rule_wsl(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if inp.facts.wsl == 1 or fs.wsl1:
        yield finding(
            F.WSL1_FILESYSTEM,
            WARNING,
            inp.root,
            'This is WSL1, whose filesystem refuses some directory renames with "Permission '
            "denied\" while files inside are open or hard-linked, which is how uv's rename into "
            "archive-v0 fails (uv issue #11018).",
            "Use WSL2 (`wsl --set-version <distro> 2`) and keep the cache in the Linux "
            "filesystem, not under /mnt/c.",
            fstype=fs.fstype,
        )


def rule_tmp_cleaner(inp: Inputs) -> Iterable[Finding]:
    """A cache where systemd-tmpfiles deletes old files (docs/failure-modes.md F7, uv issue
    #6147)."""
    if not os.path.isdir("/usr/lib/tmpfiles.d") and not os.path.isdir("/etc/tmpfiles.d"):
        return
    from uv_cache_inspector.core.platform import posix

    real = inp.quick.real_root
    rule = posix.cleaning_rule(real, posix.tmpfiles_rules())
    if rule is not None and rule[2] not in {"-", "0", ""}:
        kind, where, age = rule
        yield finding(
            F.CACHE_IN_TMP,
            WARNING,
            inp.root,
            f"systemd-tmpfiles deletes files under {where} that were not used for {age}: "
            'archives vanish under uv, and installs fail with "failed to read directory ... '
            'No such file or directory" (uv issue #6147).',
            "Keep the cache elsewhere (the default ~/.cache/uv), or exclude it with an `x` line "
            "in /etc/tmpfiles.d.",
            rule=f"{kind} {where} {age}",
        )
    elif (rule is not None and rule[0] == "D") or inp.facts.cache.fstype == "tmpfs":
        yield finding(
            F.CACHE_IN_TMP,
            INFO,
            inp.root,
            "The cache is emptied at every reboot (a tmpfs, or a directory cleared at boot): uv "
            "downloads everything again afterwards.",
            "Fine for CI; for a workstation keep the cache in ~/.cache/uv.",
        )


def rule_disk_space(inp: Inputs) -> Iterable[Finding]:
    fs = inp.facts.cache
    if fs.free_bytes is not None and fs.total_bytes and fs.free_bytes < LOW_SPACE_WARN:
        sev = ERROR if fs.free_bytes < LOW_SPACE_ERROR else WARNING
        yield finding(
            F.LOW_DISK_SPACE,
            sev,
            inp.root,
            f"Only {fmt.size(fs.free_bytes)} is free on the cache's disk: uv needs room to "
            'unpack wheels and fails with "No space left on device (os error 28)".',
            "Free space: `uvci prune` removes what uv no longer uses (see its plan first).",
            free_bytes=fs.free_bytes,
            total_bytes=fs.total_bytes,
        )
    if fs.free_inodes is not None and fs.total_inodes and fs.free_inodes < LOW_INODES_WARN:
        sev = ERROR if fs.free_inodes < LOW_INODES_ERROR else WARNING
        yield finding(
            F.LOW_DISK_SPACE,
            sev,
            inp.root + os.sep,
            f"Only {fs.free_inodes:,} inodes are free on the cache's filesystem: creating files "
            'fails with "No space left on device" even with bytes to spare.',
            "`uvci prune` removes unused entries (each file costs an inode).",
            free_inodes=fs.free_inodes,
        )


def rule_open_files(inp: Inputs) -> Iterable[Finding]:
    soft = inp.facts.limits.nofile_soft
    if soft is not None and soft < NOFILE_MIN:
        yield finding(
            F.OPEN_FILE_LIMIT,
            WARNING,
            None,
            f"This shell allows only {soft} open files: uv opens many at once and can fail with "
            '"Too many open files (os error 24)".',
            "Raise it before running uv: `ulimit -n 4096`.",
            soft=soft,
            hard=inp.facts.limits.nofile_hard,
        )


def rule_cross_device(inp: Inputs) -> Iterable[Finding]:
    root_dev = inp.quick.root_node.device
    for n in inp.quick.nodes:
        if len(n.rel) == 1 and n.owner.is_dir and n.device != root_dev and not n.is_symlink:
            yield finding(
                F.CROSS_DEVICE,
                ERROR,
                n.path,
                f"{n.rel[0]} is on a different filesystem than the cache root, so uv's rename of "
                'new entries into it fails with "Invalid cross-device link (os error 18)".',
                f"Keep the whole cache on one filesystem: move {n.rel[0]} back under the cache "
                "root (or move the root onto its filesystem).",
            )
    if inp.snapshot is not None:
        for b in inp.snapshot.buckets:
            if b.is_symlink and b.device is not None and b.device != root_dev:
                yield finding(
                    F.CROSS_DEVICE,
                    ERROR,
                    b.path,
                    f"{b.name} is a link to another filesystem: uv's rename of new entries into "
                    'it fails with "Invalid cross-device link (os error 18)".',
                    "Replace the link with a real directory on the cache's filesystem.",
                )
    venv = inp.facts.venv
    cache = inp.facts.cache
    if venv is not None and venv.device is not None and venv.device != cache.device:
        yield finding(
            F.CROSS_DEVICE,
            WARNING,
            venv.path,
            f"The environment {fmt.user_path(venv.path)} is on a different filesystem "
            f"({_fs_label(venv)}) than the cache ({_fs_label(cache)}): uv cannot hard-link "
            'and copies every file ("Failed to hardlink files; falling back to full copy").',
            "Keep projects and the cache on one filesystem, or set UV_LINK_MODE=copy to "
            "accept the copies quietly.",
        )
    if cache.no_hardlinks:
        yield finding(
            F.NO_HARDLINKS,
            INFO,
            inp.root,
            f"The cache's filesystem ({cache.fstype}) has no hard links: uv copies every file "
            "into each environment.",
            "Move the cache to a filesystem with hard links (ext4, APFS, NTFS).",
        )
