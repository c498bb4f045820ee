"""Every figure the reports show, computed here and only here (DOMAIN.md "Rates").

Pages, exports and the `placement_report` command all call `placement_report()`. Counting is done
in the database, one GROUP BY per figure over the enterprises of the scope; those per-enterprise
integer counts are then summed into the children shown (cities, counties, member enterprises) and
the scope's own line. Summing counts over a partition is exact (a worker belongs to one
enterprise); rates are computed afterwards from the summed counts, never averaged. So the number of
queries is fixed whatever the number of regions, enterprises or workers.

Placed workers, channels and placements during the year are read from reports.PlacementFact, a
derived index kept in step with the ledger by reports.facts (see there and benchmarks/README.md
for why: joining every placement to its worker is too slow at 500,000 workers), and from its
monthly sums (reports.FactMonth, kept by the same writes): the months before the as-of date's
month from the sums, that month up to the date from the facts. The facts encode exactly the
definitions below, for any as-of date.

Definitions, for a scope, a year Y and an as-of date D:
- to place (需安置): workers registered on or before D.
- placed (已安置): of those, workers with a placement dated on or before D still in force at D
  (not ended, or ended after D).
- placed during Y (年内安置): distinct workers with a placement dated between 1 January of Y and
  the earlier of D and 31 December of Y. This is a count of placements achieved during the year
  (a flow, as the annual task counts them): a placement that has since ended still counts, and a
  worker placed twice in Y counts once. The stock of workers placed now is the placement rate's
  job. Either reading gives the article's 9,840 of 21,299 = 46.2%; this one is what "placed
  during the year" says and does not change a past month's completion when a job ends later.
- channel of a placed worker: the channel of their latest placement in force at D (latest
  placed_on, then latest id), so each placed worker has exactly one channel and
  kept + internal retirement + ended = placed.
- target: the AnnualTarget row of the scope itself (a region, or an enterprise/group); a city's
  or the province's target is its own row, never the sum of its children's.
"""

import calendar
import datetime
import functools
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.actors import is_system
from enterprises.models import Enterprise, Region
from enterprises.querysets import sees_everything, user_scope
from placement.channels import CHANNEL_OUTCOMES, Category, Channel, LabourRelation
from placement.models import AnnualTarget, Placement, Worker

from . import rates
from .models import FactMonth, PlacementFact

SCOPE_LEVEL_BUCKET = {
    Region.Level.PROVINCE: _("省本级"),
    Region.Level.CITY: _("市本级"),
}
STRAGGLER_COUNT = 10


NATIONAL_NAME = _("全国")


@dataclass(frozen=True)
class Scope:
    """What a report covers: a region's subtree, an enterprise (a group with its members), or
    the whole country (`national`: every province, for those who see everything)."""

    region: Region | None = None
    enterprise: Enterprise | None = None
    national: bool = False

    def __post_init__(self):
        if (self.region is not None) + (self.enterprise is not None) + self.national != 1:
            raise ValueError("A scope is a region, an enterprise or the nation: exactly one")

    @property
    def name(self) -> str:
        return str(NATIONAL_NAME) if self.national else str(self.region or self.enterprise)

    @property
    def key(self) -> str:
        """What tells scopes apart in a cache key or a file name."""
        if self.national:
            return "national"
        return self.region.code if self.region else f"enterprise-{self.enterprise.pk}"

    def enterprises(self):
        """The enterprises whose workers the scope counts."""
        if self.national:
            return Enterprise.objects.all()
        if self.region is not None:
            return Enterprise.objects.in_region(self.region)
        return Enterprise.objects.in_group(self.enterprise)


