"""Metric snapshots: what the metrics engine computed for a survey, read by every page and export.

Pages never aggregate raw responses; a recompute replaces a survey's snapshot rows in one transaction.
``MetricRun`` is the fill state: when the numbers were computed and whether a recompute is pending.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.ports import PortCode
from owners.stages import Stage


class MetricSnapshot(models.Model):
    """One row of the metric-row contract (DESIGN.md §4): a port or the headline × project or all × stage or all."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="metric_snapshots")
    port = models.CharField(max_length=16, choices=PortCode.choices, blank=True, help_text=_("空 = 核心指标"))
    project = models.ForeignKey("owners.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, help_text=_("空 = 全部阶段"))
    n = models.PositiveIntegerField()
    satisfied = models.PositiveIntegerField()
    satisfaction_rate = models.FloatField(null=True)
    satisfaction_ci_low = models.FloatField(null=True)
    satisfaction_ci_high = models.FloatField(null=True)
    mean_score = models.FloatField(null=True)
    loyalty_base = models.PositiveIntegerField(null=True)
    loyal = models.PositiveIntegerField(null=True)
    loyalty_rate = models.FloatField(null=True)
    loyalty_ci_low = models.FloatField(null=True)
    loyalty_ci_high = models.FloatField(null=True)
    # Weighted to the owner population (DESIGN.md §2 "Weighting"); null when the survey is not weighted.
    weighted_rate = models.FloatField(null=True, help_text=_("加权满意度"))
    weighted_ci_low = models.FloatField(null=True)
    weighted_ci_high = models.FloatField(null=True)
    n_eff = models.FloatField(null=True, help_text=_("有效样本量（Kish）"))
    weighted_loyalty_rate = models.FloatField(null=True, help_text=_("加权忠诚度"))
    weighted_loyalty_ci_low = models.FloatField(null=True)
    weighted_loyalty_ci_high = models.FloatField(null=True)
    loyalty_n_eff = models.FloatField(null=True)
    weighted_missing_cells = models.JSONField(null=True, help_text=_("总体中无人作答的楼盘 × 阶段单元"))
    weighted_outside_cells = models.JSONField(null=True, help_text=_("有作答但总体为 0 的单元（权重为 0）"))
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("指标快照")
        verbose_name_plural = _("指标快照")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "port", "project", "stage"], name="metric_snapshot_unique_slice"
            ),
            models.UniqueConstraint(
                fields=["survey", "port", "stage"],
                condition=models.Q(project__isnull=True),
                name="metric_snapshot_unique_slice_all_projects",
            ),
        ]


class ItemSnapshot(models.Model):
    """Rate and mean of one question (detail items included) in one slice."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="item_snapshots")
    question_code = models.CharField(max_length=64)
    port = models.CharField(max_length=16, choices=PortCode.choices, blank=True)
    project = models.ForeignKey("owners.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    n = models.PositiveIntegerField()
    satisfied = models.PositiveIntegerField()
    satisfaction_rate = models.FloatField(null=True)
    satisfaction_ci_low = models.FloatField(null=True)
    satisfaction_ci_high = models.FloatField(null=True)
    mean_score = models.FloatField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("题目快照")
        verbose_name_plural = _("题目快照")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "question_code", "project", "stage"], name="item_snapshot_unique_slice"
            ),
            models.UniqueConstraint(
                fields=["survey", "question_code", "stage"],
                condition=models.Q(project__isnull=True),
                name="item_snapshot_unique_slice_all_projects",
            ),
        ]


class DriverSnapshot(models.Model):
    """Importance (Pearson r with the outcome) and performance (satisfaction rate) of one detail item."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="driver_snapshots")
    port = models.CharField(max_length=16, choices=PortCode.choices, blank=True, help_text=_("空 = 核心满意度"))
    project = models.ForeignKey("owners.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    question_code = models.CharField(max_length=64)
    pairs = models.PositiveIntegerField(help_text=_("同时回答该题与结果题的答卷数"))
    importance = models.FloatField(null=True)
    performance = models.FloatField(null=True)
    n = models.PositiveIntegerField()
    concentrate_here = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("驱动因素快照")
        verbose_name_plural = _("驱动因素快照")
        constraints = [
            models.UniqueConstraint(fields=["survey", "port", "project", "question_code"], name="driver_snapshot_unique"),
            models.UniqueConstraint(
                fields=["survey", "port", "question_code"],
                condition=models.Q(project__isnull=True),
                name="driver_snapshot_unique_all_projects",
            ),
        ]


class MetricRun(models.Model):
    """A requested recompute of one survey: coalesces requests and tells pages when numbers were computed.

    ``full`` reads every response; ``incremental`` folds the survey's pending ``CellDelta`` rows into its stored
    ``CellCount`` rows and rewrites only the snapshot rows those cells feed. A running run's worker beats
    (``heartbeat_at``) so that the beat can tell a dead run from a long one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("等待计算")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    class Kind(models.TextChoices):
        FULL = "full", _("全量重算")
        INCREMENTAL = "incremental", _("增量更新")

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="metric_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # A database default too: runs requested by plain SQL (tools, the fault drills) are full ones.
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FULL, db_default=Kind.FULL)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    responses = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("指标计算")
        verbose_name_plural = _("指标计算")
        indexes = [models.Index(fields=["survey", "status"])]


class CellCount(models.Model):
    """The additive counts of one survey's responses in one project × stage cell (engine ``CellCounts.cell``).

    Written by every full recompute (the truth) and moved on by each change's ``CellDelta``; every snapshot row
    derives from these counts alone (``metrics_from_counts``), so a change re-derives only the rows its cells feed.
    """

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("owners.Project", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    layout = models.CharField(max_length=16, help_text=_("问卷结构摘要：问卷变化后旧计数不再使用"))
    counts = models.JSONField()

    class Meta:
        verbose_name = _("单元计数")
        verbose_name_plural = _("单元计数")
        constraints = [models.UniqueConstraint(fields=["survey", "project", "stage"], name="cell_count_unique_cell")]


class CellDelta(models.Model):
    """What one committed change to responses adds to one cell's counts (negative for what it took away).

    Written in the same transaction as the change (so it exists exactly when the change does); folded into
    ``CellCount`` and deleted by the next incremental run, or deleted by a full recompute whose read saw it.
    """

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey("owners.Project", on_delete=models.CASCADE, related_name="+", db_index=False)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    layout = models.CharField(max_length=16)
    counts = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("单元计数变化")
        verbose_name_plural = _("单元计数变化")
        indexes = [models.Index(fields=["survey", "id"], name="cell_delta_survey")]


class SurveyCountState(models.Model):
    """The survey's ``CellCount`` rows are the counts of its responses as of the last full recompute plus every
    delta folded since, in this layout. Without it (never fully computed since counts were kept, or the
    questionnaire changed) a change asks for a full recompute instead of a delta."""

    survey = models.OneToOneField("surveys.Survey", on_delete=models.CASCADE, primary_key=True, related_name="+")
    layout = models.CharField(max_length=16)
    # A weighted survey: the owner population ([project code, stage, owners], …) the last full recompute read and
    # weighted to; incremental updates weigh by it too, so every slice uses one roster (no roster read per change).
    # Null when the survey was not weighted then.
    population = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("单元计数状态")
        verbose_name_plural = _("单元计数状态")
