"""Reading uv's error text: the failures it reports (`parse`, `primary`) and what the text
shows around them (`signals`: platform, sandbox transcripts, WSL mounts, where the cache is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from uv_cache_inspector.core.diagnosis import oserrors, uvtext
from uv_cache_inspector.core.model import Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

MAX_EXPLAINED = 50  # failures explained in one go (more are listed, not checked)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed operation uv reported."""

    op: str
    paths: tuple[str, ...]  # (source, target) for two-path operations, else (target,)
    errno: int | None
    os_message: str
    line: str
    chain: tuple[str, ...] = ()  # the whole chain, outermost first
    context: tuple[str, ...] = ()  # what uv was doing around it (cache_write, install, ...)
    resource: str | None = None  # what a lock protects
    kind: str = "error"  # error, warning, log, tree, inline
    errno_name: str | None = None
    errno_kind: str | None = None
    platform: str = "unknown"
    retried: bool = False
    line_no: int = 0


# -- parsing ------------------------------------------------------------------------------------

_PRIMARY_OPS = {
    "rename",
    "hardlink",
    "copy",
    "symlink",
    "clone",
    "open",
    "create_file",
    "create_dir",
    "remove_file",
    "remove_dir",
    "read_dir",
    "write",
    "read",
    "metadata",
    "canonicalize",
    "readlink",
    "chmod",
    "lock",
    "lock_wait",
    "lock_timeout",
    "extract",
    "persist",
    "walk",
    "spawn",
    "deserialize",
    "create_temp",
    "initialize",
    "clear",
}
_KIND_RANK = {"error": 3, "tree": 3, "inline": 3, "warning": 2, "log": 1}


def platform_of(paths: Iterable[str], texts: Iterable[str]) -> str:
    for p in paths:
        if p.startswith("\\\\") or (len(p) > 2 and p[1] == ":" and p[2] in "\\/"):
            return "windows"
        if "\\" in p and "/" not in p:
            return "windows"
    for p in paths:
        if p.startswith(("/Users/", "/var/folders/", "/Library/", "/private/var/")):
            return "macos"
        if p.startswith("/mnt/") and len(p) > 6 and p[6] == "/" and p[5].isalpha():
            return "linux"
        if p.startswith("/"):
            return "linux"
    for t in texts:
        if (
            "Access is denied" in t
            or "The process cannot access" in t
            or "Incorrect function" in t
            or "The system cannot" in t
        ):
            return "windows"
    return "unknown"


def _failure_from(report: uvtext.Report, progress: uvtext.Message | None) -> Failure | None:
    items = uvtext.split_inline_causes(report.items)
    msgs = [uvtext.parse_item(it.text, it.line) for it in items]
    if not msgs:
        return None
    op_i = -1
    for i, m in enumerate(msgs):
        if m.op in _PRIMARY_OPS:
            op_i = i
    ctx_i = -1
    for i, m in enumerate(msgs):
        if m.context:
            ctx_i = i
    err_i = -1
    start = max(op_i, 0)
    for i in range(start, len(msgs)):
        if msgs[i].errno is not None:
            err_i = i
            break
    if err_i < 0:
        for i in range(len(msgs) - 1, -1, -1):
            if msgs[i].errno is not None:
                err_i = i
                break
    if op_i < 0 and err_i < 0 and ctx_i < 0:
        return None
    if report.kind == "log" and err_i < 0 and op_i < 0:
        return None
    contexts = tuple(m.context for m in msgs if m.context)
    if op_i >= 0:
        head = msgs[op_i]
        op = head.op or "unknown"
        paths = head.paths
        resource = head.resource
    elif ctx_i >= 0:
        head = msgs[ctx_i]
        op = head.context or "unknown"
        paths = head.paths
        resource = head.resource
    else:
        head = msgs[err_i]
        op, paths, resource = "unknown", (), None
        if progress is not None and progress.context:
            op, paths = progress.context, progress.paths
            contexts = (progress.context,)
    if (
        op_i < 0
        and ctx_i >= 0
        and not paths
        and progress is not None
        and progress.context
        and "create_venv" in (head.context, op)
    ):
        paths = progress.paths
    # an "at path" below a context names the path ("Could not create temporary file" / "...
    # (os error 30) at path X")
    if not paths and err_i >= 0 and msgs[err_i].paths:
        paths = msgs[err_i].paths
        if op in ("unknown", "create_temp") or op_i < 0:
            op = msgs[err_i].op or op
    if op == "unknown" and op_i < 0 and err_i >= 0 and msgs[err_i].op:
        op = msgs[err_i].op or op
    err = msgs[err_i] if err_i >= 0 else None
    errno = err.errno if err else None
    os_message = err.os_message if err else ""
    texts = [m.text for m in msgs]
    platform = platform_of(paths, texts)
    ek = (
        oserrors.classify(errno, os_message, platform)
        if (errno is not None or os_message)
        else None
    )
    if err is not None and err is not head:
        line = f"{head.text}: {err.text}" if head.text != err.text else head.text
    else:
        line = head.text
    return Failure(
        op=op,
        paths=paths,
        errno=errno,
        os_message=os_message,
        line=line,
        chain=tuple(texts),
        context=contexts,
        resource=resource,
        kind=report.kind,
        errno_name=ek.name if ek else None,
        errno_kind=ek.kind if ek else None,
        platform=platform,
        retried=any(m.retried for m in msgs),
        line_no=head.line,
    )


