"""Departments, the five business ports (端口) and who owns or monitors each, memberships and groups."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import text_limits
from departments.ports import PortCode


class Role(models.TextChoices):
    """The Django groups that carry each role's permissions."""

    BRAND_SERVICE = "brand_service", _("品牌客服专员")
    DEPARTMENT_HEAD = "department_head", _("部门负责人")
    MANAGEMENT = "management", _("管理层")
    COMMITTEE = "committee", _("满意度管理小组")


class Department(models.Model):
    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    coordinates_all_ports = models.BooleanField(
        _("协调监控全部端口"), default=False, help_text=_("品牌客服部：组织公司满意度管理，协调和监控各端口。")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="departments", verbose_name=_("成员")
    )

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class Port(models.Model):
    code = models.CharField(_("编码"), max_length=16, choices=PortCode.choices, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    owner = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="owned_ports", verbose_name=_("责任部门")
    )
    monitors = models.ManyToManyField(
        Department, blank=True, related_name="monitored_ports", verbose_name=_("监控部门")
    )

    class Meta:
        verbose_name = _("端口")
        verbose_name_plural = _("端口")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    is_head = models.BooleanField(_("部门负责人"), default=False)

    class Meta:
        verbose_name = _("部门成员")
        verbose_name_plural = _("部门成员")
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user_department")]

    def __str__(self) -> str:
        return f"{self.department} · {self.user}"


class WorkingGroup(models.Model):
    """The standing satisfaction & loyalty group (§5.1) or a time-boxed improvement task force."""

    class Kind(models.TextChoices):
        STANDING = "standing", _("满意度及忠诚度管理小组（常设）")
        TASK_FORCE = "task_force", _("满意度提升管理小组（阶段性）")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    purpose = models.TextField(_("目的"), blank=True, max_length=text_limits.NOTE)
    starts_on = models.DateField(_("开始日期"), null=True, blank=True)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="working_groups", verbose_name=_("成员"))

    class Meta:
        verbose_name = _("管理小组")
        verbose_name_plural = _("管理小组")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(starts_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="working_group_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name
