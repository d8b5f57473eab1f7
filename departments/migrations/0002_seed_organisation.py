"""Seed the departments, the five ports and the role groups as the procedure (§4) assigns them."""

from django.db import migrations

DEPARTMENTS = [
    # code, name, coordinates all ports
    ("brand_service", "品牌客服部", True),
    ("engineering", "工程管理部", False),
    ("marketing", "市场营销部", False),
    ("property", "物业公司", False),
    ("design", "规划设计部", False),
]
PORTS = [
    # code, name, position, owner, monitors
    ("design", "规划设计", 1, "design", ["engineering", "brand_service"]),
    ("engineering", "工程质量", 2, "engineering", ["brand_service"]),
    ("sales", "销售服务", 3, "marketing", ["brand_service"]),
    ("service", "客户服务", 4, "brand_service", []),
    ("property", "物业管理", 5, "property", ["brand_service"]),
]
GROUPS = ["brand_service", "department_head", "management", "committee"]


def seed(apps, schema_editor):
    Department = apps.get_model("departments", "Department")
    Port = apps.get_model("departments", "Port")
    Group = apps.get_model("auth", "Group")
    departments = {}
    for code, name, coordinates in DEPARTMENTS:
        departments[code], _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "coordinates_all_ports": coordinates}
        )
    for code, name, position, owner, monitors in PORTS:
        port, _ = Port.objects.get_or_create(
            code=code, defaults={"name": name, "position": position, "owner": departments[owner]}
        )
        port.monitors.add(*[departments[m] for m in monitors])
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("departments", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
