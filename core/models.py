"""Models of the shared kernel: per-user settings that every app uses, and the cache versions (``core.versions``)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationPreference(models.Model):
    """A user's choice for one kind of e-mail notification (a kind with no row is on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences", verbose_name=_("用户")
    )
    kind = models.CharField(_("通知类型"), max_length=64)
    enabled = models.BooleanField(_("接收"), default=True)

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique_user_kind")]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind} · {'on' if self.enabled else 'off'}"


class CacheVersion(models.Model):
    """A value that changes whenever a kind of data changes: caches key their entries on it."""

    name = models.CharField(primary_key=True, max_length=32)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("缓存版本")
        verbose_name_plural = _("缓存版本")
