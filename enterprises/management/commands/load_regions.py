"""Load a province's current regions from the national division table (python-stdnum)."""

from django.core.management.base import BaseCommand

from enterprises.models import Region
from enterprises.regions import regions_load


class Command(BaseCommand):
    help = "从国家行政区划代码表（python-stdnum）载入一个省的现行省、市、县三级地区"

    def add_arguments(self, parser):
        parser.add_argument("--province", default="14", help="省级代码前两位，默认 14（山西）")

    def handle(self, *args, province, **options):
        created = regions_load(province_code=province)
        total = Region.objects.filter(code__startswith=province).count()
        self.stdout.write(f"{created} created, {total} regions in province {province}")
