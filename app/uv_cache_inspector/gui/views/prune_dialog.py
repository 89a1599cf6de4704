"""Prune…: what uv's prune would remove, by category with sizes, plus age and size budgets."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from uv_cache_inspector.core import fmt
from uv_cache_inspector.core import operations as ops
from uv_cache_inspector.core.actions.model import Plan
from uv_cache_inspector.core.cache.layout import BucketSet
from uv_cache_inspector.core.model import Progress, Snapshot
from uv_cache_inspector.gui.tasks import TaskRunner
from uv_cache_inspector.gui.views.plan_view import PlanPanel

CATEGORY_NAMES = {
    "orphaned-tmp": "Temporary folders left by interrupted runs",
    "unreferenced": "Unpacked archives nothing links to",
    "stale-bucket": "Buckets of older uv versions",
    "environment": "Cached environments (recreated on demand)",
    "build": "Temporary build environments",
    "sdist-revision": "Old source-distribution builds",
    "other": "Other files at the cache root",
    "ci": "Unzipped wheels (CI mode)",
    "age": "Entries not used recently",
    "size": "Least recently used, over the budget",
    "package": "Entries of the chosen packages",
}


SIZES_NOTE = (
    "Sizes are space on disk: allocated blocks, each hard-linked file once, folders included "
    "(what `uv cache size` and `du` count). `uv cache prune` prints the files' lengths "
    "instead (“Removed N files (X)”: every hard link again, no folders, no block "
    "rounding), so for the same removal its figure is usually smaller."
)


class PruneDialog(QDialog):
    def __init__(
        self, snapshot: Snapshot, bucket_set: BucketSet, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prune the cache")
        self.resize(900, 600)
        self.snapshot = snapshot
        self.bucket_set = bucket_set
        self.runner = TaskRunner(self)
        self.full: Plan | None = None
        self.guard: Any = None
        self.notice: str | None = None
        self.while_in_use = False
        lay = QVBoxLayout(self)
        intro = QLabel(
            "By default this removes exactly what `uv cache prune` would. Untick a "
            "category to keep it; the options below go further.",
            self,
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        counting = QLabel(SIZES_NOTE, self)
        counting.setWordWrap(True)
        counting.setStyleSheet("color: gray")
        lay.addWidget(counting)
        self.categories = QGroupBox("What to remove", self)
        self.cat_layout = QVBoxLayout(self.categories)
        lay.addWidget(self.categories)
        opts = QGroupBox("More", self)
        form = QFormLayout(opts)
        self.ci = QCheckBox("CI mode (like `uv cache prune --ci`: keep only downloaded wheels)")
        form.addRow(self.ci)
        age_row = QHBoxLayout()
        self.use_age = QCheckBox("Also remove entries not used for")
        self.age = QDoubleSpinBox()
        self.age.setRange(1, 3650)
        self.age.setDecimals(0)
        self.age.setValue(90)
        self.age.setSuffix(" days")
        age_row.addWidget(self.use_age)
        age_row.addWidget(self.age)
        age_row.addStretch(1)
        form.addRow(age_row)
        size_row = QHBoxLayout()
        self.use_size = QCheckBox("Keep the cache under")
        self.budget = QLineEdit("10G")
        self.budget.setMaximumWidth(100)
        self.budget.setAccessibleName("Size budget")
        size_row.addWidget(self.use_size)
        size_row.addWidget(self.budget)
        size_row.addStretch(1)
        form.addRow(size_row)
        self.packages = QLineEdit()
        self.packages.setPlaceholderText("package names, comma separated (like uv cache clean)")
        self.packages.setAccessibleName("Only these packages")
        form.addRow("Only packages:", self.packages)
        self.preview = QPushButton("Preview")
        self.preview.clicked.connect(self.recompute)
        form.addRow(self.preview)
        lay.addWidget(opts)
        self.panel = PlanPanel(self.runner, self)
        self.panel.want_while_in_use.connect(self._go_on_while_in_use)
        lay.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.boxes: dict[str, QCheckBox] = {}
        self.runner.result.connect(self._on_plan)
        self.runner.error.connect(self._on_plan_error)
        self.error = QLabel(self)
        lay.addWidget(self.error)
        self.recompute()

    def policy(self) -> ops.PruneOptions:
        packages = tuple(p.strip() for p in self.packages.text().split(",") if p.strip())
        max_size = None
        if self.use_size.isChecked():
            try:
                max_size = fmt.parse_size(self.budget.text())
                self.error.setText("")
            except ValueError:
                self.error.setText("The size budget must look like 500M or 20G.")
        # The same options `uvci prune` takes, resolved by the same code (core.operations):
        # the active venv and uv's link mode are protected here exactly as on the command line.
        return ops.PruneOptions(
            ci=self.ci.isChecked() and not packages,
            packages=packages,
            older_than_days=self.age.value() if self.use_age.isChecked() else None,
            max_size=max_size if not packages else None,
            while_in_use=self.while_in_use,
        )

    def recompute(self) -> None:
        policy = self.policy()
        snap, bs = self.snapshot, self.bucket_set

        def make(_token: object) -> Generator[Progress, None, Any]:
            yield Progress("planning")
            situation = ops.lock_situation(snap.real_root)
            plan, guard = ops.prune(snap, bs, policy, situation)
            return plan, guard, (situation.notice() if guard is not None else None)

        self.panel.summary.setText("Working out the plan…")
        self.runner.run("plan", make)

    def _on_plan_error(self, name: str, exc: object, _tb: str) -> None:
        if name == "plan":
            self.panel.summary.setText("")
            self.error.setText(str(exc))

    def _go_on_while_in_use(self) -> None:
        self.while_in_use = True
        self.recompute()

    def _on_plan(self, name: str, planned: Any) -> None:
        if name != "plan":
            return
        plan, self.guard, self.notice = planned
        self.full = plan
        for box in self.boxes.values():
            box.deleteLater()
        self.boxes = {}
        cats: dict[str, list[Any]] = {}
        for a in plan.actions:
            cats.setdefault(a.category, []).append(a)
        for cat, actions in sorted(cats.items(), key=lambda kv: -sum(a.bytes for a in kv[1])):
            total = sum(a.bytes for a in actions)
            box = QCheckBox(
                f"{CATEGORY_NAMES.get(cat, cat)}: {len(actions)} "
                f"item{'s' if len(actions) != 1 else ''}, {fmt.size(total)}",
                self,
            )
            box.setChecked(True)
            box.toggled.connect(self._filter)
            self.cat_layout.addWidget(box)
            self.boxes[cat] = box
        if not cats:
            box = QCheckBox("Nothing to remove: the cache holds only what uv uses.", self)
            box.setEnabled(False)
            self.cat_layout.addWidget(box)
            self.boxes[""] = box
        self._filter()

    def _filter(self) -> None:
        if self.full is None:
            return
        keep = {c for c, b in self.boxes.items() if b.isChecked()}
        plan = Plan(
            self.full.root,
            "prune",
            [a for a in self.full.actions if a.category in keep],
            warnings=self.full.warnings,
            kept=self.full.kept,
            uv_version=self.full.uv_version,
        )
        self.panel.set_plan(plan, guard=self.guard, notice=self.notice)
