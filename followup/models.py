"""Alert rules, per-port SLAs and follow-up tickets (with notes and history)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import text_limits
from departments.ports import PortCode


class RuleKind(models.TextChoices):
    HEADLINE_LOW = "headline_low", _("核心指标低分")
    PORT_LOW = "port_low", _("端口指标低分")
    KEYWORD = "keyword", _("意见关键词")


class AlertRule(models.Model):
    """When a response opens a ticket: a headline item or a port item at or below the threshold, or an open
    comment containing one of the keywords. A rule applies to one wave, to every wave of one series, or (neither
    set) to every survey."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("规则类型"), max_length=16, choices=RuleKind.choices)
    survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("调查"),
        help_text=_("只对这一期调查生效；不选 = 按系列或全部调查"),
    )
    series = models.ForeignKey(
        "surveys.SurveySeries", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("调查系列"), help_text=_("对该系列的每一期生效；不选 = 全部系列"),
    )
    threshold = models.PositiveSmallIntegerField(
        _("低分阈值"), default=2, help_text=_("评分小于或等于此分数即预警（1–4）")
    )
    keywords = models.TextField(
        _("关键词"), blank=True, max_length=text_limits.NOTE, help_text=_("每行一个，或用顿号、逗号分隔")
    )
    port = models.CharField(
        _("默认责任端口"), max_length=16, choices=PortCode.choices, default=PortCode.PROPERTY,
        help_text=_("答卷中没有低分端口、意见题也不属于任何端口时，工单交给此端口"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")
        constraints = [
            models.CheckConstraint(condition=models.Q(threshold__gte=1, threshold__lte=4), name="alert_rule_threshold_1_to_4"),
        ]

    def __str__(self) -> str:
        return self.name

    def keyword_list(self) -> list[str]:
        from followup.rules import split_keywords

        return split_keywords(self.keywords)


class PortSla(models.Model):
    """How long the responsible port has before a ticket is overdue, and how long after that it goes to management."""

    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices, unique=True)
    due_hours = models.PositiveIntegerField(_("处理时限（小时）"), default=48)
    management_after_hours = models.PositiveIntegerField(
        _("逾期后升级管理层（小时）"), default=24, help_text=_("逾期先提醒部门负责人，再过这么久仍未处理则升级到管理层")
    )

    class Meta:
        verbose_name = _("端口处理时限")
        verbose_name_plural = _("端口处理时限")
        constraints = [models.CheckConstraint(condition=models.Q(due_hours__gte=1), name="port_sla_due_hours_positive")]

    def __str__(self) -> str:
        return f"{self.get_port_display()} · {self.due_hours}h"


class TicketStatus(models.TextChoices):
    NEW = "new", _("新建")
    IN_PROGRESS = "in_progress", _("处理中")
    CALLED_BACK = "called_back", _("已回访")
    CLOSED = "closed", _("关闭")
    UNRESOLVED = "unresolved", _("无法解决")


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.CALLED_BACK)
# The SLA clock runs until the owner has been called back.
CLOCK_STATUSES = (TicketStatus.NEW, TicketStatus.IN_PROGRESS)


class TicketSource(models.TextChoices):
    ALERT = "alert", _("问卷预警")
    FEEDBACK = "feedback", _("客户反馈")


class Escalation(models.IntegerChoices):
    NONE = 0, _("未升级")
    HEAD = 1, _("已升级至部门负责人")
    MANAGEMENT = 2, _("已升级至管理层")


class Ticket(models.Model):
    """One follow-up for the responsible port: opened by an alert on a response or by a feedback record."""

    source = models.CharField(_("来源"), max_length=16, choices=TicketSource.choices)
    port = models.CharField(_("责任端口"), max_length=16, choices=PortCode.choices)
    department = models.ForeignKey(
        "departments.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("责任部门")
    )
    project = models.ForeignKey("owners.Project", on_delete=models.PROTECT, related_name="+", verbose_name=_("楼盘"))
    owner = models.ForeignKey(
        "owners.Owner", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("业主")
    )
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("答卷")
    )
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets", verbose_name=_("预警规则")
    )
    feedback = models.OneToOneField(
        "feedback.Feedback", null=True, blank=True, on_delete=models.CASCADE, related_name="ticket",
        verbose_name=_("客户反馈"),
    )
    summary = models.CharField(_("预警内容"), max_length=255)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("处理人"),
    )
    status = models.CharField(_("状态"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW)
    unresolved_reason = models.TextField(_("无法解决的原因"), blank=True, max_length=text_limits.NOTE)
    opened_at = models.DateTimeField(_("创建时间"))
    due_at = models.DateTimeField(_("处理期限"))
    escalation = models.PositiveSmallIntegerField(_("升级"), choices=Escalation.choices, default=Escalation.NONE)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("跟进工单")
        verbose_name_plural = _("跟进工单")
        constraints = [
            # One ticket per response, rule and port: a re-import or a re-save of the response opens nothing new.
            models.UniqueConstraint(
                fields=["response", "rule", "port"], condition=models.Q(response__isnull=False, rule__isnull=False),
                name="ticket_unique_response_rule_port",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="unresolved") | ~models.Q(unresolved_reason=""),
                name="ticket_unresolved_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"]), models.Index(fields=["department", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_port_display()} · {self.summary[:30]}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketNote(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes", verbose_name=_("工单"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("记录人")
    )
    text = models.TextField(_("跟进记录"), max_length=text_limits.NOTE)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("跟进记录")
        verbose_name_plural = _("跟进记录")

    def __str__(self) -> str:
        return self.text[:40]