@dataclass
class Figures:
    """The counts of one line of a report (the scope, a child, an enterprise) and its rates."""

    key: str
    name: str
    kind: str = ""  # "region", "enterprise" or "" (a line that cannot be drilled into)
    to_place: int = 0
    placed: int = 0
    placed_in_year: int = 0
    target: int | None = None
    channels: dict[str, int] = field(default_factory=dict)
    months: list[int] = field(default_factory=list)  # placed during the year by each month's end

    def add(self, other: "Figures") -> None:
        self.to_place += other.to_place
        self.placed += other.placed
        self.placed_in_year += other.placed_in_year
        if len(self.months) < len(other.months):
            self.months += [0] * (len(other.months) - len(self.months))
        for i, count in enumerate(other.months):
            self.months[i] += count
        for channel, count in other.channels.items():
            self.channels[channel] = self.channels.get(channel, 0) + count

    @property
    def pending(self) -> int:
        return self.to_place - self.placed

    @property
    def placement_rate(self) -> Decimal | None:
        return rates.placement_rate(placed=self.placed, to_place=self.to_place)

    @property
    def target_completion(self) -> Decimal | None:
        return rates.target_completion(placed_in_year=self.placed_in_year, target=self.target)

    def channel_rows(self) -> list["ShareRow"]:
        """Placed per channel, with shares of this line's placed."""
        return _share_rows(self.channels, Channel.choices, self.placed)

    def category_rows(self) -> list["ShareRow"]:
        """Placed per official category (四个一批), with shares."""
        return _share_rows(_by_outcome(self.channels, 0), Category.choices, self.placed)

    def relation_rows(self) -> list["ShareRow"]:
        """Placed per labour-relation outcome (kept, internal retirement, ended), with shares."""
        return _share_rows(_by_outcome(self.channels, 1), LabourRelation.choices, self.placed)


@dataclass(frozen=True)
class ShareRow:
    """A channel, an official category or a labour-relation outcome, with its count and share."""

    code: str
    name: str
    placed: int
    share: Decimal | None


@dataclass(frozen=True)
class MonthPoint:
    """Cumulative workers placed during the year by the end of a month (or the as-of date)."""

    month: int
    day: datetime.date
    cumulative: int
    elapsed_target: Decimal | None  # the target times the elapsed share at that day


@dataclass
class Report:
    """One report: the scope's figures, its children's, channels, months and stragglers."""

    scope: Scope
    year: int
    as_of: datetime.date
    industry: str | None
    totals: Figures
    elapsed_share: Decimal
    children: list[Figures]
    children_are_enterprises: bool
    channels: list[ShareRow]
    categories: list[ShareRow]
    relations: list[ShareRow]
    months: list[MonthPoint]
    stragglers: list[Figures]


def _year_window(year: int, as_of: datetime.date) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), min(as_of, datetime.date(year, 12, 31))


def _current_placements(as_of: datetime.date):
    """The current placements at the as-of date of workers registered by then, straight from
    the ledger (the worker list of one enterprise; the dashboards read the facts)."""
    return Placement.objects.current_on(as_of).filter(worker__registered_on__lte=as_of)


def _month_ends(year: int, as_of: datetime.date) -> list[datetime.date]:
    """The last day of each month of the year up to the as-of date (that date for its month)."""
    start, end = _year_window(year, as_of)
    days = []
    for month in range(1, end.month + 1 if end >= start else 1):
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        days.append(min(following - datetime.timedelta(days=1), end))
    return days


def report_fact_sets(*, enterprises, year: int, as_of: datetime.date) -> dict:
    """The facts behind each count of a report, one per worker: "to_place" (registration
    facts), "placed" (current spans in force at the as-of date, with the channel) and
    "placed_in_year" (first placements between 1 January and the as-of date). The counts of
    `enterprise_figures` and the workers a monthly return keeps are read from these, so both
    follow the definitions above."""
    start, end = _year_window(year, as_of)
    facts = PlacementFact.objects.all()
    if enterprises is not None:  # None: every enterprise (the nation), no condition at all
        facts = facts.filter(enterprise__in=enterprises)
    return {
        "to_place": facts.filter(kind=PlacementFact.Kind.REGISTERED, start__lte=as_of),
        # The facts' current spans (one per worker at any date, already limited to registered
        # workers), read without joining placements to workers.
        "placed": facts.filter(kind=PlacementFact.Kind.CURRENT, start__lte=as_of).filter(
            Q(end__isnull=True) | Q(end__gt=as_of)
        ),
        # One first-in-year fact per worker and year: counting rows counts workers, so a
        # worker placed twice in the year counts once, in the month of the first placement.
        "placed_in_year": facts.filter(
            kind=PlacementFact.Kind.FIRST_IN_YEAR, start__gte=start, start__lte=end
        ),
    }


