"""A plan, shown before it is applied, then applied with progress and a result summary.

Used by the Repair and Prune dialogs and by Delete on an entry. Applying runs core.apply in the
task runner; when uv holds the cache lock nothing happens and the holders are named, with a
"Try again" button and a "Go on while uv runs" button (the dialog plans again, leaving alone
what running uv processes use: core.inuse). When the only holder is the `uv run` that started
the app, the plan is made that way from the start, and the notes say so. Actions that need
administrator rights go through core.elevate (pkexec on a Linux desktop); when that is not
possible the exact command is shown to copy.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core.actions.model import Action, Plan
from uv_cache_inspector.core.errors import CacheInUseError, CancelledError
from uv_cache_inspector.core.model import Progress
from uv_cache_inspector.gui.models.lists import Column, ObjectTable
from uv_cache_inspector.gui.models.roles import Role
from uv_cache_inspector.gui.tasks import TaskRunner


def _columns(root: str) -> list[Column[Action]]:
    return [
        Column("Action", lambda a: a.kind),
        Column("Path", lambda a: os.path.relpath(a.path, root)),
        Column(
            "Frees (on disk)",
            lambda a: fmt.size(a.bytes) if a.kind == "delete" else "",
            sort=lambda a: a.bytes,
            right=True,
        ),
        Column("Why", lambda a: a.reason),
        Column(
            "Needs",
            lambda a: "administrator" if a.needs_privilege else "",
            sort=lambda a: a.needs_privilege,
        ),
    ]


class PlanPanel(QWidget):
    applied = Signal(object)  # the ApplyResult (or a list of results), after a run
    want_while_in_use = Signal()  # the user chose to go on while uv runs: plan again, guarded

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.plan: Plan | None = None
        self.owner_name = ""
        self.guard: Any = None  # core.inuse.Guard when acting while uv runs
        self.notice: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        f = self.summary.font()
        f.setBold(True)
        self.summary.setFont(f)
        lay.addWidget(self.summary)
        self.model: ObjectTable[Action] = ObjectTable([], parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Role.SORT)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAccessibleName("Planned actions")
        self.table.horizontalHeader().setResizeContentsPrecision(64)
        # Long paths lose their middle, not the name at their end; the whole is in the tooltip.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        lay.addWidget(self.table, 1)
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.notes)
        self.paste = QPlainTextEdit(self)
        self.paste.setReadOnly(True)
        self.paste.setMaximumHeight(60)
        self.paste.hide()
        lay.addWidget(self.paste)
        self.progress = QProgressBar(self)
        self.progress.hide()
        lay.addWidget(self.progress)
        row = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.retry = QPushButton("Try again", self)
        self.retry.hide()
        self.retry.clicked.connect(self.apply)
        row.addWidget(self.retry)
        self.go_on = QPushButton("Go on while uv runs", self)
        self.go_on.setToolTip(
            "Free only what no running uv process uses (checked again just before each "
            "deletion); what is in use is listed and left alone."
        )
        self.go_on.hide()
        self.go_on.clicked.connect(self.want_while_in_use)
        row.addWidget(self.go_on)
        self.copy = QPushButton("Copy command", self)
        self.copy.hide()
        self.copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.paste.toPlainText())
        )
        row.addWidget(self.copy)
        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.apply_button.setEnabled(False)
        row.addWidget(self.apply_button)
        lay.addLayout(row)
        runner.progress.connect(self._on_progress)
        runner.result.connect(self._on_result)
        runner.error.connect(self._on_error)
        self._results: list[Any] = []
        self._privileged: list[Action] = []

    def set_plan(
        self, plan: Plan, owner_name: str = "", guard: Any = None, notice: str | None = None
    ) -> None:
        self.plan = plan
        self.owner_name = owner_name
        self.guard = guard
        self.notice = notice
        self.go_on.hide()
        self.model.columns = _columns(plan.root)
        self.model.set_items(plan.ordered())
        self.table.resizeColumnsToContents()
        # "Why" takes the room that is left, and the path never more than two fifths of the
        # table: a long path used to leave "Why" two characters wide.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        width = max(self.table.viewport().width(), self.window().width() - 40, 600)
        header.resizeSection(1, min(header.sectionSize(1), width * 2 // 5))
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        self.summary.setText(plan.summary())
        notes = [notice] if notice else []
        notes += [f"Warning: {w}" for w in plan.warnings] + [f"Kept: {k}" for k in plan.kept]
        admin = [a for a in plan.actions if a.needs_privilege]
        euid = os.geteuid() if hasattr(os, "geteuid") else 0
        if admin and euid != 0:
            from uv_cache_inspector.core.actions import elevate

            n = fmt.plural(len(admin), "action")
            if elevate.choose(interactive=False) == "none":
                notes.append(
                    f"{n} {'needs' if len(admin) == 1 else 'need'} administrator rights, and "
                    f"no password prompt can open: {elevate.why_no_prompt()}. Apply does the "
                    "rest, then shows the command that does exactly these."
                )
            else:
                notes.append(
                    f"{n} {'needs' if len(admin) == 1 else 'need'} administrator rights; "
                    "you will be asked for them."
                )
        self.notes.setText("\n".join(notes))
        self.apply_button.setEnabled(bool(plan.actions))
        self.apply_button.setText("Apply with administrator rights…" if admin else "Apply")
        self.status.setText("")
        self.retry.hide()

    # -- applying -----------------------------------------------------------------------------

    def apply(self) -> None:
        if self.plan is None:
            return
        from uv_cache_inspector.core import operations as ops
        from uv_cache_inspector.core.actions.apply import apply

        plan = self.plan
        mine, self._privileged = ops.split_privileged(plan)
        guard = self.guard
        self.apply_button.setEnabled(False)
        self.retry.hide()
        self.go_on.hide()
        self.progress.show()
        self.progress.setRange(0, max(1, len(mine)))
        self.status.setText("Working…")
        self.runner.run(
            "apply",
            lambda token: apply(
                plan, cancel=token, only=mine, while_in_use=guard is not None, guard=guard
            ),
        )

    def _on_progress(self, name: str, p: Progress) -> None:
        if name == "apply":
            self.progress.setValue(p.done)
            self.status.setText(f"{fmt.size(p.bytes)} freed so far…")

    def _on_result(self, name: str, result: Any) -> None:
        if name == "apply":
            self._results = list(result.results)
            if self._privileged and self._start_elevation():
                return
            self._finish(self._results)
        elif name == "elevate":
            self._finish(self._results + self._elevated(result.stdout))

    def _finish(self, results: list[Any]) -> None:
        self.progress.hide()
        done = [r for r in results if r.done]
        failed = [r for r in results if not r.done]
        freed = sum(r.freed for r in done)
        text = f"Done: {fmt.plural(len(done), 'action')}, {fmt.size(freed)} freed on disk."
        if failed:
            text += f" {len(failed)} not done: " + "; ".join(
                f"{os.path.basename(r.action.path)} ({r.error})" for r in failed[:3]
            )
        self.status.setText(text)
        self.applied.emit(results)

    def _start_elevation(self) -> bool:
        """Ask for administrator rights in the task runner (pkexec waits for the password);
        False when no elevation is possible here (the command to paste is shown instead)."""
        from uv_cache_inspector.core.actions import elevate
        from uv_cache_inspector.core.actions.apply import ActionResult

        assert self.plan is not None
        uid = self.plan.for_uid if self.plan.for_uid is not None else os.getuid()
        method = elevate.choose(interactive=False)
        sub = Plan(
            self.plan.root, self.plan.kind, self._privileged, for_uid=uid, policy=self.plan.policy
        )
        if method == "none":
            # The command applies the saved plan of exactly the actions shown as needing
            # administrator rights: not a fresh operation, which could do more than was shown.
            n = fmt.plural(len(self._privileged), "action")
            self.notes.setText(
                f"No password prompt: {elevate.why_no_prompt()}. In a terminal, this command "
                f"does the {n} marked “administrator” above, and nothing else:"
            )
            self.paste.setPlainText(elevate.paste_for(sub, self.owner_name or str(uid)))
            self.paste.show()
            self.copy.show()
            self._results += [
                ActionResult(a, error="needs administrator rights: run the command below")
                for a in self._privileged
            ]
            return False
        self.status.setText("Waiting for administrator rights…")

        def run(_token: object) -> Generator[Progress, None, Any]:
            yield Progress("elevating", message=method)
            return elevate.run(sub, method, uid)

        self.runner.run("elevate", run)
        return True

    def _elevated(self, stdout: str) -> list[Any]:
        """Results of the privileged actions, from the helper's JSON output ("" if it failed)."""
        from uv_cache_inspector.core import operations as ops

        return ops.elevated_results(
            self._privileged, stdout, "the administrator step was cancelled or failed"
        )

    def _on_error(self, name: str, exc: object, tb: str) -> None:
        if name == "elevate":
            self._finish(self._results + self._elevated(""))
            return
        if name != "apply":
            return
        self.progress.hide()
        if isinstance(exc, CacheInUseError):
            who = ", ".join(exc.holders) or "another uv process"
            self.status.setText(
                f"uv is using this cache right now ({who}). Nothing was changed. Try again "
                "when it is done, or go on while it runs: what running uv processes use is "
                "left alone."
            )
            self.retry.show()
            self.go_on.show()
            self.apply_button.setEnabled(True)
        elif isinstance(exc, CancelledError):
            self.status.setText("Cancelled. What was done so far is in the journal.")
        else:
            self.status.setText(f"Could not apply the plan: {exc}")
            self.apply_button.setEnabled(True)
