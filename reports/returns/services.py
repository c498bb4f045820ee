"""The flow of a monthly return: generate, submit, approve or send back, reopen. Pages and the
`monthly_return` command call these, with the acting user; each checks that the user may act on
that return (querysets.py) and writes one ReturnEvent (who, when, from where, why).

Figures are never updated: a status moves by a compare-and-set UPDATE on the expected status, so
two people acting at once cannot both succeed, and nothing here writes the figures of an existing
return.
"""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from access.actors import SYSTEM
from enterprises.models import Enterprise, Region

from ..selectors import SCOPE_LEVEL_BUCKET, Scope, placement_report
from .models import MonthlyReturn, ReturnEvent, ReturnLine, ReturnMember
from .querysets import regions_for_submit
from .selectors import (
    member_totals,
    period_as_of,
    return_members,
    return_regions_due,
    return_tree,
)

PERIOD_NOT_OVER = _("报告期 %(period)s 尚未结束，月末之后才能生成月报")
RETURN_LOCKED = _("%(region)s %(period)s 的月报%(status)s，不能重新生成")
CHILDREN_NOT_APPROVED = _("下列下级单位的月报尚未审核通过，不能汇总：%(regions)s")
CHILD_MISSING = _("未生成")
NAME_WITH_STATE = _("%(name)s（%(state)s）")
SOURCES_REOPENED = _("汇总所用的下级月报已被重新打开或替代：%(regions)s；请重新生成本月报")
SOURCES_REOPENED_APPROVER = _(
    "汇总所用的下级月报已被重新打开或替代：%(regions)s；请将本月报退回，由填报单位重新生成"
)
WRONG_STATUS = _("该月报当前状态为“%(status)s”，不能%(action)s")
REASON_REQUIRED = _("请填写理由")
NOT_ALLOWED = _("您无权对该月报执行此操作")
FIGURES_MOVED = _("生成期间台账发生变化，请稍后重试")
WORKERS_COUNTED_TWICE = _(
    "有 %(count)s 名职工同时计入了多个下级单位的月报（%(regions)s），多为审核通过后职工调动了"
    "企业：请系统管理员重新打开较早审核的那份月报，重新生成并审核后再汇总"
)

Status = MonthlyReturn.Status
Action = ReturnEvent.Action


def period_start(period: datetime.date) -> datetime.date:
    return period.replace(day=1)


def _event(*, monthly_return, action, user, source: str, reason: str = "") -> ReturnEvent:
    return ReturnEvent.objects.create(
        monthly_return=monthly_return,
        action=action,
        user=user,
        username=user.get_username(),
        reason=reason,
        source=source[:200],
    )


def _line(position: int, figures, **fields) -> ReturnLine:
    return ReturnLine(
        position=position,
        to_place=figures.to_place,
        placed=figures.placed,
        placed_in_year=figures.placed_in_year,
        channels=dict(figures.channels),
        **fields,
    )


def _county_lines(report) -> list[ReturnLine]:
    return [
        _line(i, child, key=child.key, name=child.name, kind=child.kind, target=child.target)
        for i, child in enumerate(report.children, start=1)
    ]


def _consolidation_lines(*, region: Region, period: datetime.date, report) -> list[ReturnLine]:
    """A line per child region with enterprises, copied from its approved return (never a live
    query), and a line for the enterprises directly under the region (live, as of the month's
    end: they report to no one below)."""
    due = list(return_regions_due(region=region, period=period))
    current = {
        r.region_id: r
        for r in MonthlyReturn.objects.current().filter(region__in=due, period=period)
    }
    missing = []
    for child in due:
        found = current.get(child.pk)
        if found is None:
            missing.append(NAME_WITH_STATE % {"name": child.name, "state": CHILD_MISSING})
        elif found.status != Status.APPROVED:
            missing.append(
                NAME_WITH_STATE % {"name": child.name, "state": found.get_status_display()}
            )
    if missing:
        raise ValidationError(CHILDREN_NOT_APPROVED % {"regions": _list(missing)})
    lines = []
    for child in due:
        source = current[child.pk]
        lines.append(
            ReturnLine(
                position=len(lines) + 1,
                key=child.code,
                name=child.name,
                kind="region",
                source=source,
                to_place=source.to_place,
                placed=source.placed,
                placed_in_year=source.placed_in_year,
                target=source.target,
                channels=dict(source.channels),
            )
        )
    direct = next((c for c in report.children if c.key == region.code), None)
    if direct is not None:
        lines.append(
            _line(
                len(lines) + 1,
                direct,
                key=region.code,
                name=_of_record(SCOPE_LEVEL_BUCKET[region.level]),
            )
        )
    return lines


