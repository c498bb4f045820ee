# Two columns derived from the ledger and kept by the write path (placement.services):
# Worker.placed_open_since and Placement.enterprise.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    """Every stored row's value, as placement.services' refreshes compute it."""
    Worker = apps.get_model("placement", "Worker")
    Placement = apps.get_model("placement", "Placement")
    earliest_open = (
        Placement.objects.filter(worker=OuterRef("pk"), ended_on__isnull=True)
        .order_by("placed_on")
        .values("placed_on")[:1]
    )
    Worker.objects.update(placed_open_since=Subquery(earliest_open))
    their_enterprise = Worker.objects.filter(pk=OuterRef("worker_id")).values("enterprise_id")[:1]
    Placement.objects.update(enterprise_id=Subquery(their_enterprise))


class Migration(migrations.Migration):
    dependencies = [
        ("enterprises", "0004_enterprise_diversion_date"),
        ("placement", "0010_placement_in_force_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="placement",
            name="enterprise",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="enterprises.enterprise",
                verbose_name="所在企业",
            ),
        ),
        migrations.AddField(
            model_name="worker",
            name="placed_open_since",
            field=models.DateField(
                blank=True,
                db_index=True,
                editable=False,
                help_text="最早一条未终止的安置的安置日期，由系统维护",
                null=True,
                verbose_name="持续安置起始日期",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="placement",
            name="enterprise",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="enterprises.enterprise",
                verbose_name="所在企业",
            ),
        ),
        migrations.AddIndex(
            model_name="placement",
            index=models.Index(fields=["enterprise", "placed_on"], name="placement_enterprise_date"),
        ),
    ]