MAX_FAILURES = 1000  # distinct failures read from the start before jumping to the end
TAIL = 256 * 1024  # how much of the end is read when the middle is skipped


def _collect(
    text: str,
    out: dict[tuple[str, tuple[str, ...], int | None], Failure],
    limit: int | None,
) -> bool:
    """Read reports into `out`; False when it stopped at `limit` failures."""
    progress: uvtext.Message | None = None
    since_progress = 0
    for report in uvtext.reports(text):
        if report.kind == "progress":
            progress = uvtext.parse_item(report.items[0].text, report.items[0].line)
            since_progress = 0
            continue
        since_progress += 1
        f = _failure_from(report, progress if since_progress <= 3 else None)
        if f is None:
            continue
        key = (f.op, f.paths, f.errno)
        old = out.get(key)
        if old is None or _KIND_RANK.get(f.kind, 0) > _KIND_RANK.get(old.kind, 0):
            if old is not None:
                del out[key]
            out[key] = f
        if limit is not None and len(out) >= limit:
            return False
    return True


def parse(
    text: str | bytes | uvtext.Prepared, stats: dict[str, Any] | None = None
) -> list[Failure]:
    """Every failed operation in uv's output (errors, causes, warnings, log lines), each once,
    in the order uv printed them. After MAX_FAILURES distinct failures (no uv run prints that
    many), the middle is skipped and the last TAIL characters are read, where uv's final error
    is; `stats["skipped_middle"]` then says so."""
    prepared = text if isinstance(text, uvtext.Prepared) else uvtext.prepare(text)
    out: dict[tuple[str, tuple[str, ...], int | None], Failure] = {}
    complete = _collect(prepared.text, out, MAX_FAILURES)
    if not complete and len(prepared.text) > TAIL:
        tail = prepared.text[-TAIL:]
        tail = tail[tail.find("\n") + 1 :]
        _collect(tail, out, None)
        if stats is not None:
            stats["skipped_middle"] = len(prepared.text) - TAIL
    return list(out.values())


