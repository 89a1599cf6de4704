"""All findings, with their fixes."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from uv_cache_inspector.core.model import Finding
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.wording import window_fix


class FindingsDialog(QDialog):
    def __init__(
        self, findings: Sequence[Finding], root: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("All findings")
        self.resize(780, 560)
        lay = QVBoxLayout(self)
        view = QTextBrowser(self)
        view.setAccessibleName("All findings")
        e = html.escape
        parts = []
        for f in findings:
            color = severity_color(f.severity.value).name()
            where = ""
            if f.path:
                rel = os.path.relpath(f.path, root) if f.path.startswith(root) else f.path
                where = f" <span style='color:gray'>({e(rel)})</span>"
            parts.append(
                f"<p><b style='color:{color}'>{f.severity.value.upper()} {e(f.code)}"
                f"</b>{where}<br>{e(f.message)}"
            )
            fix = window_fix(f)
            if fix:
                parts.append(f"<br><i>Fix:</i> {e(fix)}")
            parts.append("</p>")
        view.setHtml("".join(parts) or "<p>No findings: uv can use this cache.</p>")
        lay.addWidget(view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
