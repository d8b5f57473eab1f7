# The collation that sorts units naturally (1-1-804 before 1-1-3201) on PostgreSQL: ICU with numeric ordering.
# SQLite gets a collation of the same name from the connection (owners.natural); nothing to do there.

from django.db import migrations

CREATE = "CREATE COLLATION IF NOT EXISTS csm_natural (provider = icu, locale = 'und-u-kn-true')"
DROP = "DROP COLLATION IF EXISTS csm_natural"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("owners", "0004_drop_redundant_indexes")]

    operations = [migrations.RunPython(create, drop)]
