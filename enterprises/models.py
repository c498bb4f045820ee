"""Regions (GB/T 2260), capacity-reduction enterprises and their groups."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.history import HistorySource

from .querysets import EnterpriseQuerySet, RegionQuerySet
from .validators import normalize_credit_code, validate_credit_code

PARENT_IS_SELF = _("企业不能是自己的所属集团")
PARENT_NESTED = _("“%(value)s”本身属于另一个集团：所属集团须是不再隶属其他集团的企业")
HAS_MEMBERS = _("该企业是其他企业的所属集团，不能再隶属另一个集团")


class Region(models.Model):
    """An administrative division: a province, a city or a county, keyed by its GB/T 2260 code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("县（区）")

    code = models.CharField(
        _("行政区划代码"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^\d{6}$", _("行政区划代码应为 6 位数字"))],
    )
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级地区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("地区")
        verbose_name_plural = _("地区")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def code_prefix(self) -> str:
        """The code prefix every region in this region's subtree shares (GB/T 2260 is nested)."""
        if self.level == self.Level.PROVINCE:
            return self.code[:2]
        if self.level == self.Level.CITY:
            return self.code[:4]
        return self.code


DIVERSION_DATE_IN_FUTURE = _("分流安置方案实施日期不能晚于今天")


class Enterprise(models.Model):
    """A capacity-reduction enterprise (a mine or plant), or a group that owns such enterprises."""

    class Industry(models.TextChoices):
        COAL = "coal", _("煤炭")
        STEEL = "steel", _("钢铁")
        OTHER = "other", _("其他")

    name = models.CharField(_("企业名称"), max_length=200)
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        validators=[validate_credit_code],
        help_text=_("18 位，GB 32100"),
    )
    industry = models.CharField(_("行业"), max_length=10, choices=Industry.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("所在地区"),
        on_delete=models.PROTECT,
        related_name="enterprises",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("所属集团"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    reduction_year = models.PositiveSmallIntegerField(_("去产能年度"), null=True, blank=True)
    capacity_to_cut = models.DecimalField(
        _("压减产能（万吨）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    plan_text = models.TextField(_("职工安置方案"), blank=True)
    plan_reviewed_on = models.DateField(_("职代会审议日期"), null=True, blank=True)
    # The diversion date of workers whose roster gives none (DOMAIN.md, "Rates").
    diversion_date = models.DateField(
        _("分流安置方案实施日期"),
        null=True,
        blank=True,
        help_text=_("花名册没有分流时间的职工，自此日起计入需安置人数"),
    )

    objects = EnterpriseQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                name="%(app_label)s_%(class)s_unique_credit_code",
                violation_error_message=_("该统一社会信用代码已登记"),
            ),
            models.CheckConstraint(
                condition=models.Q(reduction_year__isnull=True)
                | models.Q(reduction_year__gte=2000, reduction_year__lte=2100),
                name="%(app_label)s_%(class)s_reduction_year_range",
                violation_error_message=_("去产能年度应在 2000 至 2100 之间"),
            ),
            models.CheckConstraint(
                condition=models.Q(capacity_to_cut__isnull=True) | models.Q(capacity_to_cut__gte=0),
                name="%(app_label)s_%(class)s_capacity_not_negative",
                violation_error_message=_("压减产能不能为负数"),
            ),
        ]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # The code as typed (full-width, spaced) is checked once normalised, as the import does.
        self.credit_code = normalize_credit_code(self.credit_code)
        super().clean_fields(exclude)

    def clean(self):
        """Groups are one level deep: a group owns enterprises, an enterprise owns nothing. So
        no chain and no cycle, and a group's members are `in_group()`'s one step. (Not a
        database constraint: it spans two rows.) The diversion date is not in the future: its
        workers without their own date would leave the workers to be placed until then."""
        self.credit_code = normalize_credit_code(self.credit_code)
        if self.diversion_date and self.diversion_date > timezone.localdate():
            stored = (
                Enterprise.objects.filter(pk=self.pk)
                .values_list("diversion_date", flat=True)
                .first()
                if self.pk
                else None
            )
            if stored != self.diversion_date:  # a date stored before this rule may stay
                raise ValidationError({"diversion_date": DIVERSION_DATE_IN_FUTURE})
        if not self.parent_id:
            return
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": PARENT_IS_SELF})
        parent = self.parent
        if parent.parent_id is not None:
            raise ValidationError({"parent": PARENT_NESTED % {"value": parent.name}})
        if self.pk and Enterprise.objects.filter(parent_id=self.pk).exists():
            raise ValidationError({"parent": HAS_MEMBERS})


class UserScope(models.Model):
    """What one user account may see: a role and the region or enterprise it applies to.

    Administrators (superusers) need no scope. Every visibility rule reads this row through the
    `visible_to(user)` queryset methods, never directly in a view.
    """

    class Role(models.TextChoices):
        ENTERPRISE_HR = "enterprise_hr", _("企业人事专员")
        REGION_STAFF = "region_staff", _("市县人社工作人员")
        PROVINCE_STAFF = "province_staff", _("省级工作人员")
        ADMINISTRATOR = "administrator", _("系统管理员")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="scope",
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("管辖地区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("所在企业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("用户权限范围")
        verbose_name_plural = _("用户权限范围")
        constraints = [
            # A role reads one field and leaves the other empty: a region left from an earlier
            # role would otherwise open that region's reports to an HR officer.
            models.CheckConstraint(
                condition=models.Q(
                    role="enterprise_hr", enterprise__isnull=False, region__isnull=True
                )
                | models.Q(
                    role__in=["region_staff", "province_staff"],
                    region__isnull=False,
                    enterprise__isnull=True,
                )
                | models.Q(role="administrator", region__isnull=True, enterprise__isnull=True),
                name="%(app_label)s_%(class)s_scope_matches_role",
                violation_error_message=_("企业人事专员须指定企业；市县和省级工作人员须指定地区"),
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"

    def save(self, *args, **kwargs):
        self.keep_the_roles_field_only()
        super().save(*args, **kwargs)

    def clean(self):
        self.keep_the_roles_field_only()

    def keep_the_roles_field_only(self) -> None:
        """Empty the field the role does not read (the form of a user moved from one role to
        another still holds the old one's)."""
        if self.role != self.Role.ENTERPRISE_HR:
            self.enterprise = None
        if self.role not in (self.Role.REGION_STAFF, self.Role.PROVINCE_STAFF):
            self.region = None
