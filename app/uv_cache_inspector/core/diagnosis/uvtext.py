"""Read uv's error output as uv prints it, in time linear in its size.

uv reports an error as a chain: the outermost context first, then its causes, down to the
operating system's message and `(os error N)`. Across releases and front ends the chain looks
like this (all from real reports, tests/data/explain_corpus.json):

    error: Failed to download distributions            (anyhow-style, uv < 0.2 and most errors)
      Caused by: failed to rename file from A to B
      Caused by: Access is denied. (os error 5)

    error: failed to open file `X`: Permission denied (os error 13)   (one line, newer uv)

      × Failed to download `pywin32==312`              (miette trees; wrapped by the terminal)
      ├─▶ Failed to read from the distribution cache
      ╰─▶ failed to rename file from
          C:\\...\\.tmp0UmRZd to
          C:\\...\\archive-v0\\suQw...:
          Access is denied. (os error 5)

    x Failed to query python interpreter `C:\\...\\python.exe`     (miette, ASCII)
    `-> 拒绝访问。 (os error 5)

    Caused by:                                         (anyhow, numbered)
        0: Failed to query Python interpreter at `...`
        1: Access is denied. (os error 5)

plus what logs and terminals add around it: timestamps, `#9 0.248` (BuildKit), `name-1 |`
(compose), `> ` (quoted), `::` (craft), `⎿`/`└` (agent transcripts), lines broken by the
terminal (`No space left on` / `device (os error 28)`), and chains flattened onto one line
(`error: Could not acquire lock  Caused by: ...`).

Only `str.find`, slicing and regular expressions anchored at a line start with bounded
alternatives are used: no pattern here can backtrack over a long line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from uv_cache_inspector.core.diagnosis import oserrors

MAX_PATH = 4096  # longer "paths" are not paths
MAX_ITEM = 64 * 1024  # a chain item longer than this is cut (its start is what matters)


# -- input --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    text: str
    binary: bool  # NUL bytes or mostly control characters: not a terminal's output
    nul_bytes: int
    notes: tuple[str, ...]


_CSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]")  # colours, cursor moves (bounded)
_OSC = re.compile(r"\x1b\][^\x07\x1b]{0,1024}(?:\x07|\x1b\\)")  # hyperlinks, titles


def prepare(data: str | bytes) -> Prepared:
    """Decode, drop NUL bytes and terminal escapes, normalize line ends."""
    notes: list[str] = []
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            notes.append("the input is not valid UTF-8; undecodable bytes were replaced")
    else:
        text = data
    nul = text.count("\0")
    sample = text[: 64 * 1024]
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\x1b") if sample else 0
    replaced = sample.count("\ufffd")
    binary = nul > 0 or (len(sample) > 0 and (controls + replaced) > len(sample) * 0.1)
    if nul:
        text = text.replace("\0", "")
        notes.append(f"{nul} NUL byte{'s' if nul != 1 else ''} removed")
    if "\x1b" in text:
        text = _OSC.sub("", _CSI.sub("", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Prepared(text, binary, nul, tuple(notes))


def _trie(words: list[str]) -> str:
    """A regular expression matching exactly `words`, as a trie: at each character there is
    one way forward, so matching never backtracks further than the longest word."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def emit(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(tree)


# -- lines -> chain items -----------------------------------------------------------------------

# Decorations in front of a line, removed in turn (each anchored and bounded), tried only
# when the line starts with a character the decoration can start with.
_P_TIME = re.compile(
    r"\[(?:[\w.-]{1,40} )?\d{4}-\d\d-\d\d[T ][\d:.]{5,20}Z?\]\s?(?:\[\w{1,10}\]\s*)?"
)  # [2024-04-03T12:12:22.668Z], [pip-install 2024-...Z], [2025-02-04 19:49:50.325] [info]
_P_ISO = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]{5,20}Z\s")
_P_GMT = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\s")
_P_KIT = re.compile(r"#\d{1,4} \d{1,6}\.\d{1,4} ")  # BuildKit
_P_COMPOSE = re.compile(r"[\w.-]{1,64}-\d{1,3} {1,40}\| ")  # docker compose
_P_ELAPSED = re.compile(r"\d{1,6}\.\d{1,4} (?=\s{0,8}(?:error|warning|Caused|cause|×))")
_P_UV = re.compile(r"uv: \[(?:error|warning)\]\s*")
_P_MARK = re.compile(r"(?:> ?|:: ?| {0,2}⎿ {1,4}| {0,2}└ |• |● )")  # quotes, craft, agents


