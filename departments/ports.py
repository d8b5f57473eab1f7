"""The five business ports (端口) of the procedure: their codes and labels, and the order they are listed in.

``PORTS`` is the one order: tables, charts, exports, menus and the metrics engine list ports by it, and so do
the ``Port`` rows (``ports_in_order``); no other list of ports exists.
"""

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortCode(models.TextChoices):
    DESIGN = "design", _("规划设计")
    ENGINEERING = "engineering", _("工程质量")
    SALES = "sales", _("销售服务")
    SERVICE = "service", _("客户服务")
    PROPERTY = "property", _("物业管理")


# The order in which ports are listed everywhere.
PORTS: tuple[str, ...] = tuple(PortCode.values)


def ports_in_order(codes: Iterable[str]) -> list[str]:
    """These port codes in the order of ``PORTS`` (anything else, the headline's "" included, left out)."""
    chosen = set(codes)
    return [code for code in PORTS if code in chosen]


def port_rank(field: str = "code") -> models.Case:
    """The rank in ``PORTS`` of the port code in ``field``, for ``order_by`` (rows of the database in port order)."""
    return models.Case(
        *(models.When(**{field: code}, then=models.Value(rank)) for rank, code in enumerate(PORTS)),
        default=models.Value(len(PORTS)),
        output_field=models.IntegerField(),
    )


def port_label(code: str) -> str:
    """The port's Chinese name, in the active language."""
    return str(PortCode(code).label)
