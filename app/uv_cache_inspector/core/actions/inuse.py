"""What running uv processes use in a cache, so a prune or repair can go on while they run.

uv holds a shared lock on `<cache>/.lock` for the whole life of every command, `uv run` and
`uvx` included (uv PR #15990): an MCP server started with `uvx`, a notebook under `uv run`, or the
very `uv run uv-cache-inspector` that started this app, hold it for hours. `uv cache prune` then
waits forever, and `--force` deletes environments that running tools still import from (uv
#11694). Here, instead of the exclusive lock, we find out what every uv process tree uses and
protect it (issue 13):

- every process in the tree of each running `uv`/`uvx` (the uv process and its descendants, so
  the Python that `uv run` started), and this process itself: open files and memory maps under
  the cache, working directories, the executable and `argv[0]`, the environment they run in
  (`VIRTUAL_ENV`, or the environment their interpreter belongs to: `pyvenv.cfg` above `bin/`);
- an environment inside the cache (`uv run --with`, `uvx`, `uv run --script`) is protected whole,
  with the bucket entry that names it;
- for an environment installed in symlink link mode, the archives its symlinks point into;
- the buckets that an older running uv reads (it may not be the newest uv on the machine);
- anything younger than the grace period: an archive or `.tmp*` that a uv starting now may be
  creating, and while a `uv run`/`uvx` has not started its program yet, every cached
  environment (it may be about to use any of them).

Processes we may not inspect (another user's, without root) cannot be ruled out: while one of
them runs, deleting is refused (`cannot_tell`). Linux is where this is tested; psutil gives the
same facts on Windows and macOS where the platform allows (open files and memory maps need the
same user there too).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from uv_cache_inspector.core.platform.processes import ProcInfo, info

if TYPE_CHECKING:
    from uv_cache_inspector.core.actions.model import Plan
    from uv_cache_inspector.core.model import Snapshot

# An archive or .tmp younger than this may be one a uv is creating now.
GRACE_SECONDS = float(os.environ.get("UVCI_GRACE_SECONDS", "600"))
REFRESH_SECONDS = 0.5  # the process sweep is redone at most this often while deleting

UV_NAMES = frozenset({"uv", "uvx", "uv.exe", "uvx.exe"})
_STARTERS = ("run", "tool")  # `uv run`, `uv tool run`: they start a program from an environment


def ancestors(pid: int | None = None) -> set[int]:
    """This process's ancestors (the `uv run` that started us and whatever started it)."""
    import psutil

    try:
        proc = psutil.Process(pid or os.getpid())
        return {p.pid for p in proc.parents()}
    except (psutil.Error, OSError):
        return set()


@dataclass
class UvTree:
    """A running uv process and its descendants."""

    uv: ProcInfo
    pids: list[int]
    starting: bool  # a `uv run`/`uvx` whose program has not started yet
    version: str | None = None


@dataclass
class Sweep:
    """One look at every uv process tree: what each one uses under the cache."""

    root: str
    at: float
    trees: list[UvTree] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # path under the root -> who, for people
    environments: dict[str, str] = field(default_factory=dict)  # env dirs (real) -> who
    cannot_tell: list[str] = field(default_factory=list)  # processes we may not inspect
    starting: list[str] = field(default_factory=list)  # uv run / uvx not yet running a program
    versions: dict[str, str] = field(default_factory=dict)  # uv executable -> its version


