"""django-import-export resources of the placement app: an enterprise's roster (花名册) and the
annual targets. Columns carry Chinese headers; `HEADER_ALIASES` lists the other headers real files
use (DOMAIN.md, "A roster as enterprises keep it") and the English ones. The rules a row must obey
live in placement.rules and the models; placement.imports runs the import."""

import datetime

from django.db.models import Case, DateField, F, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from enterprises.models import Enterprise, Region
from spreadsheets.resources import LedgerResource
from spreadsheets.widgets import (
    ChoiceLabelWidget,
    IntegerWidget,
    LedgerDateWidget,
    TextWidget,
    YesNoWidget,
)

from . import idnumbers
from .channels import CHANNEL_ALIASES, Channel
from .models import STATED_SOURCES, AnnualTarget, Placement, Worker

CHANNEL_UNKNOWN = _("安置方式“%(value)s”不认识；应为以下之一：%(choices)s")


class IdNumberWidget(widgets.Widget):
    """An ID number: parsed and checked by placement.idnumbers; exported masked unless the user
    may see full numbers. The roster export carries the birth date, so the mask keeps only the
    region code (the usual mask plus the birth date would rebuild the number)."""

    def __init__(self, *, full: bool = False, **kwargs):
        self.full = full
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        return idnumbers.parse(value)

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        return value if self.full else idnumbers.mask_beside_birth_date(value)


class BirthDateWidget(LedgerDateWidget):
    """A birth date: exported as the year only unless the user may see full numbers (the
    masked number plus the full birth date would rebuild it)."""

    def __init__(self, *, full: bool = True, **kwargs):
        self.full = full
        super().__init__(**kwargs)

    def render(self, value, obj=None, **kwargs):
        if not self.full and isinstance(value, datetime.date):
            return str(value.year)
        return super().render(value, obj, **kwargs)


class PhoneWidget(TextWidget):
    """A phone: exported masked (138****5678) unless the user may see it in full."""

    def __init__(self, *, full: bool = False, **kwargs):
        self.full = full
        super().__init__(max_length=20, **kwargs)

    def render(self, value, obj=None, **kwargs):
        rendered = super().render(value, obj, **kwargs)
        return rendered if self.full else idnumbers.mask_phone(rendered)


class ChannelWidget(ChoiceLabelWidget):
    """A placement channel by its Chinese name (or a name seen in rosters, or the English name)."""

    def __init__(self, **kwargs):
        super().__init__(Channel, aliases=CHANNEL_ALIASES, **kwargs)

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except ValueError:
            names = "、".join(str(member.label) for member in Channel)
            raise ValueError(CHANNEL_UNKNOWN % {"value": value, "choices": names}) from None


class NameWidget(TextWidget):
    """A person's name; the spaces offices put inside two-character names (张  三) are removed."""

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs)
        if " " in text and not text.isascii():
            text = text.replace(" ", "")
        return text


