"""Sizes, ages and paths in words, for people (CLI tables, the app, reports)."""

from __future__ import annotations

import math
import os
import time


def size(n: float) -> str:
    """1536 -> '1.5 KiB' (binary units, as uv prints them)."""
    import humanize

    return str(humanize.naturalsize(n, binary=True, format="%.1f"))


def age(seconds: float | None) -> str:
    """3725 -> 'an hour'; None -> 'never'."""
    if seconds is None:
        return "never"
    import humanize

    return str(humanize.naturaldelta(max(0.0, seconds)))


def since(timestamp: float | None, now: float | None = None) -> str:
    if not timestamp:
        return "never"
    return age((now or time.time()) - timestamp) + " ago"


def plural(n: int, word: str, words: str | None = None) -> str:
    """(1, 'archive') -> '1 archive'; (3, 'archive') -> '3 archives'; (2, 'entry', 'entries')."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def user_path(path: str, home: str | None = None) -> str:
    """Paths under the home directory shown as ~ (for reports people paste publicly).

    Only under the $HOME a shell would expand `~` to: with HOME unset, `~/.cache/uv` would not
    name the folder meant (uv then takes the home from the user database), so the full path is
    shown."""
    if home is None:
        home = os.environ.get("HOME", "") if os.name != "nt" else os.path.expanduser("~")
    if home and home != "/" and (path == home or path.startswith(home.rstrip("/\\") + os.sep)):
        return "~" + path[len(home.rstrip("/\\")) :]
    return path


def parse_size(text: str) -> int:
    """'20G', '500 MiB', '1.5GB', '1024' -> bytes. Raises ValueError."""
    t = text.strip().replace(" ", "").upper().removesuffix("B").removesuffix("I")
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    if t and t[-1] in units and not t[-1].isdigit():
        num, mult = t[:-1], units[t[-1]]
    else:
        num, mult = t, 1
    value = float(num)
    if not math.isfinite(value):
        raise ValueError("size must be a finite number")
    if value < 0:
        raise ValueError("size must not be negative")
    if value * mult > 2**63:
        raise ValueError("size is larger than any disk")
    return int(value * mult)


def table(rows: list[list[str]], header: list[str], right: set[int] | None = None) -> str:
    """A plain-text table with aligned columns."""
    right = right or set()
    widths = [len(h) for h in header]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


# Terminal control characters (C0 but tab and newline, DEL, C1): a file name can hold ESC
# sequences that set the terminal's title, move the cursor or clear the screen. Human output
# shows them escaped, as `ls` and git do; JSON keeps names exact (json escapes them itself).
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL[0x1B] = "\\e"
_KEEP_LINES = {k: v for k, v in _CONTROL.items() if k not in (0x09, 0x0A)}
_CONTROL[0x0A] = "\\n"
_CONTROL[0x0D] = "\\r"
_CONTROL[0x09] = "\\t"


def printable(text: str) -> str:
    """One line of `text` for a terminal: every control character escaped, newlines too."""
    return text.translate(_CONTROL)


def terminal_safe(text: str, keep_cr: bool = False) -> str:
    """Output for a terminal: control characters escaped, but line breaks and tabs kept (and
    carriage returns, for a progress line that redraws itself)."""
    if keep_cr:
        table = {k: v for k, v in _KEEP_LINES.items() if k != 0x0D}
        return text.translate(table)
    return text.translate(_KEEP_LINES)
