"""Yearly satisfaction improvement plans (procedure §5.2–5.4): targets, action items, pilots and the approval trail.

One company plan (``port`` empty) and one plan per port each year. State changes go through
``improvement_plans.services`` only; every change leaves a history row and every transition a ``PlanTransition``.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import text_limits
from departments.ports import PortCode, port_label


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审批")
    APPROVED = "approved", _("已批准")
    IN_PROGRESS = "in_progress", _("执行中")
    COMPLETED = "completed", _("已完成")


class PlanAction(models.TextChoices):
    CREATE = "create", _("起草")
    SUBMIT = "submit", _("提交审批")
    APPROVE = "approve", _("批准")
    RETURN = "return", _("退回修改")
    START = "start", _("开始执行")
    COMPLETE = "complete", _("完成")


def _rate_between_0_and_1(field: str) -> models.Q:
    return models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gte": 0, f"{field}__lte": 1})


def plan_scope_label(port: str) -> str:
    """What a plan covers: its port's name, or 公司总体 for the company plan (port "")."""
    return port_label(port) if port else str(_("公司总体"))


class ImprovementPlan(models.Model):
    year = models.PositiveSmallIntegerField(
        _("年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    port = models.CharField(
        _("端口"), max_length=16, choices=PortCode.choices, blank=True, help_text=_("空 = 公司总体计划")
    )
    status = models.CharField(_("状态"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    satisfaction_target = models.FloatField(_("满意度目标"), null=True, blank=True)
    loyalty_target = models.FloatField(_("忠诚度目标"), null=True, blank=True, help_text=_("仅公司总体计划"))
    directions = models.TextField(_("主要方向"), blank=True, max_length=text_limits.LONG_TEXT)
    feedback_summary = models.TextField(_("一线反馈活动总结与评价"), blank=True, max_length=text_limits.LONG_TEXT)

    # Where the plan started from: the whole-survey snapshot that was latest when the plan was drafted.
    baseline_survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("基线调查")
    )
    baseline_satisfaction_rate = models.FloatField(_("基线满意度"), null=True, blank=True)
    baseline_satisfaction_ci_low = models.FloatField(_("基线满意度置信下限"), null=True, blank=True)
    baseline_satisfaction_ci_high = models.FloatField(_("基线满意度置信上限"), null=True, blank=True)
    baseline_n = models.PositiveIntegerField(_("基线样本量"), null=True, blank=True)
    baseline_loyalty_rate = models.FloatField(_("基线忠诚度"), null=True, blank=True)
    baseline_loyalty_ci_low = models.FloatField(_("基线忠诚度置信下限"), null=True, blank=True)
    baseline_loyalty_ci_high = models.FloatField(_("基线忠诚度置信上限"), null=True, blank=True)
    baseline_loyalty_base = models.PositiveIntegerField(_("基线忠诚度样本量"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("起草人")
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("提交人"),
    )
    # Optimistic concurrency: every write bumps it; an edit made from an older version is refused.
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("提升计划")
        verbose_name_plural = _("提升计划")
        constraints = [
            models.UniqueConstraint(fields=["year", "port"], name="plan_unique_year_port"),
            text_limits.length_check("directions", text_limits.LONG_TEXT, name="plan_directions_length"),
            text_limits.length_check("feedback_summary", text_limits.LONG_TEXT, name="plan_feedback_summary_length"),
            models.CheckConstraint(condition=_rate_between_0_and_1("satisfaction_target"), name="plan_satisfaction_target_rate"),
            models.CheckConstraint(condition=_rate_between_0_and_1("loyalty_target"), name="plan_loyalty_target_rate"),
            models.CheckConstraint(
                condition=models.Q(loyalty_target__isnull=True) | models.Q(port=""), name="plan_loyalty_target_company_only"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.scope_label}"

    @property
    def is_company(self) -> bool:
        return self.port == ""

    @property
    def scope_label(self) -> str:
        return plan_scope_label(self.port)


class ItemKind(models.TextChoices):
    IMPROVEMENT = "improvement", _("改善项目")
    RESEARCH = "research", _("研究课题")
    PILOT = "pilot", _("流程试点")


class MeasureCategory(models.TextChoices):
    PROCESS_STANDARDS = "process_standards", _("梳理服务环节流程和标准")
    FRONTLINE_QUALITY = "frontline_quality", _("一线服务品质")
    DESIGN_CONSTRUCTION = "design_construction", _("设计缺陷与工程质量")
    CUSTOMER_CARE = "customer_care", _("全程客户关怀")


class ItemStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("进行中")
    DONE = "done", _("已完成")
    DROPPED = "dropped", _("已放弃")


class ComparisonKind(models.TextChoices):
    PILOT_VS_REST = "pilot_vs_rest", _("试点组 vs 其他")
    BEFORE_AFTER = "before_after", _("试点前 vs 试点后")


class PilotOutcome(models.TextChoices):
    PENDING = "", _("尚无结论")
    COMPANY_STANDARD = "company_standard", _("形成公司规范")
    DEPARTMENT_GUIDELINE = "department_guideline", _("形成部门指引")
    DROPPED = "dropped", _("放弃")


ADOPTED_OUTCOMES = frozenset({PilotOutcome.COMPANY_STANDARD, PilotOutcome.DEPARTMENT_GUIDELINE})


class ActionItem(models.Model):
    plan = models.ForeignKey(ImprovementPlan, on_delete=models.CASCADE, related_name="items", verbose_name=_("计划"))
    kind = models.CharField(_("类型"), max_length=16, choices=ItemKind.choices, default=ItemKind.IMPROVEMENT)
    title = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("说明"), blank=True, max_length=text_limits.TEXT)
    measure_category = models.CharField(_("措施类别"), max_length=32, choices=MeasureCategory.choices)
    responsible_department = models.ForeignKey(
        "departments.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("责任部门"),
    )
    responsible_person = models.CharField(_("责任人"), max_length=50, blank=True)
    due_on = models.DateField(_("完成期限"), null=True, blank=True)
    working_group = models.ForeignKey(
        "departments.WorkingGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items",
        verbose_name=_("负责的提升小组"),
    )
    # When the overdue reminder last went to the item's owner (one reminder a week at most).
    overdue_reminded_on = models.DateField(_("逾期提醒日期"), null=True, blank=True)
    status = models.CharField(_("进度状态"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.NOT_STARTED)
    promoted_at = models.DateTimeField(_("转为改善项目时间"), null=True, blank=True)

    # Started from a dashboard: the question and its numbers at that moment.
    question_code = models.CharField(_("题目编码"), max_length=64, blank=True)
    source_survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("数据来源调查")
    )
    question_rate = models.FloatField(_("题目满意度"), null=True, blank=True)
    question_n = models.PositiveIntegerField(_("题目样本量"), null=True, blank=True)
    question_importance = models.FloatField(_("重要性（相关系数）"), null=True, blank=True)

    # Process pilots (§5.3).
    pilot_scope = models.TextField(_("试点范围"), blank=True, max_length=text_limits.TEXT)
    old_process = models.TextField(_("原流程"), blank=True, max_length=text_limits.TEXT)
    new_process = models.TextField(_("新流程"), blank=True, max_length=text_limits.TEXT)
    cost_analysis = models.TextField(_("成本分析"), blank=True, max_length=text_limits.TEXT)
    comparison_kind = models.CharField(_("对比方式"), max_length=16, choices=ComparisonKind.choices, blank=True)
    pilot_satisfied = models.PositiveIntegerField(_("试点组满意数"), null=True, blank=True)
    pilot_n = models.PositiveIntegerField(_("试点组样本量"), null=True, blank=True)
    comparison_satisfied = models.PositiveIntegerField(_("对照组满意数"), null=True, blank=True)
    comparison_n = models.PositiveIntegerField(_("对照组样本量"), null=True, blank=True)
    no_promise_to_owners = models.BooleanField(
        _("未确认前不得对业主承诺"), default=True, help_text=_("新流程确认为公司规范或部门指引之前保持勾选。")
    )
    outcome = models.CharField(_("试点结论"), max_length=24, choices=PilotOutcome.choices, blank=True)
    outcome_reference = models.CharField(_("规范/指引编号"), max_length=64, blank=True)

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("行动项")
        verbose_name_plural = _("行动项")
        constraints = [
            text_limits.length_check("description", text_limits.TEXT, name="action_item_description_length"),
            models.CheckConstraint(
                condition=models.Q(pilot_satisfied__isnull=True)
                | models.Q(pilot_n__isnull=True)
                | models.Q(pilot_satisfied__lte=models.F("pilot_n")),
                name="action_item_pilot_satisfied_le_n",
            ),
            models.CheckConstraint(
                condition=models.Q(comparison_satisfied__isnull=True)
                | models.Q(comparison_n__isnull=True)
                | models.Q(comparison_satisfied__lte=models.F("comparison_n")),
                name="action_item_comparison_satisfied_le_n",
            ),
        ]
        indexes = [models.Index(fields=["plan", "kind"])]

    def __str__(self) -> str:
        return self.title


class ProgressNote(models.Model):
    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="notes", verbose_name=_("行动项"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("填写人")
    )
    created_at = models.DateTimeField(_("填写时间"))
    text = models.TextField(_("进展说明"), max_length=text_limits.NOTE)
    percent = models.PositiveSmallIntegerField(_("完成百分比"), validators=[MaxValueValidator(100)])

    class Meta:
        verbose_name = _("进展记录")
        verbose_name_plural = _("进展记录")
        constraints = [models.CheckConstraint(condition=models.Q(percent__lte=100), name="progress_note_percent_le_100")]

    def __str__(self) -> str:
        return f"{self.item} · {self.percent}%"


class PlanTransition(models.Model):
    plan = models.ForeignKey(ImprovementPlan, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("计划"))
    action = models.CharField(_("操作"), max_length=16, choices=PlanAction.choices)
    from_status = models.CharField(_("原状态"), max_length=16, choices=PlanStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=PlanStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"))
    comment = models.TextField(_("意见"), blank=True, max_length=text_limits.NOTE)

    class Meta:
        verbose_name = _("计划流转记录")
        verbose_name_plural = _("计划流转记录")

    def __str__(self) -> str:
        return f"{self.plan} · {self.get_action_display()}"


class PlanComment(models.Model):
    plan = models.ForeignKey(ImprovementPlan, on_delete=models.CASCADE, related_name="comments", verbose_name=_("计划"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("评论人")
    )
    created_at = models.DateTimeField(_("评论时间"))
    text = models.TextField(_("评论"), max_length=text_limits.NOTE)

    class Meta:
        verbose_name = _("计划评论")
        verbose_name_plural = _("计划评论")

    def __str__(self) -> str:
        return f"{self.plan} · {self.author}"


class GroupMeeting(models.Model):
    """One meeting of a working group (the standing group or a task force): when, about what, who came."""

    group = models.ForeignKey(
        "departments.WorkingGroup", on_delete=models.CASCADE, related_name="meetings", verbose_name=_("小组")
    )
    held_on = models.DateField(_("会议日期"))
    title = models.CharField(_("议题"), max_length=200)
    attendees = models.CharField(_("参会人"), max_length=500, blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True, max_length=text_limits.TEXT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("记录人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("小组会议")
        verbose_name_plural = _("小组会议")
        constraints = [text_limits.length_check("minutes", text_limits.TEXT, name="group_meeting_minutes_length")]

    def __str__(self) -> str:
        return f"{self.group} · {self.held_on} · {self.title}"


class GroupDecision(models.Model):
    """A decision a working group took at a meeting: what, who carries it out, by when."""

    meeting = models.ForeignKey(GroupMeeting, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("会议"))
    text = models.TextField(_("决议内容"), max_length=text_limits.NOTE)
    responsible = models.CharField(_("负责人"), max_length=50, blank=True)
    due_on = models.DateField(_("完成期限"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("小组决议")
        verbose_name_plural = _("小组决议")

    def __str__(self) -> str:
        return self.text[:40]
