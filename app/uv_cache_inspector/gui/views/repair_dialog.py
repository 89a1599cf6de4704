"""Repair…: the fixes for the findings, as a plan; what needs administrator rights is marked."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from uv_cache_inspector.core import findings as F
from uv_cache_inspector.core.diagnosis.engine import Diagnosis
from uv_cache_inspector.core.model import Finding, Progress, Severity
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.views.plan_view import PlanPanel


def intro_text(chosen: Sequence[Finding], user: str) -> str:
    """What these fixes are for: uv's access back, or only tidying what uv left behind."""
    after = " Nothing happens until you press Apply; uv must not be running."
    if chosen and all(f.code == F.ORPHANED_TMP for f in chosen):
        one = len(chosen) == 1
        them = "it" if one else "them"
        return (
            f"{'This temporary folder was' if one else 'These temporary folders were'} "
            f"left by {'an interrupted uv run' if one else 'interrupted uv runs'}: nothing "
            f"uses {them} and uv does not need {them}. uv can already use the cache; removing "
            f"{them} frees the space." + after
        )
    if chosen and all(f.severity is not Severity.ERROR for f in chosen):
        return (
            f"These fixes remove what uv, running as {user}, could stumble on later; uv can "
            "use the cache now." + after
        )
    return f"These fixes let uv, running as {user}, use the cache again." + after


class RepairDialog(QDialog):
    def __init__(
        self,
        diagnosis: Diagnosis,
        findings: Sequence[Finding] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Repair the cache")
        self.resize(860, 480)
        self.runner = TaskRunner(self)
        lay = QVBoxLayout(self)
        user = diagnosis.user
        chosen = [f for f in (findings or diagnosis.findings) if f.code in F.REPAIRABLE]
        intro = QLabel(intro_text(chosen, user.describe()), self)
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.panel = PlanPanel(self.runner, self)
        lay.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.runner.result.connect(self._on_plan)
        self.panel.summary.setText("Working out the plan…")
        self._diagnosis = diagnosis
        self._chosen = chosen
        self._while_in_use = False
        self.panel.want_while_in_use.connect(self._go_on_while_in_use)
        self._user_name = user.name
        self._plan()

    def _plan(self) -> None:
        from uv_cache_inspector.core import operations as ops

        diagnosis, chosen, while_in_use = self._diagnosis, self._chosen, self._while_in_use

        def make(_token: object) -> Generator[Progress, None, Any]:
            yield Progress("planning")
            situation = ops.lock_situation(diagnosis.real_root)
            plan, guard = ops.repair(diagnosis, chosen, situation, while_in_use)
            return plan, guard, (situation.notice() if guard is not None else None)

        self.runner.run("plan", make)

    def _go_on_while_in_use(self) -> None:
        self._while_in_use = True
        self._plan()

    def _on_plan(self, name: str, planned: Any) -> None:
        if name == "plan":
            plan, guard, notice = planned
            self.panel.set_plan(plan, self._user_name, guard=guard, notice=notice)