class RosterResource(LedgerResource):
    """One row per worker of one enterprise: the worker and their current placement (花名册)."""

    name = fields.Field("name", _("姓名"), widget=NameWidget(max_length=50))
    id_number = fields.Field("id_number", _("公民身份号码"), widget=IdNumberWidget())
    sex = fields.Field("sex", _("性别"), widget=ChoiceLabelWidget(Worker.Sex))
    birth_date = fields.Field("birth_date", _("出生日期"), widget=BirthDateWidget())
    status = fields.Field(
        "status", _("身份"), widget=ChoiceLabelWidget(Worker.Status, blank=Worker.Status.WORKER)
    )
    post = fields.Field("post", _("岗位"), widget=TextWidget(max_length=100))
    special_work_type = fields.Field("special_work_type", _("特殊工种"), widget=YesNoWidget())
    hire_date = fields.Field("hire_date", _("参加工作时间"), widget=LedgerDateWidget())
    phone = fields.Field("phone", _("联系电话"), widget=PhoneWidget())
    diverted_on = fields.Field("_roster_diverted_on", _("分流时间"), widget=LedgerDateWidget())
    channel = fields.Field("_roster_channel", _("安置方式"), widget=ChannelWidget())
    placed_on = fields.Field("_roster_placed_on", _("安置时间"), widget=LedgerDateWidget())
    destination_unit = fields.Field(
        "_roster_destination_unit", _("安置单位"), widget=TextWidget(max_length=200)
    )

    HEADER_ALIASES = {
        "name": ["姓名", "职工姓名", "name"],
        "id_number": [
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "证件号码",
            "id_number",
            "ID number",
        ],
        "sex": ["性别", "sex"],
        "birth_date": ["出生日期", "出生年月", "birth_date", "date of birth"],
        "status": ["身份", "干部/工人", "status"],
        "post": ["岗位", "工种", "原岗位", "岗位（工种）", "post"],
        "special_work_type": ["特殊工种", "是否特殊工种", "special_work_type"],
        "hire_date": ["参加工作时间", "入职时间", "hire_date"],
        "phone": ["联系电话", "手机号码", "手机号", "电话", "phone"],
        "diverted_on": [
            "分流日期",
            "分流年月",
            "列入分流安置时间",
            "列入安置名单时间",
            "diverted_on",
            "diversion date",
        ],
        "channel": ["安置方式", "安置渠道", "安置去向", "channel"],
        "placed_on": ["安置时间", "安置日期", "placed_on", "placement date"],
        "destination_unit": ["安置单位", "就业单位", "destination_unit", "destination"],
    }
    REQUIRED = ["name", "id_number"]
    NOTES = {
        "name": _("职工姓名"),
        "id_number": _(
            "18 位公民身份号码（旧式 15 位自动转换）。请把本列设置为“文本”格式，"
            "否则表格软件会把号码存成数字并丢失末几位"
        ),
        "sex": _("男或女；可不填，填写时须与身份证号一致"),
        "birth_date": _("如 1970-05-01、1970.05、1970年5月；可不填，填写时须与身份证号一致"),
        "status": _("干部或工人（决定女职工的退休年龄）；不填视为工人"),
        "post": _("原岗位或工种"),
        "special_work_type": _("是或否：井下等特殊工种"),
        "hire_date": _("参加工作时间，日期格式同上"),
        "phone": _("11 位手机号码或带区号的固定电话，请设为文本格式"),
        "diverted_on": _(
            "列入分流安置名单的日期，自此日起计入需安置人数；只填年月（2016.01）视为当月 1 日。"
            "不填则取企业的分流安置方案实施日期，企业也未填写时取导入之日"
        ),
        "channel": _(
            "内部安置、培训转岗、内部退养、外部分流、转移就业、自主择业、灵活就业、创新创业、"
            "公益性岗位托底安置之一；未安置的职工留空"
        ),
        "placed_on": _("安置日期，不能晚于今天；填写安置方式时必填"),
        "destination_unit": _("安置去向的单位名称"),
    }

    class Meta:
        model = Worker
        fields = [
            "name",
            "id_number",
            "sex",
            "birth_date",
            "status",
            "post",
            "special_work_type",
            "hire_date",
            "phone",
            "diverted_on",
            "channel",
            "placed_on",
            "destination_unit",
        ]
        export_order = fields
        import_id_fields = ["id_number"]

    def __init__(self, *, full_id_numbers: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fields["id_number"].widget = IdNumberWidget(full=full_id_numbers)
        self.fields["phone"].widget = PhoneWidget(full=full_id_numbers)
        self.fields["birth_date"].widget = BirthDateWidget(full=full_id_numbers)

    def filter_export(self, queryset, **kwargs):
        # The current placement comes in with the rows: three subqueries, not three per row.
        # The diversion date is written only when it was stated for the worker (by a roster or
        # on the worker's page): a date taken from the enterprise or the import day is left
        # blank, so that importing the export back keeps where each date came from.
        today = timezone.localdate()
        return queryset.annotate(
            _roster_diverted_on=Case(
                When(
                    registered_on_source__in=STATED_SOURCES,
                    then=F("registered_on"),
                ),
                default=None,
                output_field=DateField(),
            ),
            _roster_channel=Placement.objects.current_of_each("channel", today),
            _roster_placed_on=Placement.objects.current_of_each("placed_on", today),
            _roster_destination_unit=Placement.objects.current_of_each("destination_unit", today),
        )


class TargetScopeWidget(widgets.Widget):
    """A region by its GB/T 2260 code or its (unique) name."""

    def clean(self, value, row=None, **kwargs):
        return None if value is None else str(value)

    def render(self, value, obj=None, **kwargs):
        return value.code if isinstance(value, Region) else ""


class EnterpriseCodeWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return None if value is None else str(value)

    def render(self, value, obj=None, **kwargs):
        return value.credit_code if isinstance(value, Enterprise) else ""


class AnnualTargetResource(LedgerResource):
    """One row per year and scope: a region (by code) or an enterprise (by credit code)."""

    year = fields.Field("year", _("年度"), widget=IntegerWidget())
    region = fields.Field("region", _("地区代码"), widget=TargetScopeWidget())
    enterprise = fields.Field("enterprise", _("统一社会信用代码"), widget=EnterpriseCodeWidget())
    workers = fields.Field("workers", _("目标任务（人）"), widget=IntegerWidget())

    HEADER_ALIASES = {
        "year": ["年份", "year"],
        "region": ["地区", "地区名称", "行政区划代码", "region"],
        "enterprise": ["企业统一社会信用代码", "信用代码", "credit_code", "enterprise"],
        "workers": ["目标任务", "目标任务(人)", "目标（人）", "目标人数", "workers", "target"],
    }
    REQUIRED = ["year", "workers"]
    NOTES = {
        "year": _("如 2017"),
        "region": _("6 位行政区划代码（或地区名称）；与统一社会信用代码二者填一"),
        "enterprise": _("企业的 18 位统一社会信用代码；与地区代码二者填一"),
        "workers": _("本年度需安置的人数，整数"),
    }

    class Meta:
        model = AnnualTarget
        fields = ["year", "region", "enterprise", "workers"]
        export_order = fields
        import_id_fields = ["year", "region", "enterprise"]

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("region", "enterprise")
