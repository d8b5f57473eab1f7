"""Models of the shared kernel: per-user settings that every app uses, API tokens kept as hashes, and the cache
versions (``core.versions``)."""

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


class ApiToken(models.Model):
    """One client's API token: a SHA-256 digest of a 256-bit random secret, valid until ``expires_at``.

    ``password_stamp`` is the user's session hash at issue (``get_session_auth_hash``): a password change alters
    it and so ends every token, as it ends every session.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    client = models.CharField(_("客户端"), max_length=64)
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=8, help_text=_("令牌的前 8 个字符，便于辨认"))
    password_stamp = models.CharField(max_length=128)
    created_at = models.DateTimeField(_("签发时间"))
    expires_at = models.DateTimeField(_("到期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="api_token_one_per_client")]

    def __str__(self) -> str:
        return f"{self.user} · {self.client} · {self.prefix}…"


class CacheVersion(models.Model):
    """A value that changes whenever a kind of data changes: caches key their entries on it."""

    name = models.CharField(primary_key=True, max_length=32)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("缓存版本")
        verbose_name_plural = _("缓存版本")