def _strip_prefixes(line: str) -> str:
    for _ in range(4):
        c = line[:1]
        m = None
        if c == "[":
            m = _P_TIME.match(line)
        elif c == "#":
            m = _P_KIT.match(line)
        elif c.isdigit():
            m = _P_ISO.match(line) or _P_ELAPSED.match(line)
        elif c in ">:⎿└•● ":
            m = _P_MARK.match(line)
        elif c == "u":
            m = _P_UV.match(line)
        if m is None and c.isalpha():
            if c.isupper() and line[3:5] == ", ":
                m = _P_GMT.match(line)
            elif "| " in line[:110]:
                m = _P_COMPOSE.match(line)
        if m is None or m.end() == 0:
            return line
        line = line[m.end() :]
    return line


_TREE = re.compile(r"(?:[├╰]─{0,4}▶|[├╰]─:arrow_forward:|\|->|`->|[├╰]─{0,4}>)\s?")
_HEAD = re.compile(r"(?:×|x|✕) ")  # miette's first line
_LOG = re.compile(r"(DEBUG|TRACE|INFO|WARN|WARNING|ERROR) ")
_LABEL = re.compile(r"(error|warning|warn|Error|Warning|cause|Caused by) ?: ?")
_NUMBERED = re.compile(r"\d{1,2}: ")
_SHELL = re.compile(r"(?:\$ |❯ |PS [A-Za-z]:\\|\([\w.-]{1,40}\) PS |[\w.@-]{1,64}[:$#] )")
_HELP = re.compile(r"(?:help|hint|note): ")
# A line outside any report is still read when it names a failure ("... fails with `error:
# failed to remove directory ...`"), or says what uv was doing ("Creating virtual environment").
_INTERESTING = re.compile(
    r"ailed to |ould not |os error|aiting to acquire|ache is currently|IO error|etrying |"
    r"reating virtual"
)


@dataclass
class Item:
    text: str
    line: int  # 1-based line where the item starts


@dataclass
class Report:
    kind: str  # "error", "warning", "log", "tree", "inline", "progress"
    items: list[Item] = field(default_factory=list)
    level: str = ""  # DEBUG/TRACE/INFO/WARN for log lines


_PATHY = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./\\~")
_STARTS = _PATHY | {"`", "'", '"', "(", "["}


def _join(prev: str, nxt: str, indented: bool) -> str:
    """Join a wrapped line. miette wraps at spaces and indents the rest (a word broken at a
    hyphen stays broken there); a terminal cuts at its width, anywhere, without indenting.
    So a path cut in the middle is glued back, and words get a space."""
    if not prev:
        return nxt
    if prev[-1] in " \t":
        return prev.rstrip() + " " + nxt
    last = prev.rsplit(" ", 1)[-1]
    glue = (
        last[-1] in _PATHY
        and nxt[:1] in _PATHY
        and ("/" in last or "\\" in last)
        and nxt.split(" ", 1)[0] not in ("to", "at", "from", "into", "due")
        and not nxt.startswith(("/", "\\", "~"))
        and not (len(nxt) > 2 and nxt[1] == ":" and nxt[2] in "\\/")
    )
    if glue and (not indented or last.endswith("-")):
        return prev + nxt
    return prev + " " + nxt


def _complete(text: str) -> bool:
    return "(os error" in text or text.endswith((".", ")", "`", '"', "'"))


def _loose(stripped: str, lineno: int) -> Report | None:
    """A line outside a report that still says something about a failure."""
    if not _INTERESTING.search(stripped):
        return None
    for label in ("error: ", "error:", "Error: "):
        i = stripped.find(label)
        if i >= 0:
            return Report("inline", [Item(stripped[i + len(label) :].strip(), lineno)])
    if "reating virtual" in stripped and "(os error" not in stripped:
        return Report("progress", [Item(stripped, lineno)])
    return Report("inline", [Item(stripped, lineno)])