def primary(failures: Sequence[Failure]) -> Failure | None:
    """The failure that stopped uv: the last error with an error number or an operation,
    before warnings and log lines."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for i, f in enumerate(failures):
        rank = _KIND_RANK.get(f.kind, 0)
        if f.kind in ("warning", "log") and f.errno is not None:
            rank = 2
        score = (rank, 1 if (f.errno is not None or f.op != "unknown") else 0, i)
        if best is None or score > best:
            best, chosen = score, f
    return chosen


# -- what the text shows ------------------------------------------------------------------------

_MNT = re.compile(r"/mnt/[a-z]/")
_TEMP_DIRS = ("/tmp/", "/var/tmp/", "/var/folders/")  # noqa: S108 (names, not used as paths)
_VENV_PROMPT = re.compile(r"(?m)^\([\w.-]{1,40}\) ")
_BUCKET = re.compile(
    r"(?:archive|sdists|wheels|built-wheels|simple|git|interpreter|builds|environments|"
    r"binaries|python|flat-index|uv-setuptools)-v\d{1,3}"
)
_TMP = re.compile(r"\.tmp[A-Za-z0-9]{6}")


@dataclass(frozen=True, slots=True)
class Signals:
    """What the whole pasted text shows besides the failure itself."""

    sudo: bool = False
    chmod_read_only: bool = False
    sandbox: str | None = None
    container: bool = False
    wsl: bool = False
    wsl1: bool = False
    network_fs: bool = False
    several_uv: bool = False
    venv_active: bool = False
    user_switch: bool = False
    exfat: bool = False
    antivirus: bool = False
    retries: bool = False
    onedrive: bool = False

    def to_json(self) -> dict[str, Any]:
        from dataclasses import fields

        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def signals(text: str) -> Signals:
    low = text.lower()
    sandbox = None
    for marker, name in (
        ("⎿", "Claude Code"),
        ("● bash(", "Claude Code"),
        ("claude", "Claude Code"),
        ("• ran ", "Codex"),
        ("codex", "Codex"),
        ("sandbox-exec", "macOS sandbox"),
        ("seatbelt", "macOS sandbox"),
        ("landlock", "Landlock"),
        ("flatpak", "Flatpak"),
        ("bwrap", "bubblewrap"),
        ("firejail", "firejail"),
        ("sandbox", "a sandbox"),
    ):
        if marker in low:
            sandbox = name
            break
    return Signals(
        sudo="sudo " in low,
        chmod_read_only=any(
            s in low for s in ("chmod -r a-w", "chmod a-w", "chmod -w", "chmod -r -w", "chmod 555")
        ),
        sandbox=sandbox,
        container=any(
            s in low
            for s in (
                "docker",
                "podman",
                "container",
                "dockerfile",
                "/opt/app-root",
                "/workspaces/",
                "kubectl",
            )
        )
        or ("-1  " in text and "| error" in text),
        wsl=bool(_MNT.search(text)) or "wsl" in low or "-microsoft" in low,
        wsl1=("-microsoft" in low and "microsoft-standard" not in low) or "wsl1" in low,
        network_fs=any(
            s in low
            for s in (" nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "compute node", "slurm")
        ),
        several_uv=text.count("Start-Process") >= 2
        or any(s in low for s in ("ninja", "parallel", "simultaneous", "concurrent")),
        venv_active=bool(_VENV_PROMPT.search(text)) or "activate" in low,
        user_switch=any(s in low for s in ("sudo su ", "su - ", "sudo -u", "runuser", "\nuser ")),
        exfat=any(s in low for s in ("exfat", "fat32", "vfat", "memory card", "sd card")),
        antivirus=any(
            s in low
            for s in ("antivirus", "defender", "edr", "trellix", "avast", "crowdstrike", "sophos")
        ),
        retries="retrying rename" in low or "retrying to persist" in low,
        onedrive="onedrive" in low,
    )


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[\\/]", path) if s]


def message_cache_root(failure: Failure) -> str | None:
    """The cache the message's paths are in, as printed (None when they name none)."""
    for p in failure.paths + ((failure.resource,) if failure.resource else ()):
        if not p:
            continue
        norm = p.replace("\\", "/")
        for m in _BUCKET.finditer(norm):
            if m.start() > 0 and norm[m.start() - 1] == "/":
                end = m.end()
                if end == len(norm) or norm[end] == "/":
                    return p[: m.start() - 1] or "/"
        m2 = _TMP.search(norm)
        if m2 and m2.start() > 0 and norm[m2.start() - 1] == "/":
            parent = norm[: m2.start() - 1]
            if "cache" in parent.lower() and "/share/uv/" not in norm:
                return p[: m2.start() - 1]
        low = norm.lower().rstrip("/")
        for suffix in ("/.cache/uv", "/uv/cache", "/caches/uv", "/uv-cache", "/uvcache"):
            if low.endswith(suffix) and failure.op in ("create_dir", "initialize", "lock"):
                return p
        if low.endswith(("/.cache/uv/.lock", "/uv/cache/.lock")):
            return p[: -len("/.lock")]
    if failure.op in ("initialize", "clear") and failure.paths:
        return failure.paths[0]
    return None


def under_root(path: str, root: str) -> bool:
    a = path.replace("\\", "/").rstrip("/")
    b = root.replace("\\", "/").rstrip("/")
    return a == b or a.startswith(b + "/")


def path_role(path: str, cache_root: str | None) -> str:
    """What a path in the message is: cache, venv, system-python, tools, pythons, temp,
    windows-apps, dev-null, other."""
    norm = path.replace("\\", "/")
    low = norm.lower()
    if low.startswith("/dev/null/") or low == "/dev/null":
        return "dev-null"
    if "/windowsapps/" in low:
        return "windows-apps"
    if cache_root and under_root(path, cache_root):
        return "cache"
    if "/share/uv/tools" in low or "/uv/tools/" in low:
        return "tools"
    if "/share/uv/python" in low or low.startswith(("/uv/python", "/opt/uv/python")):
        return "pythons"
    segs = _segments(low)
    if ".venv" in segs or "venv" in segs or "/envs/" in low or "site-packages" in segs:
        if low.startswith(("/usr/lib/python", "/usr/local/lib/python", "/usr/lib64/python")):
            return "system-python"
        if "program files/python" in low or low.startswith("c:/python"):
            return "system-python"
        return "venv"
    if low.startswith(("/usr/local/bin/", "/usr/bin/")):
        return "system-python"
    if low.startswith(_TEMP_DIRS) or "/appdata/local/temp/" in low:
        return "temp"
    if "/.cache/uv" in low or "/uv/cache" in low or "/caches/uv" in low:
        return "cache"
    return "other"
