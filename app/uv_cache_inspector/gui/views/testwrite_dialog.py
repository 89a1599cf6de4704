"""Test write…: uv's persist routine replayed, as a timeline; the failing step explained."""

from __future__ import annotations

import errno
import html
import os
from collections.abc import Generator, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core.model import Finding, TraceStep
from uv_cache_inspector.gui.models.lists import Column, ObjectTable
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.tasks import TaskRunner

BAR_CELLS = 12  # the longest step's bar; the others in proportion


def _status(s: TraceStep) -> str:
    return "skipped" if s.skipped else ("ok" if s.ok else "FAILED")


def _bar(s: TraceStep, longest: float) -> str:
    """'▇▇▇▇      3.2 ms': a bar in proportion to the longest step, then the time."""
    n = max(1, round(BAR_CELLS * s.duration_ms / longest)) if longest > 0 else 1
    return "▇" * n + " " * (BAR_CELLS - n) + f" {s.duration_ms:7.1f} ms"


def _what(s: TraceStep) -> str:
    text = (s.error or s.note or "").strip()
    return text.splitlines()[0] if text else ""


def related_fixes(step: TraceStep, findings: Sequence[Finding]) -> list[Finding]:
    """The findings whose fix is the window's Repair and that explain a refused step: the
    ones about the step's paths or the folders above them, else every such finding (the step
    was refused, and these are what the window knows to be refused)."""
    if step.ok or step.errno not in {errno.EACCES, errno.EPERM}:
        return []
    paths = [p for p in (step.path, step.target) if p]

    def about(f: Finding) -> bool:
        top = f.path
        return top is not None and any(
            p == top or p.startswith(top.rstrip(os.sep) + os.sep) for p in paths
        )

    near = [f for f in findings if about(f)]
    return near or list(findings)


def trace_text(steps: list[TraceStep]) -> str:
    lines = []
    for s in steps:
        lines.append(
            f"{_status(s):<8} {s.step:<8} {s.duration_ms:8.1f} ms  "
            f"{(s.error or s.note or '').strip()}"
        )
        if s.explanation and not s.ok:
            lines.append(f"         why: {s.explanation}")
        lines += [f"         attempt {a}" for a in s.attempts]
    return "\n".join(lines)


