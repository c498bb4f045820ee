"""Load Shanxi's current province, cities and counties from the national division table that
python-stdnum ships, so that every database has them after `migrate`."""

from django.db import migrations


def load(apps, schema_editor):
    from enterprises.regions import division_table, region_level

    Region = apps.get_model("enterprises", "Region")
    by_code = {}
    for code, name in division_table("14"):
        level = region_level(code)
        parent = None
        if level == "city":
            parent = by_code.get(code[:2] + "0000")
        elif level == "county":
            parent = by_code.get(code[:4] + "00") or by_code.get(code[:2] + "0000")
        by_code[code], _created = Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
