"""The company's starting alert rules (every survey) and a 48-hour SLA per port; staff edit them in the browser."""

from django.db import migrations

KEYWORDS = "漏水\n渗水\n投诉\n维权\n媒体\n曝光\n律师\n起诉\n12345\n退房"
PORTS = ("design", "engineering", "sales", "service", "property")


def seed(apps, schema_editor):
    AlertRule = apps.get_model("followup", "AlertRule")
    PortSla = apps.get_model("followup", "PortSla")
    if not AlertRule.objects.exists():
        AlertRule.objects.create(name="核心指标低分（≤2 分）", kind="headline_low", threshold=2, port="property")
        AlertRule.objects.create(name="端口指标低分（≤2 分）", kind="port_low", threshold=2, port="property")
        AlertRule.objects.create(name="意见含敏感关键词", kind="keyword", threshold=2, keywords=KEYWORDS, port="service")
    for port in PORTS:
        PortSla.objects.get_or_create(port=port, defaults={"due_hours": 48, "management_after_hours": 24})


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
