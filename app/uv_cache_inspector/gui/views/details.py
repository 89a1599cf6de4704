"""The details pane: everything about the selected row, in words."""

from __future__ import annotations

import html
import os
import time

from PySide6.QtWidgets import QTextBrowser, QWidget

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.cache.inventory import Inventory, Row
from uv_cache_inspector.core.platform.access import group_name, user_name
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.wording import window_fix


class Details(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(False)
        self.setAccessibleName("Details of the selected entry")
        self.key = ""  # the path of the entry shown ("" for none)
        self.show_hint()

    def show_hint(self) -> None:
        self.key = ""
        self.setHtml(
            "<p style='color:gray'>Select an entry to see where it is, who owns it, "
            "what points at it and what is wrong with it.</p>"
        )

    def show_gone(self, key: str) -> None:
        """The entry shown is no longer in the cache (deleted, pruned, or removed by uv)."""
        self.key = ""
        self.setHtml(
            f"<p style='color:gray'>{html.escape(key)} is no longer in the cache. Select an "
            "entry to see its details.</p>"
        )

    def show_row(self, row: Row, inv: Inventory | None) -> None:
        self.key = row.key
        e = html.escape
        what = {
            "archive": "unpacked archive",
            "entry": f"link in {row.bucket}",
            "tmp": "temporary folder",
        }[row.kind]
        state_color = severity_color(row.severity).name()
        parts = [
            f"<h3>{e(row.package)} <span style='font-weight:normal'>{e(row.version)}</span></h3>",
            f"<p><b>Path:</b> {e(row.key)}</p>",
            (
                f"<p><b>What:</b> {e(what)} — <span style='color:{state_color}'>"
                f"{e(row.state)}</span></p>"
            ),
        ]
        if row.bytes:
            shared = (
                (
                    f" ({fmt.size(row.shared_bytes)} still hard-linked from venvs: deleting "
                    "frees only the rest)"
                )
                if row.shared_bytes
                else ""
            )
            parts.append(
                f"<p><b>Size:</b> {fmt.size(row.bytes)} in {row.files:,} files{e(shared)}</p>"
            )
        o = row.owner_detail
        if o is not None:
            parts.append(
                f"<p><b>Owner:</b> {e(user_name(o.uid))} (uid {o.uid}), group "
                f"{e(group_name(o.gid))}, mode {o.mode_text()}</p>"
            )
        if row.last_used:
            parts.append(
                f"<p><b>Last used:</b> {fmt.since(row.last_used)} "
                f"({time.strftime('%Y-%m-%d %H:%M', time.localtime(row.last_used))})</p>"
            )
        if row.referrers:
            items = "".join(
                f"<li>{e(os.path.relpath(r, inv.root) if inv else r)}</li>"
                for r in row.referrers[:20]
            )
            parts.append(f"<p><b>Linked from:</b></p><ul>{items}</ul>")
        elif row.kind == "archive":
            parts.append(
                "<p><b>Linked from:</b> nothing current — Prune… removes it, as "
                "`uv cache prune` does.</p>"
            )
        if row.problems:
            parts.append("<p><b>Problems:</b> " + e("; ".join(row.problems)) + "</p>")
        if inv is not None:
            for f in inv.findings_for(row.key):
                color = severity_color(f.severity.value).name()
                parts.append(f"<p style='color:{color}'><b>{e(f.code)}:</b> {e(f.message)}</p>")
                fix = window_fix(f)
                if fix:
                    parts.append(f"<p><i>Fix:</i> {e(fix)}</p>")
        self.setHtml("".join(parts))
