"""Workers registered by real name, their placements, and annual placement targets."""

import datetime

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.history import HistorySource
from enterprises.models import Enterprise, Region

from . import idnumbers, retirement, rules
from .channels import Channel, channel_category
from .querysets import AnnualTargetQuerySet, PlacementQuerySet, WorkerQuerySet
from .rules import (  # noqa: F401 - the messages are imported from here by older code and tests
    INTERNAL_RETIREMENT_OUTSIDE_WINDOW,
    PLACEMENT_DATE_BEFORE_WORKING_AGE,
    PLACEMENT_DATE_IN_FUTURE,
)

ID_NUMBER_ALREADY_REGISTERED = _(
    "该公民身份号码已在“%(enterprise)s”登记，同一职工不能在两个企业重复登记"
)
# A number registered at an enterprise the user may not see: the enterprise is not named (that
# would tell anyone with an add form where any person in the country is registered).
ID_NUMBER_REGISTERED_OUTSIDE_SCOPE = _(
    "该公民身份号码已在您管辖范围以外的企业登记，同一职工不能在两个企业重复登记；"
    "如登记有误，请联系县（市、区）或市人社部门核实处理"
)
PLACEMENT_ENDED_BEFORE_START = _("终止日期不能早于安置日期")
TARGET_NEEDS_ONE_SCOPE = _("年度目标须且只能指定一个地区或一个企业")
TARGET_OUT_OF_RANGE = _("目标任务应为 0 至 1000 万之间的整数")
# No region or enterprise of the programme had to place anywhere near this many; a larger
# number is a typing error (an extra digit, a year in the wrong column).
TARGET_MAX = 10_000_000
PHONE_INVALID = _("联系电话应为 11 位手机号码或带区号的固定电话")

phone_validator = RegexValidator(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", PHONE_INVALID, code="invalid_phone"
)


# A worker's change refused for a stored placement it would take out of the rules.
PLACEMENT_NO_LONGER_VALID = _(
    "修改后，安置记录（%(channel)s，%(placed)s）将不再符合规定：%(reason)s"
)


def stored_placements_refusals(
    placements, *, birth_date, retirement_date, diverted_on=None, source=None
) -> list[tuple[str, ValidationError]]:
    """The rules of placements already stored ((channel, placed_on) pairs) asked again with a
    worker's changed facts: the retirement date (internal retirement's window), the birth date,
    and a diversion date that binds (`diverted_on`, with its `source`). Each refusal names its
    placement, under the key of the rule's own error ("placed_on", "channel"). The worker's page
    (Worker.clean) and the roster import (a changed 身份 or 特殊工种) ask the same."""
    refusals = []
    for channel, placed_on in placements:
        found = rules.placement_errors(
            channel=channel,
            placed_on=placed_on,
            birth_date=birth_date,
            retirement_date=retirement_date,
        )
        if diverted_on is not None:
            found |= rules.placement_diversion_errors(
                placed_on=placed_on,
                diverted_on=diverted_on,
                source_label=str(DiversionSource(source).label),
            )
        for key, error in found.items():
            message = PLACEMENT_NO_LONGER_VALID % {
                "channel": Channel(channel).label,
                "placed": placed_on.isoformat(),
                "reason": error.messages[0],
            }
            refusals.append((key, ValidationError(message, code=error.code)))
    return refusals


class DiversionSource(models.TextChoices):
    """Where a worker's diversion date came from: the roster's column, else the enterprise's own
    date, else the day the worker was registered (imported); or typed in on the worker's page."""

    ROSTER = "roster", _("花名册的分流时间")
    ENTERPRISE = "enterprise", _("企业的分流安置方案实施日期")
    IMPORT = "import", _("登记（导入）之日")
    ENTERED = "entered", _("在职工页面填写")


# Sources that state the date for the worker: a placement before such a date is an error.
STATED_SOURCES = [DiversionSource.ROSTER, DiversionSource.ENTERED]
# Sources that fix a date the worker must not have been placed before.
BINDING_SOURCES = [*STATED_SOURCES, DiversionSource.ENTERPRISE]


