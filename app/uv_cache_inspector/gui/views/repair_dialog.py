"""Repair…: the fixes for the findings, as a plan; what needs administrator rights is marked."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from uv_cache_inspector.core.diagnose import Diagnosis
from uv_cache_inspector.core.model import Finding, Progress
from uv_cache_inspector.core.plan import Plan
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.views.plan_view import PlanPanel

REPAIRABLE = frozenset(
    {
        "foreign-owner",
        "permission-denied",
        "shared-cache-permissions",
        "orphaned-tmp",
        "dangling-link",
        "absolute-links",
        "link-outside-cache",
        "incomplete-archive",
        "corrupt-entry",
    }
)


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
        user = diagnosis.inputs.user
        intro = QLabel(
            f"These fixes let uv, running as {user.describe()}, use the cache again. "
            "Nothing happens until you press Apply; uv must not be running.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.panel = PlanPanel(self.runner, self)
        lay.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        chosen = [f for f in (findings or diagnosis.findings) if f.code in REPAIRABLE]
        self.runner.result.connect(self._on_plan)
        self.panel.summary.setText("Working out the plan…")

        def make(_token: object) -> Generator[Progress, None, Plan]:
            from uv_cache_inspector.core.access import is_shared
            from uv_cache_inspector.core.plan import repair_plan

            yield Progress("planning")
            root_owner = diagnosis.inputs.quick.root_node.owner
            return repair_plan(
                diagnosis.snapshot,
                chosen,
                user.uid,
                user.gid,
                diagnosis.inputs.quick.real_root,
                shared_gid=root_owner.gid if is_shared(root_owner) else None,
            )

        self._user_name = user.name
        self.runner.run("plan", make)

    def _on_plan(self, name: str, plan: Any) -> None:
        if name == "plan":
            self.panel.set_plan(plan, self._user_name)
