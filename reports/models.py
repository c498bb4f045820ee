"""A derived index of the ledger for fast reports (rebuilt from workers and placements; never
edited by hand and never a source of truth).

Counting placements in force at an arbitrary date means joining every placement to its worker
(for the enterprise and the registration date): at 500,000 workers that join alone takes about
0.3 s on PostgreSQL here (benchmarks/README.md). A fact row carries the enterprise and the dates
already resolved, so a report reads one narrow covering index without a join (and without the
wide worker rows, with their encrypted ID numbers) and stays exact for any as-of date.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise
from placement.channels import Channel
from placement.models import Worker


class PlacementFact(models.Model):
    """One fact about one worker: their registration, a span during which a placement is their
    current one, or the date of their first placement in a calendar year."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("登记")
        CURRENT = "current", _("当前安置区间")
        FIRST_IN_YEAR = "first_in_year", _("年内首次安置")

    # No constraint in the database (db_constraint=False): the facts are derived data, written
    # hundreds of thousands at a time by the same transaction that writes their workers, and
    # PostgreSQL checked each fact's two keys at COMMIT (2.9 s of a 100,000-row first import's
    # 26 s on a quiet machine; minutes for the national seed's 5.8 million facts). Deleting a
    # worker or an enterprise through Django still deletes their facts (on_delete runs in
    # Django, tested); a raw-SQL delete is repaired by `manage.py refresh_report_facts`.
    worker = models.ForeignKey(
        Worker,
        verbose_name=_("职工"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("企业"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        # Every report reads the facts of one kind, through that kind's partial indexes below
        # (enterprise first where a scope is given): a plain enterprise index served no query and
        # was filled for each of a first import's 260,000 facts. Only deleting an enterprise
        # (one without workers: they protect it) looks facts up by enterprise alone.
        db_index=False,
    )
    kind = models.CharField(_("类型"), max_length=15, choices=Kind.choices)
    channel = models.CharField(_("安置渠道"), max_length=30, choices=Channel.choices, blank=True)
    # REGISTERED: `start` is the registration date. CURRENT: the worker's current placement from
    # `start` up to the day before `end` (open if null), never before registration.
    # FIRST_IN_YEAR: `start` is the worker's first placement date in that year.
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("截止日期（不含）"), null=True, blank=True)

    class Meta:
        verbose_name = _("安置统计事实")
        verbose_name_plural = _("安置统计事实")
        indexes = [
            # One partial covering index per kind: each report query is an index-only range
            # scan on `start` over the facts of its kind, never a scan of the whole table.
            models.Index(
                fields=["start", "enterprise"],
                condition=models.Q(kind="registered"),
                name="reports_fact_registered",
            ),
            models.Index(
                fields=["start", "end", "enterprise", "channel"],
                condition=models.Q(kind="current"),
                name="reports_fact_current",
            ),
            models.Index(
                fields=["start", "enterprise"],
                condition=models.Q(kind="first_in_year"),
                name="reports_fact_first_in_year",
            ),
            # The same, enterprise first, for a scope's few hundred enterprises out of 3,000: an
            # index-only range scan per enterprise instead of every fact of the country (a
            # province's dashboard at 2,000,000 workers fetched every fact of its enterprises
            # through the plain enterprise index, heap included: 1.7 s; benchmarks/README.md).
            models.Index(
                fields=["enterprise", "start"],
                condition=models.Q(kind="registered"),
                name="reports_fact_ent_registered",
            ),
            models.Index(
                fields=["enterprise", "start", "end", "channel"],
                condition=models.Q(kind="current"),
                name="reports_fact_ent_current",
            ),
            models.Index(
                fields=["enterprise", "start"],
                condition=models.Q(kind="first_in_year"),
                name="reports_fact_ent_first_in_year",
            ),
            # The spans that ended, by their end: a report's current month subtracts those that
            # ended in it up to the as-of date (FactMonth). Few spans end, and a new worker's
            # open span is not in this index, so an import writes nothing to it.
            models.Index(
                fields=["end", "enterprise", "channel"],
                condition=models.Q(kind="current", end__isnull=False),
                name="reports_fact_current_end",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start}–{self.end or ''}"


class FactMonth(models.Model):
    """The facts summed per enterprise, kind, channel and calendar month: what a national report
    reads instead of every fact of the country (reports.selectors.enterprise_figures).

    `net` is what the month adds to a count: +1 per registration, per first placement of a year
    and per current span starting in the month, -1 per current span ending in it (its `end`, the
    first day no longer in force). So a count at a date is the sum of the months before that
    date's month plus the facts of its own month up to the date, read from the facts' indexes.
    A national dashboard at 2,000,000 workers read 5.8 million facts (650–870 ms computed)
    where it now sums a few hundred thousand of these rows (benchmarks/README.md).

    Append-only for the writes: the write path (reports.facts) inserts what each write changes
    in the writing transaction, never updates a row, so two officers' writes to one enterprise
    never wait for each other (or deadlock) over a shared sum. A key may then have several
    rows, which a report sums; `fact_months_compact` (a job after writes) merges them."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("企业"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,  # derived data, as the facts' keys
        db_index=False,  # the first column of reports_factmonth_key
    )
    kind = models.CharField(_("类型"), max_length=15, choices=PlacementFact.Kind.choices)
    channel = models.CharField(_("安置渠道"), max_length=30, choices=Channel.choices, blank=True)
    month = models.DateField(_("月份"))  # its first day
    net = models.IntegerField(_("净变化"))
    # False for a row a write appended, True for one that compaction or a rebuild wrote: the
    # enterprises compaction has to look at are those with an appended row (a partial index of
    # them), not found by grouping the whole table (0.36–0.5 s at 2,000,000 workers).
    merged = models.BooleanField(_("已合并"), default=False)

    class Meta:
        verbose_name = _("安置统计月度汇总")
        verbose_name_plural = _("安置统计月度汇总")
        indexes = [
            models.Index(
                fields=["enterprise", "kind", "channel", "month"], name="reports_factmonth_key"
            ),
            models.Index(
                fields=["enterprise"],
                condition=models.Q(merged=False),
                name="reports_factmonth_appended",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.month:%Y-%m} {self.net:+d}"


# Monthly returns live in their own module; imported here so that Django registers the models.
from .returns.models import MonthlyReturn, ReturnEvent, ReturnLine, ReturnMember  # noqa: E402, F401
