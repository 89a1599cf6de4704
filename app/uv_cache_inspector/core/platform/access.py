"""Can uv, running as a given user, do what it needs here? (POSIX permission rules.)

What uv needs, from how it writes (docs/uv-cache-format.md §4) and locks (§5):
- the root, every bucket, archive-v0 and the directories inside link buckets: read, write and
  search (uv creates `.tmpXXXXXX` there, renames into them, replaces links atomically);
- `.lock` files (the root's and per-entry ones): open read+write;
- inside an archive: read (and search on directories) to install from it; write on its
  directories only to delete it (prune, clean, repair).

rename(2) also needs write permission on a directory that moves (its `..` changes), and in a
sticky directory only the owner of an entry (or of the directory) may rename or delete it.
Group bits count when the user is in the owning group (shared caches). ACLs are not read: where
they grant more, the real uv can do more than this model says (`uvci test-write` settles it).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from uv_cache_inspector.core.model import Owner


@dataclass(frozen=True, slots=True)
class UvUser:
    uid: int
    gid: int
    groups: frozenset[int]
    name: str
    how: str  # "you", "SUDO_UID", "--owner", "the cache's owner"

    def describe(self) -> str:
        if self.how == "you":
            return f"you ({self.name}, uid {self.uid})"
        return f"{self.name} (uid {self.uid}, {self.how})"


# 2**32 - 1 is (uid_t)-1, which chown(2) reads as "leave the owner as it is".
MAX_UID = 2**32 - 2


def has_account(uid: int) -> bool:
    try:
        import pwd

        pwd.getpwuid(uid)
    except ImportError:
        return True  # no account database to ask (Windows)
    except (KeyError, OverflowError):
        return False
    return True


def user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def group_name(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return f"gid {gid}"


def _user(uid: int, how: str) -> UvUser:
    try:
        import pwd

        pw = pwd.getpwuid(uid)
        groups = frozenset(os.getgrouplist(pw.pw_name, pw.pw_gid))
        return UvUser(uid, pw.pw_gid, groups, pw.pw_name, how)
    except (ImportError, KeyError, OSError):
        return UvUser(uid, uid, frozenset({uid}), f"uid {uid}", how)


def resolve_user(
    root_owner: Owner | None,
    owner_arg: str | None = None,
    env: Mapping[str, str] | None = None,
) -> UvUser:
    """The user uv runs as: `--owner`, else the current user; when we run as root: SUDO_UID,
    else the owner of the cache root (root running doctor on a user's cache, as with sudo -i)."""
    env = os.environ if env is None else env
    if owner_arg:
        if owner_arg.isdigit():
            uid = int(owner_arg)
            if uid > MAX_UID:
                from uv_cache_inspector.core.errors import UsageError

                raise UsageError(
                    f"--owner {owner_arg}: not a user id (user ids go from 0 to {MAX_UID:,})"
                )
            return _user(uid, "--owner")
        try:
            import pwd

            return _user(pwd.getpwnam(owner_arg).pw_uid, "--owner")
        except (ImportError, KeyError) as exc:
            from uv_cache_inspector.core.errors import UsageError

            raise UsageError(f"no such user: {owner_arg}") from exc
    if not hasattr(os, "geteuid"):  # Windows: the access model does not apply
        return UvUser(-1, -1, frozenset(), os.environ.get("USERNAME", "you"), "you")
    euid = os.geteuid()
    if euid != 0:
        me = _user(euid, "you")
        return UvUser(
            me.uid, os.getegid(), frozenset(os.getgroups()) | {os.getegid()}, me.name, "you"
        )
    sudo_uid = env.get("SUDO_UID")
    if sudo_uid and sudo_uid.isdigit() and int(sudo_uid) != 0:
        return _user(int(sudo_uid), "from SUDO_UID")
    if root_owner is not None and root_owner.uid != 0:
        return _user(root_owner.uid, "the cache's owner")
    return _user(0, "you")


def missing(owner: Owner, user: UvUser, want: str) -> str:
    """Which of the permissions in `want` ("r", "w", "x") `user` lacks on a path with `owner`."""
    if user.uid == 0:
        # root passes read and write checks; execute/search needs some x bit on files.
        return "x" if "x" in want and not owner.is_dir and not owner.mode & 0o111 else ""
    if owner.uid == user.uid:
        shift = 6
    elif owner.gid in user.groups or owner.gid == user.gid:
        shift = 3
    else:
        shift = 0
    bits = (owner.mode >> shift) & 0o7
    return "".join(c for c, bit in (("r", 4), ("w", 2), ("x", 1)) if c in want and not bits & bit)


def may(owner: Owner, user: UvUser, want: str) -> bool:
    """Does `user` have every permission in `want` on a path with `owner`?"""
    return not missing(owner, user, want)


def _perm_words(perms: str) -> str:
    names = {"r": "read", "w": "write", "x": "search"}
    return " and ".join(names[c] for c in "rwx" if c in perms)


def explain_denial(path: str, owner: Owner, user: UvUser, want: str) -> str:
    """'it is owned by root (uid 0, mode 0755) and uv runs as you (alice, uid 1000), who lacks
    write permission there'."""
    del path
    who = user_name(owner.uid)
    lacking = missing(owner, user, want) or want
    return (
        f"it is owned by {who} (uid {owner.uid}, group {group_name(owner.gid)}, mode "
        f"{owner.mode_text()}) and uv runs as {user.describe()}, who lacks "
        f"{_perm_words(lacking)} permission there"
    )


def sticky_blocks(parent: Owner, entry: Owner, user: UvUser) -> bool:
    """In a sticky directory only the entry's or the directory's owner may rename/delete it."""
    return bool(parent.mode & stat.S_ISVTX) and user.uid not in {0, entry.uid, parent.uid}


def is_shared(root: Owner) -> bool:
    """A cache meant for a group: setgid root, group-writable (docs/failure-modes.md F4, #5611)."""
    return bool(root.mode & stat.S_ISGID) and bool(root.mode & 0o020)


# Where a path sits in the cache decides what uv needs there.
NEED_WRITE = "rwx"  # uv creates entries here
NEED_READ_DIR = "rx"  # uv installs from here
NEED_READ_FILE = "r"
NEED_LOCK = "rw"


def requirement(rel_parts: tuple[str, ...], is_dir: bool) -> tuple[str, str, str]:
    """(needed for uv to work, needed to delete it, what it is) for a path inside the root."""
    if not rel_parts:
        return NEED_WRITE, "", "the cache directory"
    top = rel_parts[0]
    if len(rel_parts) == 1 and not is_dir:
        if top == ".lock":
            return NEED_LOCK, "", "the cache lock file"
        return "", "", f"the file {top}"
    if top == "archive-v0":
        if len(rel_parts) == 1:
            return NEED_WRITE, "", "archive-v0, where uv renames every new entry to"
        if len(rel_parts) == 2:
            return (
                NEED_READ_DIR if is_dir else NEED_READ_FILE,
                "w" if is_dir else "",
                (f"the unpacked archive {rel_parts[1]}"),
            )
        return (
            (NEED_READ_DIR if is_dir else NEED_READ_FILE),
            ("w" if is_dir else ""),
            (f"a file inside archive {rel_parts[1]}"),
        )
    if top.startswith(".tmp"):
        return "", "w" if is_dir else "", "a temporary directory"
    if "src" in rel_parts[1:] and top.startswith(("sdists-", "built-wheels-")):
        return (
            (NEED_READ_DIR if is_dir else NEED_READ_FILE),
            ("w" if is_dir else ""),
            ("an unpacked source distribution"),
        )
    if not is_dir:
        name = rel_parts[-1]
        if name.endswith(".lock") or name == ".lock":
            return NEED_LOCK, "", "an entry lock file"
        return NEED_READ_FILE, "", f"a cache entry in {top}"
    if len(rel_parts) == 1:
        return NEED_WRITE, "", f"the bucket {top}"
    return NEED_WRITE, "", f"a directory in {top}"


# -- what we tell people to do about ownership --------------------------------------------------
# uv installs by hard-linking files out of the cache, so a file in the cache can be the very same
# inode as a file in an environment that root (or another user) runs. `chown -R` or `chmod -R`
# over the cache would change those environments' files too. Our repair gives back directories
# and replaces multiply-linked files with the user's own copies; that is what we advise, never a
# recursive chown or chmod (issue 20).


def ownership_fix(user: str) -> str:
    return (
        f"Run `uvci repair` (the window's Repair button): it gives the folders back to {user} "
        "and gives the cache its own copies of files that are hard-linked elsewhere, so those "
        "places keep their owner. Not `chown -R`: uv hard-links these files into environments, "
        f"and it would hand those environments' files to {user} too."
    )


def mode_fix() -> str:
    return (
        "Run `uvci repair` (the window's Repair button): it opens up what uv needs and copies "
        "files that are hard-linked elsewhere instead of changing their modes there too."
    )


def shared_group_fix(group: str) -> str:
    return (
        f"Run `uvci repair` (the window's Repair button): it gives group {group} its rights back "
        "(setgid directories, group read and write) without taking files from their owners; "
        "then run uv with umask 002."
    )