class TestWriteDialog(QDialog):
    fix = Signal(str, object)  # ("repair", the findings whose fix lets the step pass)

    def __init__(
        self,
        root: str,
        uv: str | None,
        parent: QWidget | None = None,
        fixes: Sequence[Finding] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Test write")
        self.resize(900, 520)
        self.root, self.uv = root, uv
        self.fixes = list(fixes)  # the window's repairable refusals, for "Fix it"
        self._fixing: list[Finding] = []
        self.runner = TaskRunner(self)
        self.steps: list[TraceStep] = []
        lay = QVBoxLayout(self)
        from uv_cache_inspector.core.testwrite.runas import runs_as_someone_else

        self.other = runs_as_someone_else(root)
        as_whom = (
            f" It runs as {self.other.describe()}, the user uv runs as (as root every step "
            "would pass)."
            if self.other is not None
            else ""
        )
        intro = QLabel(
            "Replays what uv does for every new package — lock, temporary folder, "
            "write, rename into archive-v0, link — and removes every trace. The step "
            "that fails is the one uv fails at." + as_whom,
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.bucket = QComboBox(self)
        self.bucket.addItems(["root", "sdists", "builds"])
        self.bucket.setAccessibleName("Where to make the temporary folder")
        row.addWidget(QLabel("Temporary folder in:", self))
        row.addWidget(self.bucket)
        self.with_uv = QCheckBox("Also run the real uv", self)
        self.with_uv.setEnabled(uv is not None)
        row.addWidget(self.with_uv)
        self.keep = QCheckBox("Keep what it writes", self)
        row.addWidget(self.keep)
        row.addStretch(1)
        self.run_button = QPushButton("Run", self)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        row.addWidget(self.run_button)
        lay.addLayout(row)
        self.model: ObjectTable[TraceStep] = ObjectTable(
            [
                Column("Step", lambda s: s.step),
                Column("Result", _status),
                Column("Time", lambda s: _bar(s, self._longest), sort=lambda s: s.duration_ms),
                Column("What happened", _what, tip=lambda s: (s.error or s.note or "").strip()),
            ],
            severity=lambda s: "muted" if s.skipped else ("ok" if s.ok else "error"),
            parent=self,
        )
        self._longest = 0.0
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        for col in (0, 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # The bars and times in a fixed-width font, so that they line up and are never cut.
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.model.fonts = {2: fixed}
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(
            2, QFontMetrics(fixed).horizontalAdvance("▇" * BAR_CELLS + " 99999.9 ms") + 16
        )
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Steps of the test write")
        self.table.setToolTip("Press Run: each step appears here as it happens.")
        lay.addWidget(self.table, 1)
        # The failing step in full: uv's own message can be many lines long.
        self.why = QTextBrowser(self)
        self.why.setAccessibleName("Why the step failed")
        self.why.setMaximumHeight(150)
        self.why.hide()
        lay.addWidget(self.why)
        bottom = QHBoxLayout()
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        bottom.addWidget(self.outcome, 1)
        lay.addLayout(bottom)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        copy = QPushButton("Copy as text", self)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(trace_text(self.steps)))
        self.buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        self.fix_button = QPushButton("Fix it: Repair…", self)
        self.fix_button.clicked.connect(self._fix)
        self.buttons.addButton(self.fix_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.fix_button.hide()  # after addButton, which shows it
        lay.addWidget(self.buttons)
        self.runner.item.connect(self._on_step)
        self.runner.result.connect(self._on_done)
        self.runner.error.connect(self._on_error)

    def run(self) -> None:
        from uv_cache_inspector.core.testwrite.replay import replay
        from uv_cache_inspector.core.testwrite.runas import as_user
        from uv_cache_inspector.core.testwrite.with_uv import with_uv

        self.steps = []
        self._longest = 0.0
        self.model.set_items([])
        self.why.clear()
        self.why.hide()
        self.fix_button.hide()
        self.outcome.setText("Running…")
        self.run_button.setEnabled(False)
        root, uv, bucket, keep, real = (
            self.root,
            self.uv,
            self.bucket.currentText(),
            self.keep.isChecked(),
            self.with_uv.isChecked(),
        )

        other = self.other

        def both(_token: object) -> Generator[TraceStep, None, bool]:
            if other is not None:
                return (
                    yield from _count(
                        as_user(root, other, bucket=bucket, keep=keep, uv=uv if real else None)
                    )
                )
            ok = yield from _count(replay(root, bucket=bucket, keep=keep))
            if real and uv:
                import sys

                ok = (yield from _count(with_uv(root, uv, keep=keep, python=sys.executable))) and ok
            return ok

        self.runner.run("probe", both)

    def _on_step(self, name: str, step: Any) -> None:
        if name != "probe":
            return
        self.steps.append(step)
        if step.duration_ms > self._longest:
            self._longest = step.duration_ms
            self.model.set_items(self.steps)  # every bar is drawn against the new longest
        else:
            self.model.append(step)
        if not step.ok and (step.explanation or step.error):
            e = html.escape
            color = severity_color("error").name()
            said = e((step.error or "").strip())
            text = (
                f"<p style='color:{color}'><b>{e(step.step)} failed:</b></p>"
                f"<pre style='color:{color}; white-space:pre-wrap'>{said}</pre>"
            )
            if step.explanation:
                text += f"<p><b>Why:</b> {e(step.explanation)}</p>"
            self.why.setHtml(text)
            self.why.show()
            self._fixing = related_fixes(step, self.fixes)

    def _on_error(self, name: str, exc: object, _tb: str) -> None:
        if name == "probe":
            self.run_button.setEnabled(True)
            self.outcome.setText(f"Could not run: {exc}")

    def _on_done(self, name: str, ok: Any) -> None:
        if name == "probe":
            self.run_button.setEnabled(True)
            failed = next((s for s in self.steps if not s.ok), None)
            fix = (
                " The window's Repair gives uv what it needs here."
                if self._fixing and not ok
                else ""
            )
            self.outcome.setText(
                "Every step passed: uv can write to this cache."
                if ok
                else f"The write fails at {failed.step if failed else '?'}.{fix}"
            )
            self.fix_button.setVisible(bool(self._fixing) and not ok)
            self.fix_button.setDefault(self.fix_button.isVisible())

    def _fix(self) -> None:
        chosen = list(self._fixing)
        self.accept()
        self.fix.emit("repair", chosen)


def _count(gen: Generator[TraceStep, None, Any]) -> Generator[TraceStep, None, bool]:
    result = yield from gen
    return bool(result.ok)