class _Reader:
    """The line-by-line state of `reports`: which report is open, its indentation, whether a
    `help:` block or an anyhow `Caused by:` header is being read."""

    def __init__(self) -> None:
        self.cur: Report | None = None
        self.indent = 0
        self.in_help = False
        self.caused_header = False

    @property
    def idle(self) -> bool:
        return self.cur is None

    def _open(self, report: Report, ind: int) -> Report | None:
        done = self.cur
        self.cur = report
        self.indent = ind
        self.caused_header = False
        return done

    def feed(self, raw: str, lineno: int) -> list[Report]:
        out: list[Report] = []
        line = _strip_prefixes(raw.rstrip())
        stripped = line.lstrip()
        cur = self.cur
        if not stripped:
            if cur is not None and cur.kind == "log":
                out.append(cur)
                self.cur = None
            return out
        ind = len(line) - len(stripped)
        c = stripped[:1]
        if cur is not None and c in "hn" and _HELP.match(stripped):
            self.in_help = True
            return out
        if self.in_help and cur is not None and ind > self.indent:
            return out
        self.in_help = False
        if c == "│":  # miette's continuation bar
            stripped = stripped[1:].lstrip()
            ind = max(ind, self.indent + 1)
            if not stripped:
                return out
            c = stripped[:1]

        new_kind = None
        body = stripped
        level = ""
        if c in "DTIWE":
            m = _LOG.match(stripped)
            if m:
                new_kind, level, body = "log", m.group(1), stripped[m.end() :]
        if new_kind is None and c in "×x✕":
            m = _HEAD.match(stripped)
            if m:
                new_kind, body = "tree", stripped[m.end() :]
        if (
            new_kind is None
            and c in "ewEWcC"
            and not (
                cur is not None
                and cur.kind in ("tree", "error", "warning", "inline")
                and cur.items
                and ind > self.indent
                and not _complete(cur.items[-1].text)
                and not stripped.startswith(("Caused by", "cause"))
            )
        ):
            m = _LABEL.match(stripped)
            if m:
                label = m.group(1)
                body = stripped[m.end() :].lstrip()
                hm = _HEAD.match(body)
                if hm:
                    body = body[hm.end() :]
                if label in ("cause", "Caused by"):
                    if cur is None:
                        cur = self.cur = Report("error")
                        self.indent = ind
                    if not body:
                        self.caused_header = True
                        return out
                    cur.items.append(Item(body, lineno))
                    self.indent = ind
                    return out
                new_kind = "warning" if label.lower().startswith("warn") else "error"
        if new_kind is not None:
            done = self._open(Report(new_kind, level=level), ind)
            if done is not None:
                out.append(done)
            if body:
                self.cur.items.append(Item(body, lineno))  # type: ignore[union-attr]
            return out
        if cur is not None:
            if c in "├╰|`":
                m = _TREE.match(stripped)
                if m:
                    cur.items.append(Item(stripped[m.end() :], lineno))
                    self.indent = ind
                    return out
            if self.caused_header and c.isdigit():
                m = _NUMBERED.match(stripped)
                if m:
                    cur.items.append(Item(stripped[m.end() :], lineno))
                    self.indent = ind
                    return out
            last = cur.items[-1] if cur.items else None
            continuation = last is not None and (
                (ind > 0 and (ind >= self.indent or cur.kind in ("tree", "warning")))
                or (not _complete(last.text) and c in _STARTS and not _SHELL.match(stripped))
            )
            if continuation and last is not None:
                if len(last.text) < MAX_ITEM:
                    last.text = _join(last.text, stripped, ind > 0)
                return out
            out.append(cur)
            self.cur = None
        loose = _loose(stripped, lineno)
        if loose is not None:
            if loose.kind == "progress":
                out.append(loose)
            else:
                self._open(loose, ind)
        return out

    def close(self) -> list[Report]:
        done, self.cur = self.cur, None
        return [done] if done is not None else []


# What a report must contain somewhere to say anything about a failure.
_STRONG = re.compile(
    _trie(
        [
            "os error",
            "ailed to",
            "ould not",
            "aiting to",
            "aiting for lock",
            "ache is",
            "IO error",
            "etrying",
            "reating virtual",
            "at path",
            "alling back",
        ]
    )
)


