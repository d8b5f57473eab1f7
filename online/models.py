"""Owners answering a wave online: one personal invitation (an unguessable, revocable token) per owner and wave.

The token is stored as issued, so that staff can download the same links (and print the same QR codes) again;
it is the owner's key to their own questionnaire of that wave only, nothing else.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyInvitation(models.Model):
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.CASCADE, related_name="invitations", verbose_name=_("调查")
    )
    owner = models.ForeignKey(
        "owners.Owner", on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("业主")
    )
    token = models.CharField(_("令牌"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("生成人"),
    )
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("作废人"),
    )
    opened_at = models.DateTimeField(_("首次打开时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("首次提交时间"), null=True, blank=True)
    last_answered_at = models.DateTimeField(_("最近提交时间"), null=True, blank=True)
    privacy_accepted_at = models.DateTimeField(_("同意隐私说明时间"), null=True, blank=True)
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("答卷"),
    )

    class Meta:
        verbose_name = _("答卷邀请")
        verbose_name_plural = _("答卷邀请")
        constraints = [
            # One live link per owner and wave: issuing again reuses it; a revoked one may be followed by a new one.
            models.UniqueConstraint(
                fields=["survey", "owner"], condition=models.Q(revoked_at__isnull=True),
                name="invitation_one_live_per_owner_survey",
            ),
        ]
        indexes = [models.Index(fields=["survey", "owner"])]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.owner_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


# --- Messages to owners (online/messaging.py, online/reminders.py) ---------------------------------------------------


class MessageChannel(models.TextChoices):
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class MessageTemplate(models.TextChoices):
    INVITATION = "invitation", _("邀请")
    REMINDER = "reminder", _("提醒")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    SKIPPED = "skipped", _("未发送")


class OwnerMessaging(models.Model):
    """How an owner may be reached for surveys: an e-mail address (the roster has phones only) and the opt-out."""

    owner = models.OneToOneField(
        "owners.Owner", on_delete=models.CASCADE, related_name="messaging", verbose_name=_("业主")
    )
    email = models.EmailField(_("电子邮箱"), blank=True)
    opted_out_at = models.DateTimeField(_("退订时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("业主联系设置")
        verbose_name_plural = _("业主联系设置")

    def __str__(self) -> str:
        return str(self.owner_id)


class ReminderPolicy(models.Model):
    """A wave's reminder schedule: the first reminder ``first_after_days`` after the invitation, then every
    ``interval_days``, at most ``max_reminders`` per owner; only to owners who have not answered or opted out."""

    survey = models.OneToOneField(
        "surveys.Survey", on_delete=models.CASCADE, related_name="reminder_policy", verbose_name=_("调查")
    )
    enabled = models.BooleanField(_("启用提醒"), default=True)
    channel = models.CharField(_("渠道"), max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS)
    first_after_days = models.PositiveSmallIntegerField(_("邀请后几天首次提醒"), default=3)
    interval_days = models.PositiveSmallIntegerField(_("提醒间隔（天）"), default=3)
    max_reminders = models.PositiveSmallIntegerField(_("每位业主最多提醒次数"), default=2)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("提醒计划")
        verbose_name_plural = _("提醒计划")
        constraints = [
            models.CheckConstraint(condition=models.Q(interval_days__gte=1), name="reminder_interval_at_least_a_day"),
            models.CheckConstraint(condition=models.Q(max_reminders__lte=10), name="reminder_at_most_ten"),
        ]

    def __str__(self) -> str:
        return str(self.survey_id)


class OutboundMessage(models.Model):
    """Every invitation or reminder sent (or held, failed, skipped): who, when, channel, template, outcome.

    The recipient is stored masked: the record is shown to staff and kept longer than a message needs its number.
    """

    invitation = models.ForeignKey(
        SurveyInvitation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("答卷邀请")
    )
    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+", verbose_name=_("调查"))
    owner = models.ForeignKey(
        "owners.Owner", on_delete=models.CASCADE, related_name="survey_messages", verbose_name=_("业主")
    )
    channel = models.CharField(_("渠道"), max_length=8, choices=MessageChannel.choices)
    template = models.CharField(_("模板"), max_length=16, choices=MessageTemplate.choices)
    recipient = models.CharField(_("收件人（已隐藏）"), max_length=120, blank=True)
    status = models.CharField(_("结果"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    error = models.CharField(_("错误"), max_length=255, blank=True)
    provider_id = models.CharField(_("网关编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    not_before = models.DateTimeField(_("最早发送时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("发起人"),
    )

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        indexes = [
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["survey", "owner", "template"]),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.channel} {self.status}"


class ProjectLink(models.Model):
    """The public link of a project in a wave (a notice-board QR code): owners identify themselves by unit and the
    last four digits of their phone, then continue to their personal invitation."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="+", verbose_name=_("调查"))
    project = models.ForeignKey("owners.Project", on_delete=models.CASCADE, related_name="+", verbose_name=_("楼盘"))
    token = models.CharField(_("令牌"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"))
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("楼盘二维码链接")
        verbose_name_plural = _("楼盘二维码链接")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "project"], condition=models.Q(revoked_at__isnull=True),
                name="project_link_one_live_per_survey_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.project_id}"