class Worker(models.Model):
    """One diverted worker (分流职工), registered by real name and keyed by resident ID number."""

    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Status(models.TextChoices):
        CADRE = "cadre", _("干部")
        WORKER = "worker", _("工人")

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("所在企业"),
        on_delete=models.PROTECT,
        related_name="workers",
        db_index=False,  # the first column of placement_worker_list
    )
    # The number itself is stored only encrypted; the keyed hash serves lookup and uniqueness.
    id_number_digest = models.CharField(_("身份证号摘要"), max_length=64, editable=False)
    id_number_cipher = models.TextField(_("身份证号密文"), editable=False)
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    post = models.CharField(_("岗位（工种）"), max_length=100, blank=True)
    status = models.CharField(
        _("身份"), max_length=10, choices=Status.choices, default=Status.WORKER
    )
    special_work_type = models.BooleanField(
        _("特殊工种"), default=False, help_text=_("井下等特殊工种，满足年限可提前退休")
    )
    hire_date = models.DateField(_("参加工作时间"), null=True, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[phone_validator])
    employment_difficulty = models.BooleanField(_("就业困难人员"), default=False)
    diversion_year = models.PositiveSmallIntegerField(
        _("分流年度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2000), MaxValueValidator(2100)],
    )
    # The diversion date (分流时间): the worker counts as to be placed from this day on.
    registered_on = models.DateField(
        _("分流时间"), default=timezone.localdate, help_text=_("自此日起计入需安置人数")
    )
    registered_on_source = models.CharField(
        _("分流时间来源"),
        max_length=10,
        choices=DiversionSource.choices,
        default=DiversionSource.IMPORT,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # Derived, kept by the write path (placement.services, with every placement written or
    # deleted): the earliest date of the worker's placements that never ended. From that day on
    # the worker is placed for good, so "still waiting on a day" needs no look at the open
    # placements (WorkerQuerySet.pending_on), only at the few that ended.
    placed_open_since = models.DateField(
        _("持续安置起始日期"),
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_("最早一条未终止的安置的安置日期，由系统维护"),
    )

    objects = WorkerQuerySet.as_manager()
    # The history copies the ciphertext and the keyed hash, never the number in the clear; it
    # leaves out what is derived from the placements (their own history records them).
    history = HistoricalRecords(
        bases=[HistorySource],
        excluded_fields=["placed_open_since"],
        # Looked up by worker (id) and date, never by enterprise: an index less to fill for
        # every history row an import writes.
        no_db_index=["enterprise"],
    )

    class Meta:
        verbose_name = _("职工")
        verbose_name_plural = _("职工")
        ordering = ["enterprise_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_digest"],
                name="%(app_label)s_%(class)s_unique_id_number",
                violation_error_message=_("该公民身份号码已登记"),
            ),
            models.CheckConstraint(
                condition=models.Q(sex__in=["M", "F"]),
                name="%(app_label)s_%(class)s_sex_valid",
                violation_error_message=_("性别只能是男或女"),
            ),
            models.CheckConstraint(
                condition=models.Q(hire_date__isnull=True)
                | models.Q(hire_date__gt=models.F("birth_date")),
                name="%(app_label)s_%(class)s_hired_after_birth",
                violation_error_message=_("参加工作时间应晚于出生日期"),
            ),
        ]
        indexes = [
            models.Index(fields=["registered_on"], name="placement_worker_registered"),
            # The admin's list order: its first page is read from this index, not sorted out
            # of 2,000,000 rows (benchmarks/README.md, "National scale"). A trigram index for
            # the name search is made by the same migration, on PostgreSQL only.
            models.Index(fields=["enterprise", "name", "id"], name="placement_worker_list"),
            # The list's diversion-year filter finds its few values by probing this index.
            models.Index(fields=["diversion_year"], name="placement_worker_diversion"),
        ]
        permissions = [("view_full_id_number", _("可查看完整的公民身份号码和联系电话"))]

    def __str__(self):
        return self.name

    def clean(self):
        """A stored worker's change must leave their stored placements within the rules: a later
        diversion date, a status or work type that moves the retirement date (internal
        retirement's window), a corrected birth date. The page checks the placement rows it
        posts; these are the ones it does not (read-only rows, rows left out of the post)."""
        if self.pk is None:
            return
        # Only a change of what the rules read: a worker whose stored records the rules would
        # question as they stand (a month-only placement in the diversion date's month, stored
        # as the 1st) can still have their phone corrected.
        read = ["registered_on", "registered_on_source", "status", "special_work_type"]
        read += ["birth_date", "sex"]
        stored = Worker.objects.filter(pk=self.pk).values(*read).first()
        if stored is not None and all(stored[f] == getattr(self, f) for f in read):
            return
        binding = self.registered_on_source in BINDING_SOURCES
        placements = Placement.objects.filter(worker_id=self.pk).values_list("channel", "placed_on")
        errors: dict[str, list] = {}
        for key, error in stored_placements_refusals(
            placements,
            birth_date=self.birth_date,
            retirement_date=self.retirement_date,
            diverted_on=self.registered_on if binding else None,
            source=self.registered_on_source,
        ):
            field = "registered_on" if key == "placed_on" and binding else NON_FIELD_ERRORS
            errors.setdefault(field, []).append(error)
        if errors:
            raise ValidationError(errors)

    # The clear number is decrypted on demand and kept only for the object's lifetime.
    @cached_property
    def id_number(self) -> str:
        return idnumbers.decrypt(self.id_number_cipher) if self.id_number_cipher else ""

    @property
    def id_number_masked(self) -> str:
        return idnumbers.mask(self.id_number) if self.id_number else ""

    def set_id_number(self, parsed: idnumbers.ParsedIdNumber) -> None:
        """Store a checked ID number and the birth date and sex it carries."""
        self.id_number_digest = idnumbers.digest(parsed.number)
        self.id_number_cipher = idnumbers.encrypt(parsed.number)
        self.__dict__["id_number"] = parsed.number
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex

    @property
    def retirement_date(self) -> datetime.date | None:
        """The statutory retirement date (法定退休日期), 2025 reform included."""
        if not self.birth_date or not self.sex:
            return None
        return retirement.statutory_retirement_date(**self._retirement_facts())

    @property
    def flexible_retirement_window(self) -> retirement.Window | None:
        """When the worker may choose to retire under the 2024 decision (弹性退休), or None."""
        if not self.birth_date or not self.sex:
            return None
        return retirement.flexible_retirement_window(**self._retirement_facts())

    def _retirement_facts(self) -> dict:
        return {
            "birth_date": self.birth_date,
            "sex": self.sex,
            "cadre": self.status == self.Status.CADRE,
            "special_work_type": self.special_work_type,
        }

    def current_placement(self, on: datetime.date | None = None):
        """The latest placement in force on the day (today by default), or None."""
        day = on or timezone.localdate()
        return self.placements.current_on(day).first()