REGISTERED = PlacementFact.Kind.REGISTERED
CURRENT = PlacementFact.Kind.CURRENT
FIRST_IN_YEAR = PlacementFact.Kind.FIRST_IN_YEAR


def _month_split(day: datetime.date) -> tuple[datetime.date, bool]:
    """The first day of `day`'s month, and whether `day` is that month's last: then the monthly
    sums (FactMonth) count its month whole; otherwise they stop before it and the facts from its
    first day to `day` are counted one by one. (No date after `day` is formed: 9999-12-31 is a
    valid as-of date.)"""
    return day.replace(day=1), day.day == calendar.monthrange(day.year, day.month)[1]


def enterprise_figures(*, enterprises, year: int, as_of: datetime.date) -> dict[int, dict]:
    """Counts per enterprise id: to_place, placed, placed per channel, and workers placed during
    the year by each month's end (the last of which is placed_in_year).

    Each count is the monthly sums (reports.models.FactMonth) of the months before the as-of
    date's month plus the facts of that month up to the date (report_fact_sets' definitions):
    a national report sums a few hundred thousand monthly rows and reads a month of facts
    rather than all 5.8 million facts at 2,000,000 workers (benchmarks/README.md). Two GROUP BY
    queries of the sums, and four of the facts unless the date is the last of its month,
    whatever the number of enterprises or workers.
    """
    month_ends = _month_ends(year, as_of)
    counts: dict[int, dict] = defaultdict(
        lambda: {
            "to_place": 0,
            "placed": 0,
            "placed_in_year": 0,
            "channels": defaultdict(int),
            "months": [0] * len(month_ends),
        }
    )
    sums, facts = FactMonth.objects.all(), PlacementFact.objects.all()
    if enterprises is not None:  # None: every enterprise (the nation), no condition at all
        sums = sums.filter(enterprise__in=enterprises)
        facts = facts.filter(enterprise__in=enterprises)

    # Registered and placed at the as-of date: the months before its own (with it, when the
    # date is its last day).
    cut, whole = _month_split(as_of)
    before = {"month__lte" if whole else "month__lt": cut}
    for row in (
        sums.filter(kind__in=[REGISTERED, CURRENT], **before)
        .values("enterprise_id", "kind", "channel")
        .annotate(n=Sum("net"))
        .order_by()
    ):
        line = counts[row["enterprise_id"]]
        if row["kind"] == REGISTERED:
            line["to_place"] += row["n"]
        else:
            line["channels"][row["channel"]] += row["n"]
    if not whole:
        # Its own month up to the date: registrations and spans begun, minus spans ended (the
        # span's end is the first day no longer in force). COUNT(*) or of `start`, never
        # COUNT(id): the facts' partial indexes hold no id.
        month = {"start__gte": cut, "start__lte": as_of}
        for row in (
            facts.filter(kind=REGISTERED, **month)
            .values("enterprise_id")
            .annotate(n=Count("*"))
            .order_by()
        ):
            counts[row["enterprise_id"]]["to_place"] += row["n"]
        channels = {f"c{i}": code for i, code in enumerate(Channel.values)}
        per_channel = {
            name: Count("start", filter=Q(channel=code)) for name, code in channels.items()
        }
        for sign, span_facts in (
            (1, facts.filter(kind=CURRENT, **month)),
            (-1, facts.filter(kind=CURRENT, end__gte=cut, end__lte=as_of)),
        ):
            for row in span_facts.values("enterprise_id").annotate(**per_channel).order_by():
                line = counts[row["enterprise_id"]]
                for name, code in channels.items():
                    line["channels"][code] += sign * row[name]
    for line in counts.values():
        line["channels"] = {code: n for code, n in line["channels"].items() if n}
        line["placed"] = sum(line["channels"].values())

    # Placed during the year, by month: one first-placement fact per worker and year, so
    # counting them counts workers placed (twice in the year: once, in the first month).
    if month_ends:
        first, last = _year_window(year, as_of)
        year_cut, whole = _month_split(last)
        before = {"month__lte" if whole else "month__lt": year_cut}
        during: dict[int, list[int]] = defaultdict(lambda: [0] * len(month_ends))
        for row in (
            sums.filter(kind=FIRST_IN_YEAR, month__gte=first, **before)
            .values("enterprise_id", "month")
            .annotate(n=Sum("net"))
            .order_by()
        ):
            during[row["enterprise_id"]][row["month"].month - 1] += row["n"]
        if not whole:
            for row in (
                facts.filter(kind=FIRST_IN_YEAR, start__gte=year_cut, start__lte=last)
                .values("enterprise_id")
                .annotate(n=Count("*"))
                .order_by()
            ):
                during[row["enterprise_id"]][last.month - 1] += row["n"]
        for enterprise_id, per_month in during.items():
            line = counts[enterprise_id]
            line["months"] = list(itertools.accumulate(per_month))
            line["placed_in_year"] = line["months"][-1]
    return counts


