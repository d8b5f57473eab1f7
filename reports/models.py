"""What the monthly digest has sent: one row per user and period, so a period's digest goes out once."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DigestSent(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户"))
    period = models.CharField(_("期间"), max_length=7, help_text=_("所报告的月份，如 2026-11"))
    survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("调查")
    )
    role = models.CharField(_("角色"), max_length=32)
    sent_at = models.DateTimeField(_("发送时间"))

    class Meta:
        verbose_name = _("已发送的月度摘要")
        verbose_name_plural = _("已发送的月度摘要")
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="digest_sent_once_per_user_period")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.period}"
