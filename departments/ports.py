"""The five business ports (端口) of the procedure: their codes and labels, and the order they are listed in."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortCode(models.TextChoices):
    DESIGN = "design", _("规划设计")
    ENGINEERING = "engineering", _("工程质量")
    SALES = "sales", _("销售服务")
    SERVICE = "service", _("客户服务")
    PROPERTY = "property", _("物业管理")


# The order in which ports are listed everywhere (the seeded ``Port.position`` follows it).
PORTS: tuple[str, ...] = tuple(PortCode.values)
