"""Research bases (procedure §5.2): feedback records, callback plans and external survey reports.

The tables keep the names they had when these models lived in ``surveys`` (moved by ``SeparateDatabaseAndState``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import text_limits
from departments.ports import PortCode
from owners.stages import Stage
from surveys.models import Response


class FeedbackKind(models.TextChoices):
    SUGGESTION = "suggestion", _("建议")
    OPINION = "opinion", _("意见")
    COMPLAINT = "complaint", _("投诉")
    REPAIR = "repair", _("报修")
    ACCEPTANCE = "acceptance", _("模拟验收问题")
    CALLBACK = "callback", _("回访")


class FeedbackSeverity(models.TextChoices):
    NORMAL = "normal", _("一般")
    MAJOR = "major", _("较重")
    SEVERE = "severe", _("严重")


class FeedbackStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    IN_PROGRESS = "in_progress", _("处理中")
    CLOSED = "closed", _("已关闭")


class Feedback(models.Model):
    """One piece of front-line feedback or quality data: a complaint, a repair request, a 模拟验收 defect, …"""

    reference = models.CharField(_("反馈编号"), max_length=64, blank=True, help_text=_("导入文件的编号；再次导入按此更新"))
    kind = models.CharField(_("类型"), max_length=16, choices=FeedbackKind.choices)
    project = models.ForeignKey("owners.Project", on_delete=models.PROTECT, related_name="feedback", verbose_name=_("楼盘"))
    owner = models.ForeignKey(
        "owners.Owner", null=True, blank=True, on_delete=models.PROTECT, related_name="feedback", verbose_name=_("业主")
    )
    unit = models.CharField(_("房号"), max_length=32, blank=True)
    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices)
    received_on = models.DateField(_("受理日期"))
    severity = models.CharField(_("严重程度"), max_length=16, choices=FeedbackSeverity.choices, default=FeedbackSeverity.NORMAL)
    status = models.CharField(_("状态"), max_length=16, choices=FeedbackStatus.choices, default=FeedbackStatus.OPEN)
    closed_on = models.DateField(_("关闭日期"), null=True, blank=True)
    description = models.TextField(_("描述"), max_length=text_limits.TEXT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("录入人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], table_name="surveys_historicalfeedback")

    class Meta:
        db_table = "surveys_feedback"
        verbose_name = _("客户反馈")
        verbose_name_plural = _("客户反馈")
        constraints = [
            text_limits.length_check("description", text_limits.TEXT, name="feedback_description_length"),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_on__isnull=False),
                name="feedback_closed_has_closed_on",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True) | models.Q(closed_on__gte=models.F("received_on")),
                name="feedback_closed_on_not_before_received_on",
            ),
            models.UniqueConstraint(
                fields=["reference"], condition=~models.Q(reference=""), name="feedback_unique_reference"
            ),
        ]
        indexes = [models.Index(fields=["port", "project", "kind"]), models.Index(fields=["received_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.project_id} · {self.received_on}"


class CallbackAnchor(models.TextChoices):
    MOVE_IN = "move_in", _("入住后（磨合期等已入住业主）")
    CONTRACT = "contract", _("签约后（准业主，交付前）")


class CallbackRule(models.Model):
    """Owners due for a callback N months after move-in, within ± window_days (e.g. run-in owners at 3, 6, 12
    months); or, for a rule anchored on the contract, 准业主 N months after signing while not yet moved in."""

    name = models.CharField(_("名称"), max_length=50)
    anchor = models.CharField(
        _("起算日"), max_length=16, choices=CallbackAnchor.choices, default=CallbackAnchor.MOVE_IN,
        help_text=_("入住日起算回访已入住业主；签约日起算回访交付前的准业主"),
    )
    months_after_move_in = models.PositiveSmallIntegerField(_("起算后月数"))
    window_days = models.PositiveSmallIntegerField(_("前后窗口（天）"), default=15)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        db_table = "surveys_callbackrule"
        verbose_name = _("回访规则")
        verbose_name_plural = _("回访规则")
        constraints = [
            models.UniqueConstraint(
                fields=["anchor", "months_after_move_in"],
                name="callback_rule_unique_anchor_months",
                violation_error_message=_("已有相同起算日和月数的回访规则"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CallbackOutcome(models.TextChoices):
    REACHED = "reached", _("已接通")
    NOT_REACHED = "not_reached", _("未接通")
    REFUSED = "refused", _("拒访")


class Callback(models.Model):
    """One callback attempt to an owner under a rule, with its outcome and, if asked, the headline scores."""

    owner = models.ForeignKey("owners.Owner", on_delete=models.PROTECT, related_name="callbacks", verbose_name=_("业主"))
    rule = models.ForeignKey(
        CallbackRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks", verbose_name=_("回访规则")
    )
    due_on = models.DateField(_("应回访日期"), null=True, blank=True)
    called_on = models.DateField(_("回访日期"))
    outcome = models.CharField(_("结果"), max_length=16, choices=CallbackOutcome.choices)
    notes = models.TextField(_("备注"), blank=True, max_length=text_limits.NOTE)
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks", verbose_name=_("回访问卷")
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("回访人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords(table_name="surveys_historicalcallback")

    class Meta:
        db_table = "surveys_callback"
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        indexes = [models.Index(fields=["owner", "rule"])]

    def __str__(self) -> str:
        return f"{self.owner} · {self.called_on} · {self.get_outcome_display()}"


class ExternalBenchmark(models.Model):
    """A group-level or third-party survey report, kept as a named benchmark beside our own rates."""

    name = models.CharField(_("报告名称"), max_length=100)
    source = models.CharField(_("来源"), max_length=100, help_text=_("如：集团客户满意度调查、第三方调查机构名称"))
    report_on = models.DateField(_("报告日期"))
    notes = models.TextField(_("说明"), blank=True, max_length=text_limits.NOTE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("录入人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        db_table = "surveys_externalbenchmark"
        verbose_name = _("外部调查报告")
        verbose_name_plural = _("外部调查报告")
        constraints = [models.UniqueConstraint(fields=["name", "report_on"], name="external_benchmark_unique_name_date")]

    def __str__(self) -> str:
        return f"{self.name}（{self.report_on}）"


class ExternalBenchmarkRow(models.Model):
    """One slice of an external report: headline or a port × all projects or one × all stages or one."""

    benchmark = models.ForeignKey(ExternalBenchmark, on_delete=models.CASCADE, related_name="rows", verbose_name=_("报告"))
    project = models.ForeignKey(
        "owners.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("楼盘")
    )
    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices, blank=True, help_text=_("空 = 核心指标"))
    stage = models.CharField(_("业主阶段"), max_length=16, choices=Stage.choices, blank=True, help_text=_("空 = 全部阶段"))
    sample_size = models.PositiveIntegerField(_("样本量"))
    satisfaction_rate = models.FloatField(_("满意度"))
    loyalty_rate = models.FloatField(_("忠诚度"), null=True, blank=True)

    class Meta:
        db_table = "surveys_externalbenchmarkrow"
        verbose_name = _("外部调查结果")
        verbose_name_plural = _("外部调查结果")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction_rate__gte=0, satisfaction_rate__lte=1), name="external_row_rate_0_to_1"
            ),
            models.CheckConstraint(
                condition=models.Q(loyalty_rate__isnull=True) | models.Q(loyalty_rate__gte=0, loyalty_rate__lte=1),
                name="external_row_loyalty_0_to_1",
            ),
            models.UniqueConstraint(fields=["benchmark", "project", "port", "stage"], name="external_row_unique_slice"),
            models.UniqueConstraint(
                fields=["benchmark", "port", "stage"],
                condition=models.Q(project__isnull=True),
                name="external_row_unique_slice_all_projects",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.benchmark} · {self.port or 'headline'} · {self.project_id or 'all'} · {self.stage or 'all'}"


class CommentTheme(models.Model):
    """One theme of a port's lexicon for reading open comments (e.g. 物业 · 保洁: 保洁, 清洁, 卫生, 垃圾): a
    comment mentions the theme when one of its keywords is a word of the comment as jieba segments it."""

    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices)
    name = models.CharField(_("主题"), max_length=20)
    keywords = models.CharField(
        _("关键词"), max_length=500, help_text=_("以逗号、顿号或空格分隔；主题名本身也算关键词")
    )
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("意见主题")
        verbose_name_plural = _("意见主题")
        constraints = [
            models.UniqueConstraint(
                fields=["port", "name"], name="comment_theme_unique_port_name",
                violation_error_message=_("该端口已有同名主题"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_port_display()} · {self.name}"