def reports(text: str) -> Iterator[Report]:
    """Split uv's output into reports (an error or warning with its chain of causes).

    Between reports, the text is not read line by line: the next line that says something
    about a failure (`_STRONG`) is found in one search, and reading starts one line above it
    (the head of its chain: `error: ...`, `× ...`, `Caused by:`), until no report is open."""
    reader = _Reader()
    pos = 0  # everything before was read
    lineno = 1  # the line number at `pos`
    n = len(text)
    while pos < n:
        m = _STRONG.search(text, pos)
        if m is None:
            break
        at = m.start()
        line_start = text.rfind("\n", pos, at) + 1
        start = max(pos, text.rfind("\n", pos, max(line_start - 1, pos)) + 1)
        if line_start == pos or line_start <= 0:
            start = max(pos, line_start)
        lineno += text.count("\n", pos, start)
        pos = start
        strong_end = text.find("\n", at)
        if strong_end < 0:
            strong_end = n
        while pos < n:
            end = text.find("\n", pos)
            if end < 0:
                end = n
            yield from reader.feed(text[pos:end], lineno)
            pos = end + 1
            lineno += 1
            if reader.idle and pos > strong_end:
                break
    yield from reader.close()


MAX_CHAIN = 64  # a chain longer than this keeps its first and last MAX_CHAIN // 2 items


