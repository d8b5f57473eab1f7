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
    """A requested recompute of one survey: coalesces requests and tells pages when numbers were computed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("等待计算")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="metric_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    responses = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("指标计算")
        verbose_name_plural = _("指标计算")
        indexes = [models.Index(fields=["survey", "status"])]