def _month_points(
    *, year: int, as_of: datetime.date, cumulative: list[int], target: int | None
) -> list[MonthPoint]:
    points = []
    for i, day in enumerate(_month_ends(year, as_of)):
        elapsed = None
        if target:
            elapsed = (
                Decimal(target) * rates.days_passed(year=year, as_of=day) / rates.days_in_year(year)
            )
        points.append(MonthPoint(i + 1, day, cumulative[i], elapsed))
    return points


def _share_rows(counts: dict[str, int], choices, total: int) -> list[ShareRow]:
    return [
        ShareRow(
            code=code,
            name=str(label),
            placed=counts.get(code, 0),
            share=rates.share(part=counts.get(code, 0), whole=total),
        )
        for code, label in choices
    ]


def _by_outcome(channels: dict[str, int], position: int) -> dict[str, int]:
    grouped: dict[str, int] = defaultdict(int)
    for channel, count in channels.items():
        grouped[CHANNEL_OUTCOMES[channel][position]] += count
    return grouped


def sees_whole_scope(scope: Scope, user) -> bool:
    """Whether every enterprise of the scope is visible to the user, known without a query: the
    server's own actors and administrators see all, region staff every region below theirs, an
    HR officer their enterprise (with its members) and a member of their group. Then
    the report needs no visibility condition, which would nest a second region subquery inside
    the first: PostgreSQL then expected 5 of a province's 268 enterprises and counted their facts
    row by row (1.7 s instead of 0.2 s at 2,000,000 workers)."""
    if is_system(user) or sees_everything(user):
        return True
    own = user_scope(user)
    if own is None:
        return False
    if scope.enterprise is not None:
        # An HR officer sees their enterprise with its members (a group's officer also each
        # member's); a region's staff may not see every member of a group.
        return own.enterprise_id is not None and own.enterprise_id in {
            scope.enterprise.pk,
            scope.enterprise.parent_id,
        }
    if scope.region is None:
        return False
    return bool(own.region_id and scope.region.code.startswith(own.region.code_prefix))


