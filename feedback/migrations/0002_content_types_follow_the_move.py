"""Existing databases: the content types (and so the permissions given to groups) of the moved models follow them
from ``surveys`` to ``feedback``. A new database has none yet; they are created after migrating, under ``feedback``."""

from django.db import migrations

MOVED = ("feedback", "historicalfeedback", "callbackrule", "callback", "historicalcallback", "externalbenchmark",
         "externalbenchmarkrow")


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if ContentType.objects.using(db).filter(app_label="feedback", model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label="surveys", model=model).update(app_label="feedback")


def backwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label="surveys", model=model).exists():
            ContentType.objects.using(db).filter(app_label="feedback", model=model).update(app_label="surveys")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("feedback", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