def _under_root(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _env_of(argv0: str, virtual_env: str | None) -> str | None:
    """The environment a Python process runs in: VIRTUAL_ENV, else the directory above
    `bin/python` (`Scripts\\python.exe`) when it holds a pyvenv.cfg."""
    if virtual_env:
        return virtual_env
    if not argv0:
        return None
    parent = os.path.dirname(os.path.dirname(argv0))
    if parent and os.path.isfile(os.path.join(parent, "pyvenv.cfg")):
        return parent
    return None


def _is_starter(cmdline: list[str]) -> bool:
    name = os.path.basename(cmdline[0]).lower() if cmdline else ""
    if name.startswith("uvx"):
        return True
    words = [w for w in cmdline[1:] if not w.startswith("-")]
    return bool(words) and words[0] in _STARTERS


def sweep(root: str, *, include_self: bool = True) -> Sweep:
    """Every uv process tree (and this process): what it uses under `root` (a real path)."""
    import psutil

    out = Sweep(root, time.time())
    me = os.getpid()
    trees: list[tuple[psutil.Process, list[psutil.Process]]] = []
    for p in psutil.process_iter(["pid", "name"]):
        if (p.info.get("name") or "").lower() not in UV_NAMES:
            continue
        try:
            kids = p.children(recursive=True)
        except (psutil.Error, OSError):
            kids = []
        trees.append((p, kids))
    seen: set[int] = set()
    groups: list[tuple[ProcInfo | None, list[psutil.Process], bool]] = []
    for p, kids in trees:
        pi = info(p.pid)
        try:
            cmd = p.cmdline()
        except (psutil.Error, OSError):
            cmd = []
        starting = _is_starter(cmd) and not kids
        groups.append((pi, [p, *kids], starting))
    if include_self:
        groups.append((info(me), [psutil.Process(me)], False))
    for pi, members, starting in groups:
        who = pi.label() if pi else "a uv process"
        if pi is not None and pi.pid != me:
            out.trees.append(UvTree(pi, [m.pid for m in members], starting))
            if starting:
                out.starting.append(who)
        for m in members:
            if m.pid in seen:
                continue
            seen.add(m.pid)
            _inspect(m, root, who, out)
    return out


def _inspect(proc: object, root: str, who: str, out: Sweep) -> None:
    import psutil

    assert isinstance(proc, psutil.Process)
    paths: list[str] = []
    try:
        with proc.oneshot():
            cmd = proc.cmdline()
            paths.extend(f.path for f in proc.open_files())
            try:
                paths.extend(m.path for m in proc.memory_maps(grouped=True))
            except (psutil.Error, OSError, NotImplementedError):
                pass
            try:
                paths.append(proc.cwd())
            except (psutil.Error, OSError):
                pass
            try:
                env = proc.environ()
            except (psutil.Error, OSError):
                env = {}
            try:
                exe = proc.exe()
            except (psutil.Error, OSError):
                exe = ""
    except psutil.AccessDenied:
        out.cannot_tell.append(who)
        return
    except (psutil.Error, OSError):
        return  # gone meanwhile
    argv0 = cmd[0] if cmd else ""
    if argv0 and not os.path.isabs(argv0) and os.sep not in argv0:
        # `uvx` starts `python` through PATH, whose first entry is the environment's bin/.
        import shutil

        argv0 = shutil.which(argv0, path=env.get("PATH", "")) or argv0
    paths.extend(p for p in (exe, argv0) if p)
    name = os.path.basename(argv0).lower()
    if name in UV_NAMES and exe:
        out.versions.setdefault(exe, "")
    env_dir = _env_of(argv0, env.get("VIRTUAL_ENV"))
    if env_dir:
        paths.append(env_dir)
        real_env = os.path.realpath(env_dir)
        out.environments.setdefault(real_env, who)
    for p in paths:
        if not p or not os.path.isabs(p):
            continue
        for candidate in {p, os.path.realpath(p)}:
            if _under_root(candidate, root):
                out.used.setdefault(candidate, who)


# -- what a sweep protects --------------------------------------------------------------------


def _unit_of(path: str, root: str) -> str:
    """The unit a path belongs to, which goes or stays whole: `archive-v0/<id>`, a root
    `.tmp*`, or the first two levels of a bucket (`environments-v2/<hash>`)."""
    rel = os.path.relpath(path, root).split(os.sep)
    depth = 1 if rel[0].startswith(".tmp") else 2
    return os.path.join(root, *rel[:depth])


@dataclass
class Guard:
    """Says, for a path about to be deleted, whether something may be using it, and who."""

    root: str
    grace: float = GRACE_SECONDS
    env_symlink_targets: Callable[[Iterable[str]], set[str]] | None = None
    link_targets: dict[str, str] = field(default_factory=dict)  # entry path -> archive path
    current_buckets: frozenset[str] = frozenset()  # current for the newest uv (not stale)
    current_sweep: Sweep | None = None
    protected: dict[str, str] = field(default_factory=dict)  # path -> why

    def refresh(self, force: bool = False) -> Sweep:
        now = time.time()
        if (
            not force
            and self.current_sweep is not None
            and now - self.current_sweep.at < REFRESH_SECONDS
        ):
            return self.current_sweep
        s = sweep(self.root)
        self.current_sweep = s
        prot: dict[str, str] = {}
        for path, who in s.used.items():
            prot.setdefault(_unit_of(path, self.root), f"in use by {who}")
        for env, who in s.environments.items():
            if _under_root(env, self.root) and env != self.root:
                prot.setdefault(_unit_of(env, self.root), f"the environment of {who}")
        for name, who in _buckets_of_running_uvs(s).items():
            if name not in self.current_buckets:  # a bucket the prune keeps anyway
                prot.setdefault(os.path.join(self.root, name), f"read by {who}")
        if self.env_symlink_targets is not None:
            outside = [e for e in s.environments if not _under_root(e, self.root)]
            for archive in self.env_symlink_targets(outside):
                prot.setdefault(archive, "an environment of a running program links into it")
        # What a protected entry names stays with it (environments-v2/<hash> -> archive-v0/<id>,
        # a wheel entry of a bucket an older uv reads -> its archive), and the other way round.
        for entry, target in self.link_targets.items():
            hit = _find(prot, entry)
            if hit is not None and target not in prot:
                prot[target] = prot[hit]
            elif target in prot and _unit_of(entry, self.root) not in prot:
                prot[_unit_of(entry, self.root)] = prot[target]
        self.protected = prot
        return s

    def why(self, path: str, *, environment: bool = False) -> str | None:
        """Why `path` must stay (None: provably unused right now)."""
        s = self.refresh()
        if s.cannot_tell:
            return (
                f"{', '.join(s.cannot_tell)} cannot be inspected (another user's process); "
                "it may be using anything here"
            )
        hit = _find(self.protected, path)
        if hit is not None:
            return self.protected[hit]
        if environment and s.starting:
            return f"{', '.join(s.starting)} is starting and may be about to use it"
        age = _age(path)
        if age is not None and age < self.grace:
            return (
                f"changed {int(age)} s ago: a uv may be writing it (younger than "
                f"{int(self.grace / 60)} minutes)"
            )
        return None


def _find(protected: dict[str, str], path: str) -> str | None:
    """A protected path that `path` is, lies in, or contains."""
    for p in protected:
        if p == path or path.startswith(p + os.sep) or p.startswith(path + os.sep):
            return p
    return None


def _buckets_of_running_uvs(s: Sweep) -> dict[str, str]:
    """The buckets each running uv reads, by its own version: an older uv than the newest on
    the machine reads buckets a prune calls stale. {bucket name: who}. Not `archive-v0`, nor
    the buckets whose contents are protected one by one (environments, builds)."""
    from uv_cache_inspector.core.cache.layout import buckets_for, format_version
    from uv_cache_inspector.core.cache.uv_binaries import ask_version

    out: dict[str, str] = {}
    for exe in s.versions:
        version, _ = ask_version(exe)
        if version is None:
            continue
        who = f"a running uv {format_version(version)}"
        for kind, v in buckets_for(version).current.items():
            if kind not in {"archive", "environments", "builds"}:
                out.setdefault(f"{kind}-v{v}", who)
    return out


def _age(path: str) -> float | None:
    """Seconds since `path` (or, for a directory, its newest direct child) last changed."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # mtime, not ctime: a copy or a chown changes ctime, and uv's rename of a finished .tmp into
    # archive-v0 keeps the mtime the unpacking gave it.
    newest = st.st_mtime
    if stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(path) as it:
                for e in it:
                    try:
                        est = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    newest = max(newest, est.st_mtime)
        except OSError:
            pass
    return max(0.0, time.time() - newest)


def uses_cache(tree_paths: Iterable[str], root: str) -> bool:
    return any(_under_root(p, root) for p in tree_paths)


# -- using it from a plan ---------------------------------------------------------------------


def guard_for(snap: Snapshot, grace: float = GRACE_SECONDS) -> Guard:
    """A Guard that knows which entries name which archives in this snapshot."""
    from uv_cache_inspector.core.actions.prune import venv_symlink_targets
    from uv_cache_inspector.core.model import LinkState

    archive_dir = os.path.join(snap.real_root, "archive-v0")
    links = {
        e.path: os.path.join(archive_dir, e.archive_id)
        for e in snap.entries
        if e.state is LinkState.OK and e.archive_id
    }
    memo: dict[str, set[str]] = {}

    def targets(envs: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for env in envs:
            if env not in memo:  # an environment's links do not change while it runs
                memo[env] = venv_symlink_targets([env], snap.real_root)
            out |= memo[env]
        return out

    from uv_cache_inspector.core.model import BucketStatus

    current = frozenset(b.name for b in snap.buckets if b.status is BucketStatus.CURRENT)
    return Guard(
        snap.real_root,
        grace=grace,
        link_targets=links,
        env_symlink_targets=targets,
        current_buckets=current,
    )


def keep_what_is_used(plan: Plan, guard: Guard) -> None:
    """Take out of `plan` every deletion of something a running uv may be using, and what goes
    with it (an archive whose link stays), saying why in `plan.kept`."""
    kept: list[str] = []
    for a in list(plan.actions):
        if a.kind != "delete":
            continue
        why = guard.why(a.path, environment=a.category == "environment")
        if why is not None:
            plan.actions.remove(a)
            kept.append(a.path)
            plan.kept.append(f"{os.path.relpath(a.path, plan.root)}: {why}")
    if not kept:
        return
    # An archive stays when a link to it stays (never leave a link without its archive).
    staying = set(kept)
    for entry, target in guard.link_targets.items():
        if _find(dict.fromkeys(staying, ""), entry) is None:
            continue
        for a in list(plan.actions):
            if a.kind == "delete" and a.path == target:
                plan.actions.remove(a)
                plan.kept.append(
                    f"{os.path.relpath(a.path, plan.root)}: a link that stays names it"
                )


def only_own_launchers(pids: Iterable[int]) -> bool:
    """The lock's holders are all this process's ancestors (the `uv run`/`uvx` that started
    us, waiting for us to finish): they are not using what we would remove."""
    holders = set(pids)
    return bool(holders) and holders <= ancestors()


def uv_using(root: str) -> list[str]:
    """uv processes (not our ancestors) that use the cache at `root`: an open file, a working
    directory or an environment under it, `--cache-dir` or UV_CACHE_DIR naming it, or the
    default cache of their user being it. For caches without `.lock` (uv < 0.8.19)."""
    import psutil

    mine = ancestors() | {os.getpid()}
    out = []
    for p in psutil.process_iter(["pid", "name"]):
        if (p.info.get("name") or "").lower() not in UV_NAMES or p.pid in mine:
            continue
        who = info(p.pid)
        label = who.label() if who else f"uv (pid {p.pid})"
        try:
            cmd = p.cmdline()
            env = p.environ()
        except psutil.AccessDenied:
            out.append(f"{label}, which cannot be inspected")
            continue
        except (psutil.Error, OSError):
            continue
        if _names_cache(cmd, env, root):
            out.append(label)
            continue
        s = Sweep(root, time.time())
        try:
            members = [p, *p.children(recursive=True)]
        except (psutil.Error, OSError):
            members = [p]
        for m in members:
            _inspect(m, root, label, s)
        if s.used or any(_under_root(e, root) for e in s.environments):
            out.append(label)
    return out


def _names_cache(cmd: list[str], env: dict[str, str], root: str) -> bool:
    named = None
    for i, w in enumerate(cmd):
        if w == "--cache-dir" and i + 1 < len(cmd):
            named = cmd[i + 1]
        elif w.startswith("--cache-dir="):
            named = w.split("=", 1)[1]
    named = named or env.get("UV_CACHE_DIR")
    if named is None:
        if env.get("XDG_CACHE_HOME"):
            named = os.path.join(env["XDG_CACHE_HOME"], "uv")
        elif env.get("HOME"):
            named = os.path.join(env["HOME"], ".cache", "uv")
        else:
            return True  # cannot tell which cache it uses
    return os.path.realpath(named) == root