def _one_snapshot(report):
    """On PostgreSQL, outside a transaction, the report's queries read one snapshot (a
    read-only REPEATABLE READ transaction): each of a count's parts (the monthly sums, then the
    facts of the as-of month) is a query of its own, and a write committing between two of them
    would otherwise be counted by one and not the other (a worker whose diversion date moved
    from May to June counted in both months). Inside a transaction the caller's isolation
    holds."""

    @functools.wraps(report)
    def in_one_snapshot(**kwargs):
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return report(**kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return report(**kwargs)

    return in_one_snapshot


@_one_snapshot
def placement_report(
    *,
    scope: Scope,
    year: int,
    as_of: datetime.date,
    industry: str | None = None,
    user,
) -> Report:
    """Every figure of one report: the scope's line, each child's line, channels and months
    (from one snapshot: `_one_snapshot`)."""
    # The facts are kept by the write path (placement.services), in the writing transaction:
    # a report only reads them, and takes no lock.
    enterprises = scope.enterprises()
    restricted = not sees_whole_scope(scope, user)
    in_scope = enterprises.count() if industry or restricted else None
    if industry:
        enterprises = enterprises.filter(industry=industry)
    if restricted:
        enterprises = enterprises.filter(pk__in=Enterprise.objects.visible_to(user).values("pk"))
    # Part of the scope left out (another industry, or a group's members outside the user's
    # scope): targets are set for whole regions and enterprises, not for a part of them, so
    # the scope's target (and, under an industry filter, every region's) shows "—".
    partial = in_scope is not None and enterprises.count() != in_scope
    rows = list(
        enterprises.order_by("name", "pk").values(
            "pk", "name", "parent_id", region_code=F("region__code")
        )
    )
    # The whole country: every fact counts, so no condition on the enterprises. The semi-join
    # of every fact with every enterprise roughly doubled each count at 2,000,000 workers
    # (benchmarks/README.md, "National dashboard computed").
    everything = scope.national and not industry and not restricted
    counts = enterprise_figures(
        enterprises=None if everything else enterprises, year=year, as_of=as_of
    )

    # Children and the key that puts each enterprise under one of them.
    region = scope.region
    children: dict[str, Figures] = {}
    children_are_enterprises = not scope.national and (
        region is None or region.level == Region.Level.COUNTY
    )
    if scope.national:
        for child in Region.objects.filter(level=Region.Level.PROVINCE).order_by("code"):
            children[child.code] = Figures(key=child.code, name=child.name, kind="region")

        def child_key(row):
            return row["region_code"][:2] + "0000"
    elif region is not None and region.level != Region.Level.COUNTY:
        for child in Region.objects.filter(parent=region).order_by("code"):
            children[child.code] = Figures(key=child.code, name=child.name, kind="region")
        prefix = 4 if region.level == Region.Level.PROVINCE else 6

        def child_key(row):
            key = row["region_code"][:prefix].ljust(6, "0")
            if key not in children:
                # An enterprise registered at the scope's own level (e.g. a group at city level).
                children[key] = Figures(key=key, name=str(SCOPE_LEVEL_BUCKET[region.level]))
            return key
    else:

        def child_key(row):
            return str(row["pk"])

    per_enterprise: dict[str, Figures] = {}
    for row in rows:
        line = counts.get(row["pk"], {})
        figures = Figures(
            key=str(row["pk"]),
            name=row["name"],
            kind="enterprise",
            to_place=line.get("to_place", 0),
            placed=line.get("placed", 0),
            placed_in_year=line.get("placed_in_year", 0),
            channels=dict(line.get("channels", {})),
            months=list(line.get("months", [])),
        )
        per_enterprise[figures.key] = figures
        if children_are_enterprises:
            group_itself = scope.enterprise is not None and row["pk"] == scope.enterprise.pk
            own = figures.to_place or figures.placed or figures.placed_in_year
            if group_itself and not own and len(rows) > 1:
                # A group's head office without figures of its own is not a line (one counting
                # only a placement of the year is: the group's sum needs it).
                continue
            children[figures.key] = Figures(key=figures.key, name=figures.name, kind="enterprise")
        children[child_key(row)].add(figures)

    # Targets: the scope's own row, each child region's and each enterprise's, in one query.
    target_filter = Q(enterprise__in=enterprises)
    if region is not None:
        target_filter |= Q(region=region) | Q(region__parent=region)
    elif scope.national:
        # The provinces' own rows. There is no national target row: the nation's target is
        # left blank ("—"), never the sum of the provinces' (the rule for every scope).
        target_filter |= Q(region__level=Region.Level.PROVINCE)
    target_rows = AnnualTarget.objects.filter(target_filter, year=year).values_list(
        "region__code", "enterprise_id", "workers"
    )
    region_targets, enterprise_targets = {}, {}
    for code, enterprise_id, workers in target_rows:
        if code:
            region_targets[code] = workers
        else:
            enterprise_targets[str(enterprise_id)] = workers
    if industry and partial:
        region_targets = {}
    # A group's target is the whole group's: its own line, beside its members' (the head
    # office's workers only), is not measured against it.
    groups_listed = {str(row["parent_id"]) for row in rows if row["parent_id"]}
    for figures in per_enterprise.values():
        if figures.key not in groups_listed:
            figures.target = enterprise_targets.get(figures.key)
    for child in children.values():
        if child.kind == "region":
            child.target = region_targets.get(child.key)
        elif child.key not in groups_listed:
            child.target = enterprise_targets.get(child.key)

    if scope.national:
        totals = Figures(key="national", name=scope.name)
    else:
        totals = Figures(
            key=region.code if region else str(scope.enterprise.pk),
            name=scope.name,
            kind="region" if region else "enterprise",
        )
    for child in children.values():
        totals.add(child)
    if scope.national:
        totals.target = None
    else:
        totals.target = (
            region_targets.get(region.code) if region else enterprise_targets.get(totals.key)
        )
    if partial:
        totals.target = None

    stragglers = sorted(
        (f for f in per_enterprise.values() if f.pending > 0),
        key=lambda f: (f.placement_rate, -f.pending, f.name),
    )[:STRAGGLER_COUNT]

    return Report(
        scope=scope,
        year=year,
        as_of=as_of,
        industry=industry,
        totals=totals,
        elapsed_share=rates.elapsed_share(year=year, as_of=as_of),
        children=list(children.values()),
        children_are_enterprises=children_are_enterprises,
        channels=totals.channel_rows(),
        categories=totals.category_rows(),
        relations=totals.relation_rows(),
        months=_month_points(
            year=year,
            as_of=as_of,
            cumulative=totals.months or [0] * len(_month_ends(year, as_of)),
            target=totals.target,
        ),
        stragglers=stragglers,
    )


def report_as_of(*, year: int, today: datetime.date | None = None) -> datetime.date:
    """The as-of date a report of `year` takes when none is given, the same for the pages, the
    exports and the command: 31 December for a past year, today for the current year.

    A future year (a target set in advance) is also read as of today: the workers waiting now,
    none placed in that year yet, and no elapsed time."""
    today = today or timezone.localdate()
    return min(today, datetime.date(year, 12, 31))


def report_default_year(*, today: datetime.date) -> int:
    """The latest year up to today that has a target (so a dashboard opens on a year with a
    task), or this year when there is none."""
    latest = (
        AnnualTarget.objects.filter(year__lte=today.year)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    return latest or today.year


def worker_list(*, enterprise: Enterprise, as_of: datetime.date, status: str = "", user):
    """The enterprise's workers registered by the as-of date, with their current channel and
    placement date at that date; `status` is "pending", "placed" or a channel code."""
    current = _current_placements(as_of).filter(worker=OuterRef("pk"))
    workers = Worker.objects.filter(enterprise=enterprise, registered_on__lte=as_of).visible_to(
        user
    )
    workers = workers.annotate(
        current_channel=Subquery(current.values("channel")[:1]),
        current_placed_on=Subquery(current.values("placed_on")[:1]),
    )
    if status == "pending":
        workers = workers.pending_on(as_of)
    elif status == "placed":
        workers = workers.placed_on(as_of)
    elif status in Channel.values:
        workers = workers.filter(current_channel=status)
    return workers.order_by("name", "pk")