class Placement(models.Model):
    """One placement decision (安置) for one worker: a channel, a date and where they went.

    A worker may be placed more than once (a flexible job ends, then a public-welfare post); the
    latest placement in force is the current one and earlier ones stay as history.
    """

    worker = models.ForeignKey(
        Worker,
        verbose_name=_("职工"),
        on_delete=models.PROTECT,
        related_name="placements",
        db_index=False,  # the first column of placement_worker_date
    )
    # Derived, kept by the write path (placement.services): the worker's enterprise, so that the
    # lists of region staff filter, count and order a scope's placements by one index instead
    # of through every worker of the scope (6.5 s for a province's list at 2,000,000 workers).
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("所在企业"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        # Not typed in and never left empty: save() sets it, so validation need not ask for it.
        blank=True,
        db_index=False,  # the first column of placement_enterprise_date
    )
    channel = models.CharField(_("安置渠道"), max_length=30, choices=Channel.choices)
    placed_on = models.DateField(_("安置日期"))
    destination_unit = models.CharField(_("安置单位"), max_length=200, blank=True)
    destination_region = models.ForeignKey(
        Region,
        verbose_name=_("安置地区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="placements_received",
    )
    employed_elsewhere_insured_at_home = models.BooleanField(_("异地就业、属地保障"), default=False)
    note = models.TextField(_("备注"), blank=True)
    ended_on = models.DateField(
        _("终止日期"), null=True, blank=True, help_text=_("安置终止（如灵活就业结束）的日期")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("更新人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = PlacementQuerySet.as_manager()
    # The worker's history records their enterprise; the placement's leaves the copy out.
    history = HistoricalRecords(
        bases=[HistorySource],
        excluded_fields=["enterprise"],
        # Looked up by placement (id), worker and date, never by who wrote it or where to: three
        # indexes less to fill for every history row an import writes.
        no_db_index=["created_by", "updated_by", "destination_region"],
    )

    class Meta:
        verbose_name = _("安置记录")
        verbose_name_plural = _("安置记录")
        ordering = ["-placed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("placed_on")),
                name="%(app_label)s_%(class)s_ended_after_placed",
                violation_error_message=PLACEMENT_ENDED_BEFORE_START,
            ),
        ]
        indexes = [
            models.Index(fields=["worker", "placed_on"], name="placement_worker_date"),
            models.Index(fields=["enterprise", "placed_on"], name="placement_enterprise_date"),
            models.Index(fields=["placed_on"], name="placement_placed_on"),
            # Whether a worker has a placement in force (WorkerQuerySet.pending_on): the open
            # placements by worker, index-only, and the few that have an end date.
            models.Index(
                fields=["worker", "placed_on"],
                condition=models.Q(ended_on__isnull=True),
                name="placement_open_by_worker",
            ),
            models.Index(
                fields=["ended_on", "worker", "placed_on"],
                condition=models.Q(ended_on__isnull=False),
                name="placement_ended",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.placed_on}"

    def save(self, *args, **kwargs):
        # The copy of the worker's enterprise follows the worker on every save (the services'
        # bulk writes set it themselves; placement.services.worker_save moves it with a worker).
        self.enterprise_id = self.worker.enterprise_id
        super().save(*args, **kwargs)

    @property
    def category(self) -> str:
        return channel_category(self.channel)

    def clean(self):
        """Rules of one placement on its own: dates, and the internal-retirement window."""
        try:
            # On the worker's add page the worker is not saved yet but is already attached.
            worker = self.worker
        except Worker.DoesNotExist:
            worker = None
        errors = rules.placement_errors(
            channel=self.channel,
            placed_on=self.placed_on,
            birth_date=worker.birth_date if worker is not None else None,
            retirement_date=worker.retirement_date if worker is not None else None,
        )
        if worker is not None and worker.registered_on_source in BINDING_SOURCES:
            errors = (
                rules.placement_diversion_errors(
                    placed_on=self.placed_on,
                    diverted_on=worker.registered_on,
                    source_label=str(DiversionSource(worker.registered_on_source).label),
                )
                | errors
            )
        if errors:
            raise ValidationError(errors)


class AnnualTarget(models.Model):
    """How many workers a region or an enterprise must place in a year (年度目标任务)."""

    year = models.PositiveSmallIntegerField(
        _("年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("地区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targets",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("企业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targets",
    )
    workers = models.PositiveIntegerField(_("目标任务（人）"))

    objects = AnnualTargetQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistorySource])

    class Meta:
        verbose_name = _("年度目标任务")
        verbose_name_plural = _("年度目标任务")
        ordering = ["-year", "region__code", "enterprise__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(region__isnull=False, enterprise__isnull=True)
                | models.Q(region__isnull=True, enterprise__isnull=False),
                name="%(app_label)s_%(class)s_one_scope",
                violation_error_message=TARGET_NEEDS_ONE_SCOPE,
            ),
            models.CheckConstraint(
                condition=models.Q(workers__lte=TARGET_MAX),
                name="%(app_label)s_%(class)s_workers_cap",
                violation_error_message=TARGET_OUT_OF_RANGE,
            ),
            models.UniqueConstraint(
                fields=["year", "region"],
                condition=models.Q(region__isnull=False),
                name="%(app_label)s_%(class)s_unique_region_year",
                violation_error_message=_("该地区本年度的目标任务已存在"),
            ),
            models.UniqueConstraint(
                fields=["year", "enterprise"],
                condition=models.Q(enterprise__isnull=False),
                name="%(app_label)s_%(class)s_unique_enterprise_year",
                violation_error_message=_("该企业本年度的目标任务已存在"),
            ),
        ]

    def __str__(self):
        return f"{self.year} {self.region or self.enterprise}: {self.workers}"

    def clean(self):
        """The cap, as an error on the number itself (the constraint backs it in the database)."""
        if self.workers is not None and self.workers > TARGET_MAX:
            raise ValidationError({"workers": TARGET_OUT_OF_RANGE})


class AccessLog(models.Model):
    """One look at personal data, or one answer that could tell something about a person: a
    reveal of a worker's full ID number and phone, an export of workers, a search by full ID
    number, a duplicate found outside the user's scope, and a refused query-string probe (who,
    when, what, how many rows, from where)."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("查看完整号码")
        EXPORT = "export", _("导出")
        FIND = "find", _("按号码查找")
        DUPLICATE = "duplicate", _("范围外重复登记")
        PROBE = "probe", _("被拒绝的筛选")
        LIMITED = "limited", _("超过频率限制")
        CHECK = "check", _("登记表核对号码")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    # Kept beside the foreign key so that the row still names the user after the account is gone.
    username = models.CharField(_("用户名"), max_length=150)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    target = models.CharField(
        _("对象"), max_length=200, help_text=_("如 placement.worker:42，或导出的名称")
    )
    rows = models.PositiveIntegerField(_("行数"), default=1)
    full_numbers = models.BooleanField(_("含完整号码"), default=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    address = models.GenericIPAddressField(_("地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")
        ordering = ["-at", "-id"]
        # The per-minute limit counts one user's recent rows on every search and reveal.
        indexes = [models.Index(fields=["user", "at"], name="placement_accesslog_user_at")]

    def __str__(self):
        return f"{self.username} {self.get_action_display()} {self.target}"


class FormSubmission(models.Model):
    """One submitted admin form of a worker or a placement, by the one-time token the page was
    given: the same page posted twice (a double click, a resent request) is saved once, and
    the second answer points to what the first saved."""

    token = models.UUIDField(_("表单令牌"), unique=True)
    model = models.CharField(_("对象类型"), max_length=100)
    # Set when the form's object is saved; a form refused by validation leaves no row.
    object_id = models.PositiveBigIntegerField(_("对象"), null=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("已提交的表单")
        verbose_name_plural = _("已提交的表单")

    def __str__(self):
        return f"{self.model}:{self.object_id}"
