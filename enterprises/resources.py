"""django-import-export resource for enterprises: keyed on the unified social credit code, the
region by its GB/T 2260 code (or name) and the group by its credit code."""

from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from spreadsheets.resources import LedgerResource
from spreadsheets.widgets import ChoiceLabelWidget, LedgerDateWidget, TextWidget

from .models import Enterprise, Region


class RegionCodeWidget(widgets.Widget):
    """Read as text (resolved in bulk by the importer); written as the region's code."""

    def clean(self, value, row=None, **kwargs):
        return None if value is None else str(value)

    def render(self, value, obj=None, **kwargs):
        return value.code if isinstance(value, Region) else ""


class ParentCodeWidget(widgets.Widget):
    """The group's credit code (resolved by the importer, also against rows of the same file)."""

    def clean(self, value, row=None, **kwargs):
        return None if value is None else str(value)

    def render(self, value, obj=None, **kwargs):
        return value.credit_code if isinstance(value, Enterprise) else ""


class EnterpriseResource(LedgerResource):
    """One row per enterprise (or group), keyed on the credit code."""

    name = fields.Field("name", _("企业名称"), widget=TextWidget(max_length=200))
    credit_code = fields.Field("credit_code", _("统一社会信用代码"), widget=TextWidget())
    industry = fields.Field("industry", _("行业"), widget=ChoiceLabelWidget(Enterprise.Industry))
    region = fields.Field("region", _("所在地区代码"), widget=RegionCodeWidget())
    parent = fields.Field("parent", _("所属集团统一社会信用代码"), widget=ParentCodeWidget())
    diversion_date = fields.Field(
        "diversion_date", _("分流安置方案实施日期"), widget=LedgerDateWidget()
    )

    HEADER_ALIASES = {
        "name": ["单位名称", "企业", "name"],
        "credit_code": ["信用代码", "社会信用代码", "credit_code"],
        "industry": ["所属行业", "industry"],
        "region": ["所在地区", "地区代码", "行政区划代码", "地区", "region"],
        "parent": ["所属集团", "集团统一社会信用代码", "parent", "group"],
        "diversion_date": [
            "安置方案实施日期",
            "方案实施日期",
            "分流安置日期",
            "diversion_date",
            "diversion date",
        ],
    }
    REQUIRED = ["name", "credit_code", "industry", "region"]
    NOTES = {
        "name": _("企业全称"),
        "credit_code": _("18 位统一社会信用代码（GB 32100），用来识别企业：已有的企业会被更新"),
        "industry": _("煤炭、钢铁或其他"),
        "region": _("所在县（区）的 6 位行政区划代码，或唯一的地区名称"),
        "parent": _("所属集团的统一社会信用代码；集团可以在本表中，也可以已经登记"),
        "diversion_date": _(
            "职工分流安置方案开始实施的日期；花名册没有分流时间的职工自此日起计入需安置人数。"
            "只填年月（2016.01）视为当月 1 日"
        ),
    }

    class Meta:
        model = Enterprise
        fields = ["name", "credit_code", "industry", "region", "parent", "diversion_date"]
        export_order = fields
        import_id_fields = ["credit_code"]

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("region", "parent")
