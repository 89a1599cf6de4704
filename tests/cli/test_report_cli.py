"""`uvci report`: Markdown with what maintainers ask for first; home shown as ~."""

from __future__ import annotations

import os

from tests.cli.helpers import uvci
from tests.harness.uvcache import copy_cache


def test_report_sections_and_home_as_tilde(template_cache, tmp_path):
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    cache = copy_cache(template_cache, home / ".cache" / "uv")
    os.chown(cache / "archive-v0", 0, 0)
    proc = uvci("report", env={"HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    md = proc.stdout
    for heading in (
        "## uv cache report",
        "### Platform",
        "### uv",
        "### Cache",
        "### Filesystems",
        "### Cache root",
        "### Findings",
    ):
        assert heading in md
    assert "`~/.cache/uv`" in md
    assert str(home) not in md
    assert "| `archive-v0` | dir |" in md and "drwxr-xr-x" in md
    assert "ext4" in md or "tmpfs" in md or "overlay" in md
    assert "uv 0.13" in md
