"""The database cache's table (reports/cache.py keeps dashboard figures there), made by a
migration so that no deployment step (`createcachetable`) can be forgotten. It does nothing when
the configured caches are not database caches, and nothing when the table exists."""

from django.core.management import call_command
from django.db import migrations


def cache_table_create(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_monthly_returns"),
    ]

    operations = [
        migrations.RunPython(cache_table_create, migrations.RunPython.noop, elidable=True),
    ]
