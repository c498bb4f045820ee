"""Reads about monthly returns: the workers behind the counts, the regions that report to a
region, drill-down, published against live figures, and deadlines. Counting rules are those of
reports.selectors (`report_fact_sets`, `placement_report`); rates come from reports.rates
through `Figures`."""

import calendar
import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises.models import Enterprise, Region
from placement.channels import Channel
from placement.models import Placement, Worker

from ..selectors import Figures, Scope, placement_report, report_fact_sets
from .models import MonthlyReturn, ReturnEvent, ReturnLine, ReturnMember

Status = MonthlyReturn.Status
FIGURES = ("to_place", "placed", "placed_in_year")
CHANGED_WORKERS_SHOWN = 200
# The fields of the audit history that move a worker between the counts, shown old → new.
WORKER_FIELDS = ["registered_on", "enterprise"]
PLACEMENT_FIELDS = ["channel", "placed_on", "ended_on"]
OUTSIDE_ENTERPRISE = _("（您管辖范围以外的企业）")
NO_EARLIER_HISTORY = _("（此前无修改历史）")


def period_as_of(period: datetime.date) -> datetime.date:
    """The last day of the month reported."""
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def parse_period(text: str) -> datetime.date | None:
    """ "2017-06" → 2017-06-01; None when it is not a month."""
    year, _sep, month = (text or "").strip().partition("-")
    if not (year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
        return None
    if not 2000 <= int(year) <= 2100:  # the ledger's years (targets, reports)
        return None
    return datetime.date(int(year), int(month), 1)


def return_members(
    *, enterprises, year: int, as_of: datetime.date, worker_ids=None
) -> dict[int, dict]:
    """The workers behind the counts of the enterprises as of a date, by worker id: their
    enterprise, whether they are in to_place, placed (with the channel) and placed_in_year."""
    sets = report_fact_sets(enterprises=enterprises, year=year, as_of=as_of)
    rows: dict[int, dict] = {}

    def row(worker_id, enterprise_id):
        return rows.setdefault(
            worker_id,
            {
                "enterprise_id": enterprise_id,
                "to_place": False,
                "placed": False,
                "channel": "",
                "placed_in_year": False,
            },
        )

    for name in FIGURES:
        facts = sets[name]
        if worker_ids is not None:
            facts = facts.filter(worker_id__in=worker_ids)
        for worker_id, enterprise_id, channel in facts.values_list(
            "worker_id", "enterprise_id", "channel"
        ).order_by():
            line = row(worker_id, enterprise_id)
            line[name] = True
            if name == "placed":
                line["channel"] = channel
    return rows


def member_totals(rows) -> tuple[int, int, int]:
    """(to_place, placed, placed_in_year) counted over member rows (dicts or ReturnMembers)."""
    get = (lambda r, n: r[n]) if not rows or isinstance(next(iter(rows)), dict) else getattr
    rows = list(rows)
    return tuple(sum(1 for r in rows if get(r, name)) for name in FIGURES)


def return_regions_due(*, region: Region, period: datetime.date | None = None):
    """The regions directly below `region` that must report to it: those with enterprises, and
    for a month those that have a return of it (an enterprise moved away after that return was
    approved leaves its county without enterprises, but the return still counts its workers and
    is summed, never dropped)."""
    codes = set(Enterprise.objects.in_region(region).values_list("region__code", flat=True))
    children = Region.objects.filter(parent=region).order_by("code")
    reported = set()
    if period is not None:
        reported = set(
            MonthlyReturn.objects.filter(region__parent=region, period=period).values_list(
                "region_id", flat=True
            )
        )
    return [
        c
        for c in children
        if c.pk in reported or any(code.startswith(c.code_prefix) for code in codes)
    ]


def return_figures(obj) -> Figures:
    """A return or a line as report `Figures` (its rates from reports.rates)."""
    return Figures(
        key=getattr(obj, "key", "") or (obj.region.code if hasattr(obj, "region") else ""),
        name=getattr(obj, "name", "") or str(getattr(obj, "region", "")),
        to_place=obj.to_place,
        placed=obj.placed,
        placed_in_year=obj.placed_in_year,
        target=obj.target,
        channels=dict(obj.channels),
    )


def return_tree(monthly_return: MonthlyReturn) -> list[int]:
    """The return and every return it consolidates, down to the counties (ids)."""
    ids, level = [monthly_return.pk], [monthly_return.pk]
    while level:
        level = list(
            ReturnLine.objects.filter(monthly_return__in=level, source__isnull=False).values_list(
                "source_id", flat=True
            )
        )
        ids += level
    return ids


DRILL_FIGURES = {
    "to_place": Q(to_place=True),
    "placed": Q(placed=True),
    "pending": Q(to_place=True, placed=False),
    "placed_in_year": Q(placed_in_year=True),
}


def return_drill_down(*, monthly_return: MonthlyReturn, figure: str, line: ReturnLine | None):
    """The workers behind one frozen figure (a count, or a channel) of the return or of one of
    its lines, as they stood on the as-of date."""
    if line is not None and line.source_id is not None:
        members = ReturnMember.objects.filter(monthly_return__in=return_tree(line.source))
    elif line is not None and line.kind == "enterprise":
        members = ReturnMember.objects.filter(
            monthly_return=monthly_return, enterprise_id=int(line.key)
        )
    elif line is not None:  # the enterprises directly under the region
        members = ReturnMember.objects.filter(monthly_return=monthly_return)
    else:
        members = ReturnMember.objects.filter(monthly_return__in=return_tree(monthly_return))
    if figure in DRILL_FIGURES:
        members = members.filter(DRILL_FIGURES[figure])
    elif figure in Channel.values:
        members = members.filter(placed=True, channel=figure)
    else:
        members = members.none()
    return members.select_related("worker", "enterprise").order_by(
        "enterprise__name", "worker__name", "worker_id"
    )


def published_return(*, region: Region, period: datetime.date) -> MonthlyReturn | None:
    """The return of record for the region and month: the approved one, else the latest
    approved one that an administrator has since reopened (still what was reported)."""
    returns = MonthlyReturn.objects.filter(region=region, period=period.replace(day=1))
    approved = returns.filter(status=Status.APPROVED).first()
    if approved is not None:
        return approved
    return returns.filter(status=Status.REOPENED).order_by("-revision").first()


@dataclass
class Difference:
    """One figure, frozen against live."""

    label: str
    published: object
    live: object
    delta: object


@dataclass
class Change:
    """One change of a worker's record after approval, from the audit history."""

    at: datetime.datetime
    username: str
    source: str
    what: str  # "职工" or "安置记录"
    kind: str  # created, changed, deleted
    fields: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class ChangedWorker:
    """A worker whose record changed after approval: counts then and now, and the changes."""

    worker_id: int
    name: str
    published: dict | None
    live: dict | None
    changes: list[Change]

    @property
    def moved(self) -> bool:
        """Whether the change moved the worker between the counts of the as-of date."""
        return _state(self.published) != _state(self.live)


def _state(row):
    if not row:
        return (False, False, "", False)
    return (row["to_place"], row["placed"], row["channel"], row["placed_in_year"])


@dataclass
class Comparison:
    monthly_return: MonthlyReturn
    published: Figures
    live: Figures
    differences: list[Difference]
    changed_workers: list[ChangedWorker]
    changed_count: int


def _delta(live, published):
    if live is None or published is None:
        return None
    return live - published


def _display(value, *, model, name, user_enterprises):
    if value is None or value == "":
        return "—"
    if name == "channel":
        return str(Channel(value).label) if value in Channel.values else value
    if name == "enterprise":
        return user_enterprises.get(value, str(OUTSIDE_ENTERPRISE))
    return str(value)


def _history_changes(records, *, model, fields, user_enterprises) -> list[tuple[int, Change]]:
    """(worker id, Change) for history rows, each against the row before it."""
    what = str(model._meta.verbose_name)
    labels = {f.name: str(f.verbose_name) for f in model._meta.fields}
    found = []
    for record in records:
        worker_id = record.id if model is Worker else record.worker_id
        change = Change(
            at=record.history_date,
            username=record.history_user.get_username() if record.history_user else "",
            source=record.history_source,
            what=what,
            kind={"+": "created", "~": "changed", "-": "deleted"}[record.history_type],
        )
        previous = record.prev_record if record.history_type == "~" else None
        for name in fields:
            column = name + "_id" if name == "enterprise" else name
            new = getattr(record, column)
            old = getattr(previous, column) if previous is not None else None
            if record.history_type == "~" and previous is None:
                # A record written without history (the demo seeder, a bulk load before the
                # history existed): the value before is not known, only the value after.
                change.fields.append(
                    (
                        labels[name],
                        str(NO_EARLIER_HISTORY),
                        _display(new, model=model, name=name, user_enterprises=user_enterprises),
                    )
                )
                continue
            if record.history_type == "~" and old == new:
                continue
            if record.history_type == "-":
                new, old = None, new
            change.fields.append(
                (
                    labels[name],
                    _display(old, model=model, name=name, user_enterprises=user_enterprises),
                    _display(new, model=model, name=name, user_enterprises=user_enterprises),
                )
            )
        if record.history_type == "~" and not change.fields:
            others = (
                [
                    labels[d.field]
                    for d in record.diff_against(previous).changes
                    if d.field in labels
                    and d.field not in ("updated_at", "updated_by")
                    and not d.field.startswith("id_number")
                ]
                if previous is not None
                else []
            )
            if not others:
                continue
            change.fields = [(label, "", "") for label in others]
        found.append((worker_id, change))
    return found


def return_comparison(*, monthly_return: MonthlyReturn, user, live: Figures | None = None):
    """The return's figures beside the live ones for the same scope and as-of date (`live`: the
    totals of that report, when the caller has them), the difference, and the workers whose
    records changed after approval, with who changed what."""
    region = monthly_return.region
    as_of = monthly_return.as_of
    if live is None:
        live = placement_report(
            scope=Scope(region=region), year=monthly_return.year, as_of=as_of, user=user
        ).totals
    published = return_figures(monthly_return)
    differences = []
    for name, label in (
        ("to_place", _("需安置")),
        ("placed", _("已安置")),
        ("pending", _("待安置")),
        ("placement_rate", _("安置率（%）")),
        ("placed_in_year", _("年内安置")),
        ("target", _("年度目标")),
        ("target_completion", _("任务完成率（%）")),
    ):
        old, new = getattr(published, name), getattr(live, name)
        differences.append(Difference(str(label), old, new, _delta(new, old)))

    tree = return_tree(monthly_return)
    # From the earliest figures frozen in the return's tree (a county's generation): a change
    # made between a generation and its approval is one the return does not hold either.
    since = min(MonthlyReturn.objects.filter(pk__in=tree).values_list("generated_at", flat=True))
    enterprises = Enterprise.objects.in_region(region)
    frozen_ids = ReturnMember.objects.filter(monthly_return__in=tree).values("worker_id")
    in_scope = Worker.objects.filter(enterprise__in=enterprises).values("pk")
    worker_history = Worker.history.filter(history_date__gt=since).filter(
        Q(id__in=in_scope) | Q(id__in=frozen_ids)
    )
    placement_history = Placement.history.filter(history_date__gt=since).filter(
        Q(worker_id__in=in_scope) | Q(worker_id__in=frozen_ids)
    )
    changed_ids = sorted(
        set(worker_history.values_list("id", flat=True))
        | set(placement_history.values_list("worker_id", flat=True))
    )
    shown = changed_ids[:CHANGED_WORKERS_SHOWN]
    user_enterprises = dict(Enterprise.objects.visible_to(user).values_list("pk", "name"))
    changes: dict[int, list[Change]] = {worker_id: [] for worker_id in shown}
    for model, records, fields in (
        (Worker, worker_history.filter(id__in=shown), WORKER_FIELDS),
        (Placement, placement_history.filter(worker_id__in=shown), PLACEMENT_FIELDS),
    ):
        records = records.select_related("history_user").order_by("history_date", "history_id")
        for worker_id, change in _history_changes(
            records, model=model, fields=fields, user_enterprises=user_enterprises
        ):
            changes[worker_id].append(change)
    frozen = {
        m["worker_id"]: m
        for m in ReturnMember.objects.filter(monthly_return__in=tree, worker_id__in=shown).values(
            "worker_id", "enterprise_id", "to_place", "placed", "channel", "placed_in_year"
        )
    }
    now = return_members(
        enterprises=enterprises, year=monthly_return.year, as_of=as_of, worker_ids=shown
    )
    names = dict(Worker.objects.visible_to(user).filter(pk__in=shown).values_list("pk", "name"))
    changed = [
        ChangedWorker(
            worker_id=worker_id,
            name=names.get(worker_id, str(_("（范围外职工）"))),
            published=frozen.get(worker_id),
            live=now.get(worker_id),
            changes=sorted(changes[worker_id], key=lambda c: c.at),
        )
        for worker_id in shown
        if changes[worker_id]
    ]
    changed.sort(key=lambda c: (not c.moved, c.name))
    return Comparison(monthly_return, published, live, differences, changed, len(changed_ids))


@dataclass
class Deadline:
    """Where one region's return for a month stands against the due date."""

    region: Region
    monthly_return: MonthlyReturn | None
    state: str  # missing, not_due, generated, submitted, late, returned, approved
    label: str
    submitted_at: datetime.datetime | None
    late: bool
    reason: str


def due_date(period: datetime.date) -> datetime.date:
    """The day of the following month by which the month's return is due (a setting)."""
    following = period_as_of(period) + datetime.timedelta(days=1)
    last = calendar.monthrange(following.year, following.month)[1]
    return following.replace(day=min(settings.LEDGER_RETURN_DUE_DAY, last))


STATE_LABELS = {
    "missing": _("逾期未报"),
    "not_due": _("未到期，尚未上报"),
    "generated": _("已生成，尚未上报"),
    "submitted": _("已上报，待审核"),
    "returned": _("已退回"),
    "approved": _("已审核"),
    "reopened": _("已重新打开，待重新生成"),
}


def return_deadlines(*, region: Region, period: datetime.date, today: datetime.date):
    """The region's own return and those of the regions reporting to it for a month: missing,
    late, returned or approved (late: first submitted after the due date)."""
    period = period.replace(day=1)
    due = due_date(period)
    regions = [region, *return_regions_due(region=region, period=period)]
    current = {
        r.region_id: r
        for r in MonthlyReturn.objects.current().filter(region__in=regions, period=period)
    }
    submitted = {}
    reasons = {}
    reopened = {}  # region -> (the reopened return, the reason), the latest
    for event in (
        ReturnEvent.objects.filter(
            monthly_return__region__in=regions,
            monthly_return__period=period,
            action__in=[
                ReturnEvent.Action.SUBMITTED,
                ReturnEvent.Action.RETURNED,
                ReturnEvent.Action.REOPENED,
            ],
        )
        .select_related("monthly_return")
        .order_by("at", "pk")
    ):
        region_id = event.monthly_return.region_id
        if event.action == ReturnEvent.Action.SUBMITTED:
            submitted.setdefault(region_id, event.at)  # the first submission of the month
        elif event.action == ReturnEvent.Action.RETURNED:
            reasons[region_id] = event.reason
        else:
            reopened[region_id] = (event.monthly_return, event.reason)
    rows = []
    for r in regions:
        found = current.get(r.pk)
        # The month's first submission, whichever revision: a return reopened and being
        # generated again was reported, on time or not, when it was first submitted.
        at = submitted.get(r.pk)
        late = at is not None and timezone.localtime(at).date() > due
        reason = ""
        if found is None and r.pk in reopened:
            state = "reopened"
            found, reason = reopened[r.pk]
        elif found is None or found.status == Status.GENERATED:
            if at is None:
                state = "missing" if today > due else ("generated" if found else "not_due")
                late = today > due
            else:
                state = "generated"
        else:
            state = found.status
            reason = reasons.get(r.pk, "") if state == "returned" else ""
        rows.append(
            Deadline(
                region=r,
                monthly_return=found,
                state=state,
                label=str(STATE_LABELS[state]),
                submitted_at=at,
                late=late,
                reason=reason,
            )
        )
    return due, rows
