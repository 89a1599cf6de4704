"""Platform facts: pure parsers with recorded inputs, and real mounts in private namespaces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uv_cache_inspector.core.platform import FsFacts, fs_facts, posix, windows

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:33 / /home/a\\040b/cache rw,nosuid - nfs4 server:/export rw,vers=4.2
41 27 0:34 / /mnt/c rw,noatime - 9p drvfs rw,dirsync,aname=drvfs;path=C:\\
42 27 0:35 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k
43 42 0:36 / /tmp/ro ro,relatime - tmpfs tmpfs rw
"""


def test_parse_mountinfo_and_find_the_mount():
    mounts = posix.parse_mountinfo(MOUNTINFO + "garbage line\n")
    assert len(mounts) == 6
    spaced = posix.mount_for("/home/a b/cache/uv/archive-v0", mounts)
    assert spaced is not None and spaced.fstype == "nfs4"
    assert posix.mount_for("/tmp/ro/x", mounts).options[0] == "ro"
    assert posix.mount_for("/tmp/rox", mounts).mount_point == "/tmp"
    assert posix.mount_for("/usr/lib", mounts).mount_point == "/"
    assert posix.mount_for("/mnt/c/Users", mounts).fstype == "9p"


def test_mount_points_below_a_path():
    mounts = posix.parse_mountinfo(MOUNTINFO)
    assert posix.mount_points_below("/tmp", mounts) == ["/tmp/ro"]
    assert posix.mount_points_below("/tmp/", mounts) == ["/tmp/ro"]
    assert posix.mount_points_below("/tmp/ro", mounts) == []  # the mount itself is not inside
    assert posix.mount_points_below("/tm", mounts) == []  # a prefix of a name is not a parent
    assert posix.mount_points_below("/home/a b", mounts) == ["/home/a b/cache"]


def test_network_and_wsl_classification():
    assert FsFacts("/x", True, fstype="nfs4").network
    assert FsFacts("/x", True, fstype="fuse.sshfs").network
    assert FsFacts("/x", True, fstype="9p").network
    assert not FsFacts("/x", True, fstype="ext4").network
    assert FsFacts("/x", True, fstype="lxfs").wsl1
    assert FsFacts("/x", True, fstype="exfat").no_hardlinks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc 5.4.0) #1237-Microsoft",
            1,
        ),
        ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1234) (gcc 11.2.0)", 2),
        ("Linux version 6.18.44 (builder@sandboxing) (gcc 15.3.0)", None),
    ],
)
def test_wsl_version(text, expected):
    assert posix.wsl_version(text, {}) == expected


def test_tmpfiles_rules():
    rules = posix.parse_tmpfiles(
        [
            "# comment\nD /tmp 1777 root root -\nq /var/tmp 1777 root root 30d\n"
            "x /var/tmp/keep\nd /run/user 0755 root root 10d\n"
        ]
    )
    assert posix.cleaning_rule("/var/tmp/uvc", rules) == ("q", "/var/tmp", "30d")
    assert posix.cleaning_rule("/tmp/uv", rules) == ("D", "/tmp", "-")
    assert posix.cleaning_rule("/var/tmp/keep/uv", rules) is None
    assert posix.cleaning_rule("/home/a/.cache/uv", rules) is None


def test_windows_volume_logic():
    """The Windows decisions, on recorded GetVolumeInformation/GetDriveType values."""
    ntfs = windows.classify_volume("NTFS", 0x00400000 | 0x2, 3)
    assert ntfs == {
        "fstype": "ntfs",
        "read_only": False,
        "network": False,
        "hardlinks": True,
        "drive_type": "fixed",
    }
    remote = windows.classify_volume("NTFS", 0x00080000, 4)
    assert remote["network"] and remote["read_only"] and not remote["hardlinks"]
    env = {"OneDrive": r"C:\Users\Ana\OneDrive"}
    if sys.platform == "win32":
        assert windows.is_onedrive_path(r"C:\Users\Ana\OneDrive\proj\.venv", env)
    else:
        assert windows.is_onedrive_path(
            "/home/ana/OneDrive/proj", {"OneDrive": "/home/ana/OneDrive"}
        )
        assert not windows.is_onedrive_path("/home/ana/proj", {"OneDrive": "/home/ana/OneDrive"})


def test_facts_of_this_machine(tmp_path):
    f = fs_facts(str(tmp_path / "does" / "not" / "exist"))
    assert not f.exists and f.fstype and f.free_bytes is not None and f.device is not None


FACTS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from uv_cache_inspector.core.platform import fs_facts
f = fs_facts(sys.argv[2])
print(json.dumps([f.fstype, f.read_only, f.free_bytes]))
"""


def _in_namespace(setup: str, path, tmp) -> list:
    """Run `setup` (mount commands) in a private mount namespace, then read fs_facts(path)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for mount tests; .ci/run installs it")
    script = tmp / "facts.py"
    script.write_text(FACTS_SCRIPT)
    app = str(Path(__file__).resolve().parents[2] / "app")
    proc = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f'{setup} && "$0" "$1" "$2" "$3"',
            sys.executable,
            str(script),
            app,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_read_only_bind_mount_is_seen(world_tmp):
    d = world_tmp / "ro"
    d.mkdir()
    _fstype, ro, _ = _in_namespace(
        f"mount --bind {d} {d} && mount -o remount,ro,bind {d}", d, world_tmp
    )
    assert ro is True


def test_tiny_tmpfs_is_seen(world_tmp):
    d = world_tmp / "tiny"
    d.mkdir()
    fstype, ro, free = _in_namespace(f"mount -t tmpfs -o size=1m tmpfs {d}", d, world_tmp)
    assert fstype == "tmpfs" and ro is False and free <= 1024 * 1024


WATCH_SCRIPT = """
import json, subprocess, sys
sys.path.insert(0, sys.argv[1])
from uv_cache_inspector.core.platform import MountWatch
d = sys.argv[2]
watch = MountWatch()
seen = [watch.below(d), watch.below(d)]
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d + "/inner"], check=True)
seen.append(watch.below(d))
seen.append(watch.below(d))
subprocess.run(["umount", d + "/inner"], check=True)
seen.append(watch.below(d))
print(json.dumps(seen))
"""


def test_mount_watch_sees_a_mount_made_after_it_started(world_tmp):
    """apply.py reads the mount table once and again only when the kernel says it changed:
    a filesystem mounted inside the cache halfway through a prune is still seen at once."""
    d = world_tmp / "cache"
    (d / "inner").mkdir(parents=True)
    script = world_tmp / "watch.py"
    script.write_text(WATCH_SCRIPT)
    app = str(Path(__file__).resolve().parents[2] / "app")
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, str(script), app, str(d)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    inner = str(d / "inner")
    assert json.loads(proc.stdout) == [[], [], [inner], [inner], []]