def _list(names) -> str:
    """Names joined as the language joins them (、 in Chinese, a comma in English)."""
    return str(_("、")).join(str(name) for name in names)


def _check_each_worker_once(lines: list[ReturnLine], members: dict) -> None:
    """One worker, one record, in a consolidation too: the child returns it sums (each approved
    on its own day) and the workers it counts live (the enterprises directly under its region)
    must not share a worker. They do when a worker moved to another enterprise after the first
    return was approved; the sum would count them twice. Refused, naming the returns involved."""
    owner = {}  # every return of the children's trees -> the child line's name
    for line in lines:
        if line.source_id is not None:
            for pk in return_tree(line.source):
                owner[pk] = line.name
    counted = ReturnMember.objects.filter(monthly_return__in=list(owner))
    twice = set(
        counted.order_by()
        .values("worker_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("worker_id", flat=True)
    )
    live = list(members)
    for start in range(0, len(live), 2000):
        twice |= set(
            counted.filter(worker_id__in=live[start : start + 2000]).values_list(
                "worker_id", flat=True
            )
        )
    if not twice:
        return
    found = counted.filter(worker_id__in=list(twice)).values_list("worker_id", "monthly_return_id")
    regions = {owner[pk] for _worker, pk in found}
    direct = next((line.name for line in lines if line.source_id is None), None)
    if direct is not None and twice & set(live):
        regions.add(direct)
    raise ValidationError(
        WORKERS_COUNTED_TWICE % {"count": len(twice), "regions": _list(sorted(regions))}
    )


def _figures_and_members(*, region: Region, period: datetime.date, as_of: datetime.date):
    """The lines and the workers of a new return; the workers counted the same way as the
    figures (checked: a write in between would make them disagree, so try again once)."""
    county = region.level == Region.Level.COUNTY
    enterprises = (
        Enterprise.objects.in_region(region) if county else Enterprise.objects.filter(region=region)
    )
    for _attempt in range(2):
        # The whole region, whoever generates it: the acting user's right to its return is checked
        # by the flow, and a return of record cannot depend on who pressed the button.
        # The lines' names are frozen into the return: in the ledger's language, whoever
        # generates it (an English page once froze "City level" into a Chinese form).
        with translation.override(settings.LANGUAGE_CODE):
            report = placement_report(
                scope=Scope(region=region), year=period.year, as_of=as_of, user=SYSTEM
            )
        if county:
            lines = _county_lines(report)
        else:
            lines = _consolidation_lines(region=region, period=period, report=report)
        members = return_members(enterprises=enterprises, year=period.year, as_of=as_of)
        if not county:
            _check_each_worker_once(lines, members)
        live_lines = [line for line in lines if line.source_id is None]
        expected = tuple(
            sum(getattr(line, name) for line in live_lines)
            for name in ("to_place", "placed", "placed_in_year")
        )
        if member_totals(members.values()) == expected:
            return report, lines, members
    raise ValidationError(FIGURES_MOVED)


def return_generate(
    *,
    region: Region,
    period: datetime.date,
    user,
    source: str,
    preparer: str = "",
    person_in_charge: str = "",
) -> MonthlyReturn:
    """Generate the region's return for the month: figures as of the month's last day, frozen,
    with the workers behind them. A city's or the province's return consolidates the approved
    returns of its children. A draft or a return sent back is kept as superseded."""
    period = period_start(period)
    if not regions_for_submit(user).filter(pk=region.pk).exists():
        raise PermissionDenied(NOT_ALLOWED)
    as_of = period_as_of(period)
    if as_of >= timezone.localdate():
        raise ValidationError(PERIOD_NOT_OVER % {"period": f"{period:%Y-%m}"})
    report, lines, members = _figures_and_members(region=region, period=period, as_of=as_of)
    with transaction.atomic():
        # Two tabs generating the month's first return: no return row to lock yet, so the region
        # is locked, and the second one finds the first's return (a new revision over it).
        Region.objects.select_for_update().filter(pk=region.pk).first()
        existing = (
            MonthlyReturn.objects.select_for_update()
            .current()
            .filter(region=region, period=period)
            .first()
        )
        if existing is not None:
            if existing.status not in (Status.GENERATED, Status.RETURNED):
                raise ValidationError(
                    RETURN_LOCKED
                    % {
                        "region": region.name,
                        "period": f"{period:%Y-%m}",
                        "status": existing.get_status_display(),
                    }
                )
            MonthlyReturn.objects.filter(pk=existing.pk, status=existing.status).update(
                status=Status.SUPERSEDED
            )
        revision = (
            MonthlyReturn.objects.filter(region=region, period=period).aggregate(n=Max("revision"))[
                "n"
            ]
            or 0
        ) + 1
        totals = {
            name: sum(getattr(line, name) for line in lines)
            for name in ("to_place", "placed", "placed_in_year")
        }
        channels: dict[str, int] = {}
        for line in lines:
            for channel, count in line.channels.items():
                channels[channel] = channels.get(channel, 0) + count
        monthly_return = MonthlyReturn(
            region=region,
            period=period,
            as_of=as_of,
            revision=revision,
            status=Status.GENERATED,
            form_number=settings.LEDGER_RETURN_FORM_NUMBER,
            issuing_office=settings.LEDGER_RETURN_ISSUING_OFFICE,
            reporting_unit=_reporting_unit(region),
            preparer=preparer or user.get_full_name() or user.get_username(),
            person_in_charge=person_in_charge,
            target=report.totals.target,
            channels=channels,
            **totals,
        )
        monthly_return.full_clean()
        monthly_return.save()
        for line in lines:
            line.monthly_return = monthly_return
        ReturnLine.objects.bulk_create(lines)
        ReturnMember.objects.bulk_create(
            [
                ReturnMember(monthly_return=monthly_return, worker_id=worker_id, **row)
                for worker_id, row in members.items()
            ],
            batch_size=5000,
        )
        _event(monthly_return=monthly_return, action=Action.GENERATED, user=user, source=source)
    return monthly_return


def _reporting_unit(region: Region) -> str:
    return _of_record(_("%(region)s人力资源和社会保障局")) % {"region": region.name}


def _of_record(text) -> str:
    """A text frozen into a return of record: in the ledger's language (the statistical form's),
    whatever the language of the page that generated it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def _move(*, monthly_return, expected, new, action_label, **fields) -> None:
    """Move the status from one of `expected` to `new`, or refuse naming the current status."""
    updated = MonthlyReturn.objects.filter(pk=monthly_return.pk, status__in=expected).update(
        status=new, **fields
    )
    if not updated:
        monthly_return.refresh_from_db(fields=["status"])
        raise ValidationError(
            WRONG_STATUS % {"status": monthly_return.get_status_display(), "action": action_label}
        )
    monthly_return.refresh_from_db()


def _check_sources(monthly_return, *, approving: bool = False) -> None:
    """A consolidation goes up only while every return it sums, down to the counties, is still
    the approved one (a county reopened under an approved city return makes the province's sum
    stale too). The approver is told to send it back: only its unit can generate it again."""
    stale = []
    level = [(line.name, line.source) for line in monthly_return.lines.select_related("source")]
    while level:
        below = []
        for name, source in level:
            if source is None:
                continue
            if source.status != Status.APPROVED:
                stale.append(name)
                continue
            below += [
                (f"{name} → {line.name}", line.source)
                for line in source.lines.select_related("source")
            ]
        level = below
    if stale:
        message = SOURCES_REOPENED_APPROVER if approving else SOURCES_REOPENED
        raise ValidationError(message % {"regions": _list(stale)})


@transaction.atomic
def return_submit(
    *, monthly_return: MonthlyReturn, user, source: str, person_in_charge=None, preparer=None
) -> MonthlyReturn:
    """Report the return to the level above (报出): it is then read-only for its unit."""
    if not MonthlyReturn.objects.submittable_by(user).filter(pk=monthly_return.pk).exists():
        raise PermissionDenied(NOT_ALLOWED)
    _check_sources(monthly_return)
    fields = {"reported_on": timezone.localdate()}
    if person_in_charge:
        fields["person_in_charge"] = person_in_charge
    if preparer:
        fields["preparer"] = preparer
    _move(
        monthly_return=monthly_return,
        expected=[Status.GENERATED, Status.RETURNED],
        new=Status.SUBMITTED,
        action_label=_("上报"),
        **fields,
    )
    _event(monthly_return=monthly_return, action=Action.SUBMITTED, user=user, source=source)
    return monthly_return


@transaction.atomic
def return_approve(*, monthly_return: MonthlyReturn, user, source: str) -> MonthlyReturn:
    """Approve a submitted return: it becomes the figure of record and never changes."""
    if not MonthlyReturn.objects.approvable_by(user).filter(pk=monthly_return.pk).exists():
        raise PermissionDenied(NOT_ALLOWED)
    _check_sources(monthly_return, approving=True)
    _move(
        monthly_return=monthly_return,
        expected=[Status.SUBMITTED],
        new=Status.APPROVED,
        action_label=_("审核"),
        approved_at=timezone.now(),
    )
    _event(monthly_return=monthly_return, action=Action.APPROVED, user=user, source=source)
    return monthly_return


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    return reason


@transaction.atomic
def return_send_back(
    *, monthly_return: MonthlyReturn, user, reason: str, source: str
) -> MonthlyReturn:
    """Send a submitted return back to its unit with a reason; it cannot be consolidated."""
    return _move_with_reason(
        monthly_return=monthly_return,
        allowed=MonthlyReturn.objects.approvable_by(user),
        expected=Status.SUBMITTED,
        new=Status.RETURNED,
        action=Action.RETURNED,
        action_label=_("退回"),
        user=user,
        reason=reason,
        source=source,
    )


@transaction.atomic
def return_reopen(*, monthly_return: MonthlyReturn, user, reason: str, source: str):
    """Reopen an approved return (administrators, with a reason). Its figures stay as they were,
    kept as the reopened version; the unit may then generate a new revision."""
    return _move_with_reason(
        monthly_return=monthly_return,
        allowed=MonthlyReturn.objects.reopenable_by(user),
        expected=Status.APPROVED,
        new=Status.REOPENED,
        action=Action.REOPENED,
        action_label=_("重新打开"),
        user=user,
        reason=reason,
        source=source,
    )


def _move_with_reason(
    *, monthly_return, allowed, expected, new, action, action_label, user, reason, source
) -> MonthlyReturn:
    """A state change that needs a reason (sending back, reopening), recorded as an event."""
    if not allowed.filter(pk=monthly_return.pk).exists():
        raise PermissionDenied(NOT_ALLOWED)
    reason = _reason(reason)
    _move(monthly_return=monthly_return, expected=[expected], new=new, action_label=action_label)
    _event(monthly_return=monthly_return, action=action, user=user, source=source, reason=reason)
    return monthly_return
