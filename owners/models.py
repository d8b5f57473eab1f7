"""Projects (楼盘) and their owners (业主)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and last four digits."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


class Project(models.Model):
    code = models.CharField(_("楼盘编码"), max_length=32, unique=True)
    name = models.CharField(_("楼盘名称"), max_length=100)
    city = models.CharField(_("城市"), max_length=50, blank=True)
    unit_count = models.PositiveIntegerField(_("总户数"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("楼盘")
        verbose_name_plural = _("楼盘")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Owner(models.Model):
    # No index of its own: the unique (project, unit, name) index leads with it.
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="owners", verbose_name=_("楼盘"), db_index=False
    )
    unit = models.CharField(_("房号"), max_length=32)
    name = models.CharField(_("业主姓名"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    contract_date = models.DateField(_("签约日期"), null=True, blank=True)
    move_in_date = models.DateField(_("入住日期"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # History is read by owner id only; an index on its project column would only slow bulk imports.
    history = HistoricalRecords(excluded_fields=["updated_at"], no_db_index=["project"])

    class Meta:
        verbose_name = _("业主")
        verbose_name_plural = _("业主")
        constraints = [
            models.UniqueConstraint(fields=["project", "unit", "name"], name="owner_unique_project_unit_name"),
        ]
        permissions = [("view_full_phone", _("可查看业主完整电话号码"))]

    def __str__(self) -> str:
        return f"{self.unit} {self.name}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class PhoneAccessLog(models.Model):
    """One reveal of an owner's full phone number: who, when, whose, and where (PIPL access record)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("查看人")
    )
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="phone_accesses", verbose_name=_("业主"))
    accessed_at = models.DateTimeField(_("查看时间"))
    where = models.CharField(_("查看位置"), max_length=255)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("电话查看记录")
        verbose_name_plural = _("电话查看记录")
        indexes = [models.Index(fields=["owner", "accessed_at"])]

    def __str__(self) -> str:
        return f"{self.accessed_at:%Y-%m-%d %H:%M} · {self.user} · {self.owner_id}"
