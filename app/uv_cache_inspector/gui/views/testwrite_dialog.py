"""Test write…: uv's persist routine replayed, as a timeline; the failing step explained."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core.model import TraceStep
from uv_cache_inspector.gui.models.lists import Column, ObjectTable
from uv_cache_inspector.gui.style import severity_color
from uv_cache_inspector.gui.tasks import TaskRunner


def _status(s: TraceStep) -> str:
    return "skipped" if s.skipped else ("ok" if s.ok else "FAILED")


def _bar(s: TraceStep) -> str:
    n = min(30, max(1, int(s.duration_ms / 2)))
    return "▇" * n + f" {s.duration_ms:.1f} ms"


COLUMNS: list[Column[TraceStep]] = [
    Column("Step", lambda s: s.step),
    Column("Result", _status),
    Column("Time", _bar, sort=lambda s: s.duration_ms),
    Column(
        "What happened",
        lambda s: (s.error or s.note or "").splitlines()[0] if (s.error or s.note) else "",
    ),
]


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
    def __init__(self, root: str, uv: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Test write")
        self.resize(860, 460)
        self.root, self.uv = root, uv
        self.runner = TaskRunner(self)
        self.steps: list[TraceStep] = []
        lay = QVBoxLayout(self)
        from uv_cache_inspector.core import probe

        self.other = probe.runs_as_someone_else(root)
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
            COLUMNS,
            severity=lambda s: "muted" if s.skipped else ("ok" if s.ok else "error"),
            parent=self,
        )
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Steps of the test write")
        self.table.setToolTip("Press Run: each step appears here as it happens.")
        lay.addWidget(self.table, 1)
        self.why = QLabel(self)
        self.why.setWordWrap(True)
        lay.addWidget(self.why)
        bottom = QHBoxLayout()
        self.outcome = QLabel(self)
        bottom.addWidget(self.outcome, 1)
        copy = QPushButton("Copy as text", self)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(trace_text(self.steps)))
        bottom.addWidget(copy)
        lay.addLayout(bottom)
        self.runner.item.connect(self._on_step)
        self.runner.result.connect(self._on_done)
        self.runner.error.connect(self._on_error)

    def run(self) -> None:
        from uv_cache_inspector.core import probe

        self.steps = []
        self.model.set_items([])
        self.why.setText("")
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
                        probe.as_user(
                            root, other, bucket=bucket, keep=keep, uv=uv if real else None
                        )
                    )
                )
            ok = yield from _count(probe.replay(root, bucket=bucket, keep=keep))
            if real and uv:
                import sys

                ok = (
                    yield from _count(probe.with_uv(root, uv, keep=keep, python=sys.executable))
                ) and ok
            return ok

        self.runner.run("probe", both)

    def _on_step(self, name: str, step: Any) -> None:
        if name != "probe":
            return
        self.steps.append(step)
        self.model.append(step)
        if not step.ok and step.explanation:
            color = severity_color("error").name()
            self.why.setText(
                f"<span style='color:{color}'><b>{step.step} failed:</b> "
                f"{step.error}</span><br><b>Why:</b> {step.explanation}"
            )

    def _on_error(self, name: str, exc: object, _tb: str) -> None:
        if name == "probe":
            self.run_button.setEnabled(True)
            self.outcome.setText(f"Could not run: {exc}")

    def _on_done(self, name: str, ok: Any) -> None:
        if name == "probe":
            self.run_button.setEnabled(True)
            failed = next((s for s in self.steps if not s.ok), None)
            self.outcome.setText(
                "Every step passed: uv can write to this cache."
                if ok
                else f"The write fails at {failed.step if failed else '?'}."
            )


def _count(gen: Generator[TraceStep, None, Any]) -> Generator[TraceStep, None, bool]:
    result = yield from gen
    return bool(result.ok)