def split_inline_causes(items: Iterable[Item]) -> list[Item]:
    """`error: A  Caused by: B  Caused by: C` (a chain flattened onto one line) -> A, B, C.
    A chain longer than MAX_CHAIN keeps its two ends (uv's are a few items long)."""
    out: list[Item] = []
    for it in items:
        text = it.text
        start = 0
        while True:
            i = text.find("Caused by:", start)
            if i < 0:
                break
            head = text[start:i].strip()
            if head:
                out.append(Item(head, it.line))
            start = i + len("Caused by:")
        tail = text[start:].strip()
        if tail:
            out.append(Item(tail, it.line))
        if len(out) > 4 * MAX_CHAIN:
            out = out[: MAX_CHAIN // 2] + out[-MAX_CHAIN // 2 :]
    if len(out) > MAX_CHAIN:
        out = out[: MAX_CHAIN // 2] + out[-MAX_CHAIN // 2 :]
    return out


# -- one chain item -> operation, paths, os error -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    op: str | None  # the operation uv names (None for a bare OS message or a context)
    context: str | None  # a context uv names ("cache_write", "install", ...)
    paths: tuple[str, ...]
    resource: str | None
    errno: int | None
    os_message: str
    retried: bool = False
    line: int = 0


# (phrase, operation, how the path(s) follow). Phrases are found with str.find; "F" stands
# for both "failed" and "Failed" (uv's fs-err messages are lower case, its own capitalized).
_SINGLE = "single"  # a path in backticks/quotes, or bare up to ": "
_TWO = "two"  # from A to B (bare, uv < 0.13 and fs-err)
_TWO_Q = "two-quoted"  # `A` to `B`
_AT = "at"  # `resource` at `path`
_NONE = "none"

_PHRASES: tuple[tuple[str, str, str], ...] = (
    # fs-err (fs_err::ErrorKind / SourceDestErrorKind)
    ("ailed to rename file from ", "rename", _TWO),
    ("ailed to rename directory from ", "rename", _TWO),
    ("ailed to hardlink file from ", "hardlink", _TWO),
    ("ailed to copy file from ", "copy", _TWO),
    ("ailed to symlink file from ", "symlink", _TWO),
    ("ailed to symlink dir from ", "symlink", _TWO),
    ("ailed to softlink file from ", "symlink", _TWO),
    ("ailed to open file ", "open", _SINGLE),
    ("ailed to create file ", "create_file", _SINGLE),
    ("ailed to create directory ", "create_dir", _SINGLE),
    ("ailed to create dir ", "create_dir", _SINGLE),
    ("ailed to remove file ", "remove_file", _SINGLE),
    ("ailed to remove directory ", "remove_dir", _SINGLE),
    ("ailed to remove dir ", "remove_dir", _SINGLE),
    ("ailed to read directory ", "read_dir", _SINGLE),
    ("ailed to write to file ", "write", _SINGLE),
    ("ailed to write with offset to ", "write", _SINGLE),
    ("ailed to seek and write to ", "write", _SINGLE),
    ("ailed to sync file ", "write", _SINGLE),
    ("ailed to flush file ", "write", _SINGLE),
    ("ailed to set length of file ", "write", _SINGLE),
    ("ailed to read from file ", "read", _SINGLE),
    ("ailed to read with offset from ", "read", _SINGLE),
    ("ailed to seek and read from ", "read", _SINGLE),
    ("ailed to query metadata of file ", "metadata", _SINGLE),
    ("ailed to query metadata of symlink ", "metadata", _SINGLE),
    ("ailed to canonicalize path ", "canonicalize", _SINGLE),
    ("ailed to read symbolic link ", "readlink", _SINGLE),
    ("ailed to set permissions for file ", "chmod", _SINGLE),
    ("ailed to set permissions on temporary file ", "chmod", _SINGLE),
    ("ailed to lock ", "lock", _SINGLE),
    ("ailed to unpack ", "extract", _SINGLE),
    ("ailed to decode file ", "read", _SINGLE),
    # uv's own (uv-fs, uv-cache, uv-install-wheel, uv-python)
    ("ailed to persist temporary file to ", "persist", _SINGLE),
    ("ould not persist temporary file ", "persist", _SINGLE),
    ("ailed to retrieve temporary file while trying to persist to ", "persist", _SINGLE),
    ("etrying to persist temporary file to ", "persist", _SINGLE),
    ("etrying rename from ", "rename", _TWO),
    ("ailed renaming ", "rename", _TWO),
    ("ailed copying ", "copy", _TWO),
    ("ailed to hard link ", "hardlink", _TWO_Q),
    ("ailed to reflink ", "clone", _TWO_Q),
    ("ailed to clone ", "clone", _TWO_Q),
    ("ailed to symlink ", "symlink", _TWO_Q),
    ("ailed to create symlink from ", "symlink", _TWO_Q),
    ("ailed to copy to: ", "copy", _SINGLE),
    ("ailed to copy to ", "copy", _SINGLE),
    ("ould not acquire lock for ", "lock", _AT),
    ("ould not acquire shared lock for ", "lock", _AT),
    ("ould not acquire exclusive lock for ", "lock", _AT),
    ("hen waiting for lock on ", "lock_timeout", _AT),
    ("aiting to acquire lock for ", "lock_wait", _AT),
    ("aiting to acquire shared lock for ", "lock_wait", _AT),
    ("aiting to acquire exclusive lock for ", "lock_wait", _AT),
    ("ache is currently in-use, waiting for other uv processes", "lock_wait", _NONE),
    ("IO error for operation on ", "walk", _SINGLE),
    ("ailed to initialize cache at ", "initialize", _SINGLE),
    ("ailed to clear cache at: ", "clear", _SINGLE),
    ("ailed to query Python interpreter at ", "spawn", _SINGLE),
    ("ailed to query python interpreter ", "spawn", _SINGLE),
    ("ailed to spawn: ", "spawn", _SINGLE),
    ("ailed to spawn ", "spawn", _SINGLE),
    ("ailed to run ", "spawn", _SINGLE),
    ("ailed to start Python interpreter", "spawn", _NONE),
    ("ailed to deserialize cache entry", "deserialize", _NONE),
    ("ailed to hardlink files; falling back to full copy", "hardlink", _NONE),
    ("ailed to clone files; falling back to full copy", "clone", _NONE),
    ("ailed to symlink files; falling back to full copy", "symlink", _NONE),
)

# Contexts: what uv was doing, when no operation below names more.
_CONTEXTS: tuple[tuple[str, str, str], ...] = (
    ("ould not create temporary file", "create_temp", _NONE),
    ("ailed to create temporary", "create_temp", _NONE),
    ("ould not acquire lock", "lock", _NONE),
    ("ailed to acquire lock on the", "lock", _NONE),
    ("ailed to write to the distribution cache", "cache_write", _NONE),
    ("ailed to write to the client cache", "cache_write", _NONE),
    ("ailed to write to cache", "cache_write", _NONE),
    ("ailed to read from the distribution cache", "cache_read", _NONE),
    ("ailed to read from the client cache", "cache_read", _NONE),
    ("ailed to install: ", "install", _NONE),
    ("ailed to bytecode-compile", "compile", _NONE),
    ("ailed to create virtual environment", "create_venv", _NONE),
    ("ailed to create virtualenv", "create_venv", _NONE),
    ("ailed to query Python interpreter", "spawn", _NONE),
    ("ailed to inspect Python interpreter from ", "spawn", _AT),
    ("reating virtual environment at: ", "create_venv", _SINGLE),
    ("reating virtualenv at: ", "create_venv", _SINGLE),
    ("reating virtualenv with seed packages at: ", "create_venv", _SINGLE),
    ("ailed to extract archive", "extract", _NONE),
)

_CAPS = {"ailed": "Ff", "ould ": "Cc", "etryi": "Rr", "aitin": "Ww", "ache ": "Cc", "reati": "Cc"}


def _compile(
    table: tuple[tuple[str, str, str], ...],
) -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    keyed: dict[str, tuple[str, str]] = {}
    words = []
    for phrase, op, style in table:
        first = _CAPS.get(phrase[:5])
        variants = [c + phrase for c in first] if first else [phrase]
        for v in variants:
            keyed.setdefault(v, (op, style))
            words.append(v)
    return re.compile(_trie(words)), keyed


_PHRASE_RE, _PHRASE_KEYS = _compile(_PHRASES)
_CONTEXT_RE, _CONTEXT_KEYS = _compile(_CONTEXTS)


def _find_phrase(text: str, table: tuple[tuple[str, str, str], ...]) -> tuple[int, str, str]:
    """The innermost (last) phrase of `table` in `text`: (index after it, op, style), or
    (-1, "", "") when there is none. uv joins a chain with ": " on one line, outermost first."""
    pattern, keys = (
        (_PHRASE_RE, _PHRASE_KEYS) if table is _PHRASES else (_CONTEXT_RE, _CONTEXT_KEYS)
    )
    last = None
    for m in pattern.finditer(text):
        last = m
    if last is None:
        return -1, "", ""
    entry = keys.get(last.group(0))
    if entry is None:
        return -1, "", ""
    return last.end(), entry[0], entry[1]


def _quoted_at(text: str, i: int) -> tuple[str | None, int]:
    """A path quoted at `text[i:]` (after spaces): (path, index after it)."""
    n = len(text)
    while i < n and text[i] == " ":
        i += 1
    if i < n and text[i] in "`'\"":
        q = text[i]
        j = text.find(q, i + 1)
        if j > i + 1 and j - i <= MAX_PATH:
            return text[i + 1 : j], j + 1
    return None, i


def _bare_until_colon(text: str, i: int) -> tuple[str | None, int]:
    """A bare path from `i` up to ": " (or the end, or " at path", or "(os error")."""
    ends = [len(text)]
    for stop in (": ", " (os error", " at path ", "; falling back"):
        j = text.find(stop, i)
        if j >= 0:
            ends.append(j)
    j = min(ends)
    p = text[i:j].strip().rstrip(":")
    if not p or len(p) > MAX_PATH:
        return None, j
    return p, j


def _path_start(s: str) -> bool:
    return bool(s) and (
        s[0] in "/~\\.`'\"" or (len(s) > 2 and s[1] == ":" and s[2] in "\\/") or s[0].isalnum()
    )


def _two_bare(text: str, i: int) -> tuple[tuple[str, ...], int]:
    """`A to B` from i: A up to the first " to " followed by a path, B up to ": "."""
    j = i
    while True:
        k = text.find(" to ", j)
        if k < 0:
            return (), i
        if _path_start(text[k + 4 : k + 7]):
            break
        j = k + 1
    src = text[i:k].strip()
    dst, end = _bare_until_colon(text, k + 4)
    if " due to transient error" in (dst or ""):
        dst = dst.split(" due to transient error", 1)[0]  # type: ignore[union-attr]
    if not src or not dst or len(src) > MAX_PATH:
        return (), end
    return (src, dst), end


def _two_quoted(text: str, i: int) -> tuple[tuple[str, ...], int]:
    a, j = _quoted_at(text, i)
    if a is None:
        return _two_bare(text, i)
    if text.startswith(" to ", j):
        b, k = _quoted_at(text, j + 4)
        if b is not None:
            return (a, b), k
    return (a,), j


def _paths(text: str, i: int, style: str) -> tuple[tuple[str, ...], str | None, int]:
    """(paths, resource, end) for the phrase that ends at i."""
    if style == _NONE:
        return (), None, i
    if style == _TWO:
        if text[i : i + 1] in "`'\"":
            p, end = _two_quoted(text, i)
            return p, None, end
        p, end = _two_bare(text, i)
        return p, None, end
    if style == _TWO_Q:
        p, end = _two_quoted(text, i)
        return p, None, end
    if style == _AT:
        res, j = _quoted_at(text, i)
        if res is None:  # old form: "Waiting to acquire lock for R (lockfile: P)"
            k = text.find(" (lockfile: ", i)
            if k >= 0:
                close = text.find(")", k)
                if close > 0:
                    return (text[k + 12 : close].strip(),), text[i:k].strip(), close + 1
            k = text.find(" at ", i)
            if k >= 0:
                res = text[i:k].strip() or None
                j = k
            else:
                return (), None, i
        k = text.find(" at ", j)
        if k >= 0 and k - j <= 8:
            at, end = _quoted_at(text, k + 4)
            if at is not None:
                return (at,), res, end
        return (), res, j
    p1, end = _quoted_at(text, i)
    if p1 is not None:
        return (p1,), None, end
    p2, end = _bare_until_colon(text, i)
    return ((p2,) if p2 else ()), None, end


def os_error(text: str) -> tuple[int | None, int, int]:
    """(code, start of "(os error", index after the number); code None when there is none.
    Accepts negative numbers (HRESULTs printed signed) and a missing closing parenthesis."""
    i = text.find("(os error ")
    if i < 0:
        j = text.find("(0x8007")
        if j >= 0:
            try:
                code = oserrors.from_hresult(int(text[j + 1 : j + 11], 16))
            except ValueError:
                code = None
            return code, j, j + 12
        return None, -1, -1
    k = i + len("(os error ")
    neg = text[k : k + 1] == "-"
    if neg:
        k += 1
    e = k
    while e < len(text) and e - k < 12 and text[e].isdigit():
        e += 1
    if e == k:
        return None, -1, -1
    value = int(text[k:e])
    if neg:
        value = -value
        wrapped = oserrors.from_hresult(value)
        if wrapped is not None:
            value = wrapped
    elif value >= 0x80000000:
        wrapped = oserrors.from_hresult(value)
        if wrapped is not None:
            value = wrapped
    return value, i, e


def parse_item(text: str, line: int = 0) -> Message:
    if len(text) > MAX_ITEM:
        text = text[:MAX_ITEM]
    code, oe_start, _ = os_error(text)
    end, op, style = _find_phrase(text, _PHRASES)
    context = None
    paths: tuple[str, ...] = ()
    resource = None
    after = 0
    if end >= 0:
        paths, resource, after = _paths(text, end, style)
    else:
        cend, context, cstyle = _find_phrase(text, _CONTEXTS)
        if cend >= 0:
            paths, resource, after = _paths(text, cend, cstyle)
        else:
            context = None
    # "<message> (os error N) at path "X"": the tempfile crate's words.
    if not paths and oe_start >= 0:
        k = text.find(" at path ", oe_start)
        if k < 0:
            k = text.find("at path ", oe_start)
        if k >= 0:
            p, _ = _quoted_at(text, text.find("at path ", k) + len("at path "))
            if p:
                paths = (p,)
                if not op:
                    op = "create_temp"
    # the OS message: before "(os error", back to the ": " that ends the operation
    msg = ""
    if oe_start >= 0:
        lo = after if (op or context) and after <= oe_start else 0
        seg = text[lo:oe_start]
        k = seg.rfind(": ")
        if k >= 0 and (lo > 0 or op or context):
            seg = seg[k + 2 :]
        msg = seg.strip().lstrip(":").strip()
        if msg.lower().startswith("error:"):
            msg = msg[6:].strip()
    retried = ("etrying " in text and "due to transient error" in text) or (
        "etrying to persist" in text
    )
    return Message(
        text=text,
        op=op or None,
        context=context,
        paths=paths,
        resource=resource,
        errno=code,
        os_message=msg,
        retried=retried,
        line=line,
    )
