"""Brand-service staff call owners back, so their group may reveal a full phone number (each reveal is logged)."""

from django.db import migrations


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="owners", model="owner")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="view_full_phone", defaults={"name": "可查看业主完整电话号码"}
    )
    group, _ = Group.objects.get_or_create(name="brand_service")
    group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="brand_service"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="owners", codename="view_full_phone"))


class Migration(migrations.Migration):
    dependencies = [
        ("owners", "0002_phone_access_log"),
        ("departments", "0002_seed_organisation"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
