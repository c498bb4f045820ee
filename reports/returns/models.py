"""A monthly return (月报), its lines, the workers behind its counts and its state changes.

A return's figures are written once, when it is generated, and never updated: a correction to
the ledger after that shows as a difference between the return and the live figures, never as a
change of the return. Generating again (a draft, or a return sent back) writes a new revision and
keeps the old one as superseded; an approved return can only be reopened by an administrator,
which keeps it (status "reopened") and lets a new revision be generated.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise, Region
from placement.channels import Channel
from placement.models import Worker

from .querysets import MonthlyReturnQuerySet

RETURN_PERMISSIONS = ["submit_return", "approve_return", "reopen_return"]


class MonthlyReturn(models.Model):
    """One region's return for one month (one revision of it), with its frozen figures and the
    header fields of the statistical form."""

    class Status(models.TextChoices):
        GENERATED = "generated", _("已生成")
        SUBMITTED = "submitted", _("已上报")
        RETURNED = "returned", _("已退回")
        APPROVED = "approved", _("已审核")
        REOPENED = "reopened", _("已重新打开")
        SUPERSEDED = "superseded", _("已被新版本替代")

    region = models.ForeignKey(
        Region, verbose_name=_("地区"), on_delete=models.PROTECT, related_name="+"
    )
    # The first day of the month reported (报告期); figures are as of its last day (`as_of`).
    period = models.DateField(_("报告期"))
    as_of = models.DateField(_("截至日期"))
    revision = models.PositiveSmallIntegerField(_("版本"), default=1)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.GENERATED
    )
    # Header fields of the form (表头); number and office come from settings when generated.
    form_number = models.CharField(_("表号"), max_length=50)
    issuing_office = models.CharField(_("制表机关"), max_length=100)
    reporting_unit = models.CharField(_("填报单位"), max_length=100)
    person_in_charge = models.CharField(_("单位负责人"), max_length=50, blank=True)
    preparer = models.CharField(_("填表人"), max_length=50, blank=True)
    reported_on = models.DateField(_("报出日期"), null=True, blank=True)
    # The frozen figures of the return's own line (rates are computed from them by reports.rates).
    to_place = models.PositiveIntegerField(_("需安置"))
    placed = models.PositiveIntegerField(_("已安置"))
    placed_in_year = models.PositiveIntegerField(_("年内安置"))
    target = models.PositiveIntegerField(_("年度目标"), null=True, blank=True)
    channels = models.JSONField(_("各渠道已安置"), default=dict, blank=True)
    generated_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    objects = MonthlyReturnQuerySet.as_manager()

    class Meta:
        verbose_name = _("月报")
        verbose_name_plural = _("月报")
        ordering = ["-period", "region__code", "-revision"]
        permissions = [
            ("submit_return", _("可生成并上报本单位月报")),
            ("approve_return", _("可审核或退回下级月报")),
            ("reopen_return", _("可重新打开已审核的月报")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "period", "revision"],
                name="%(app_label)s_%(class)s_unique_revision",
                violation_error_message=_("该地区该月的月报已有此版本"),
            ),
            # At most one return per region and month is in play; the others are kept as
            # superseded or reopened versions.
            models.UniqueConstraint(
                fields=["region", "period"],
                condition=~models.Q(status__in=["superseded", "reopened"]),
                name="%(app_label)s_%(class)s_one_current",
                violation_error_message=_("该地区该月已有一份有效的月报"),
            ),
            models.CheckConstraint(
                condition=models.Q(placed__lte=models.F("to_place")),
                name="%(app_label)s_%(class)s_placed_within_to_place",
                violation_error_message=_("已安置人数不能多于需安置人数"),
            ),
        ]

    def __str__(self):
        return f"{self.region} {self.period:%Y-%m} v{self.revision}"

    @property
    def year(self) -> int:
        return self.period.year

    @property
    def is_consolidation(self) -> bool:
        """A city's or the province's return: the sum of its children's approved returns."""
        return self.region.level != Region.Level.COUNTY


class ReturnLine(models.Model):
    """One line of a return's table: an enterprise of a county, or a child region's approved
    return (`source`) in a consolidation, or the enterprises directly under the region."""

    monthly_return = models.ForeignKey(
        MonthlyReturn, verbose_name=_("月报"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField(_("序号"))
    key = models.CharField(_("代码"), max_length=20)  # a region code or an enterprise's pk
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=12, blank=True)  # "region", "enterprise", ""
    source = models.ForeignKey(
        MonthlyReturn,
        verbose_name=_("汇总的下级月报"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consolidated_into",
    )
    to_place = models.PositiveIntegerField(_("需安置"))
    placed = models.PositiveIntegerField(_("已安置"))
    placed_in_year = models.PositiveIntegerField(_("年内安置"))
    target = models.PositiveIntegerField(_("年度目标"), null=True, blank=True)
    channels = models.JSONField(_("各渠道已安置"), default=dict, blank=True)

    class Meta:
        verbose_name = _("月报行")
        verbose_name_plural = _("月报行")
        ordering = ["monthly_return", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["monthly_return", "position"],
                name="%(app_label)s_%(class)s_unique_position",
                violation_error_message=_("月报行序号重复"),
            ),
        ]

    def __str__(self):
        return self.name


class ReturnMember(models.Model):
    """One worker behind a return's counts, as they stood on the return's as-of date: which
    counts they are in and their channel then. A consolidation keeps only the workers of the
    enterprises directly under its region; the others are in the child returns it sums."""

    monthly_return = models.ForeignKey(
        MonthlyReturn, verbose_name=_("月报"), on_delete=models.CASCADE, related_name="members"
    )
    # A worker counted in a return of record cannot be deleted (correct the record instead).
    worker = models.ForeignKey(
        Worker, verbose_name=_("职工"), on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("企业"), on_delete=models.PROTECT, related_name="+"
    )
    to_place = models.BooleanField(_("计入需安置"), default=False)
    placed = models.BooleanField(_("计入已安置"), default=False)
    channel = models.CharField(_("安置渠道"), max_length=30, choices=Channel.choices, blank=True)
    placed_in_year = models.BooleanField(_("计入年内安置"), default=False)

    class Meta:
        verbose_name = _("月报职工")
        verbose_name_plural = _("月报职工")
        constraints = [
            models.UniqueConstraint(
                fields=["monthly_return", "worker"],
                name="%(app_label)s_%(class)s_unique_worker",
                violation_error_message=_("同一职工在一份月报中只能出现一次"),
            ),
        ]
        indexes = [
            models.Index(fields=["monthly_return", "enterprise"], name="reports_member_enterprise")
        ]

    def __str__(self):
        # Named where a delete is refused for it: which return counts the worker.
        monthly_return = self.monthly_return
        return f"{monthly_return.region.name} {monthly_return.period:%Y-%m} {_('月报')}"


class ReturnEvent(models.Model):
    """One state change of a return: who, when, from where, and why (for a return sent back or
    reopened)."""

    class Action(models.TextChoices):
        GENERATED = "generated", _("生成")
        SUBMITTED = "submitted", _("上报")
        RETURNED = "returned", _("退回")
        APPROVED = "approved", _("审核通过")
        REOPENED = "reopened", _("重新打开")

    monthly_return = models.ForeignKey(
        MonthlyReturn, verbose_name=_("月报"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("操作"), max_length=12, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    # Kept beside the foreign key so that the row still names the user after the account is gone.
    username = models.CharField(_("用户名"), max_length=150)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    reason = models.TextField(_("理由"), blank=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("月报操作记录")
        verbose_name_plural = _("月报操作记录")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.monthly_return_id} {self.get_action_display()} {self.username}"
