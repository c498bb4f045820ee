"""Spreadsheet import of enterprises and groups, keyed on the unified social credit code; the
admin and `manage.py import_enterprises` call `enterprise_import`."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.actors import is_system
from audit.history import history_bulk_create, history_bulk_update, history_context, import_source
from database.analyze import tables_analyze
from spreadsheets.results import Change, ImportResult

from .models import (
    DIVERSION_DATE_IN_FUTURE,
    HAS_MEMBERS,
    PARENT_IS_SELF,
    PARENT_NESTED,
    Enterprise,
    Region,
)
from .querysets import sees_everything
from .regions import REGION_AMBIGUOUS, RegionAmbiguous, RegionIndex
from .resources import EnterpriseResource
from .signals import enterprise_diversion_dates_changed, enterprises_written
from .validators import normalize_credit_code, validate_credit_code

VALUE_REQUIRED = _("不能为空")
CHANGE_NOT_ALLOWED = _(
    "统一社会信用代码为“%(value)s”的企业已登记：您可以导入新企业，但没有修改已登记企业的权限"
)
REGION_UNKNOWN = _("地区“%(value)s”不存在")
PARENT_UNKNOWN = _("所属集团“%(value)s”既未登记，也不在本表中")
OUT_OF_SCOPE = _("统一社会信用代码为“%(value)s”的企业不在您的管辖范围内")
REGION_OUT_OF_SCOPE = _("地区“%(value)s”不在您的管辖范围内")
CREDIT_CODE_DUPLICATE_IN_FILE = _("第 %(first)s 行和第 %(row)s 行是同一个统一社会信用代码")
FIELDS = ["name", "industry", "region_id", "parent_id", "diversion_date"]
DIVERSION_DATE_FOLLOWED = _(
    "企业“%(enterprise)s”的分流安置方案实施日期改为 %(date)s：花名册没有分流时间的职工将随之改为"
    "自此日起计入需安置人数（在此日期前已安置的职工保留原分流时间）"
)
DIVERSION_DATE_CLEARED = _(
    "企业“%(enterprise)s”的分流安置方案实施日期被清空：原先取自该日期的职工改为自其登记之日起"
    "计入需安置人数"
)


def enterprise_import(
    *, data: bytes, filename: str, dry_run: bool = False, user, progress=None
) -> ImportResult:
    """Import enterprises (and their groups) keyed on the credit code. All or nothing."""
    result = ImportResult(dry_run=dry_run)
    resource = EnterpriseResource()
    parsed = resource.read_parsed(
        data, filename=filename, result=result, parse=lambda table: _parse(table, resource, result)
    )
    if parsed is None:
        return result
    table, rows = parsed
    header = table.header
    result.unused_columns = list(table.unused)
    # Without a 所属集团 column the file says nothing about groups: links are left as they are.
    has_parent_column = "parent" in table.columns
    # Nor without a date column about the diversion date.
    has_date_column = "diversion_date" in table.columns
    codes = [values["credit_code"] for _row, values in rows]
    parents = {values["parent"] for _row, values in rows if values.get("parent")}
    stored = {
        e.credit_code: e
        for e in Enterprise.objects.filter(credit_code__in={*codes, *parents}).select_related(
            "parent"
        )
    }
    # Who sees what: a user changes and links only enterprises they may see, and places new
    # ones only in regions they may see (else an import could move a mine into one's scope).
    visible = None
    if not sees_everything(user):
        visible = set(
            Enterprise.objects.visible_to(user)
            .filter(credit_code__in=stored)
            .values_list("credit_code", flat=True)
        )
        regions_visible = set(Region.objects.visible_to(user).values_list("code", flat=True))
    with_members = set(
        Enterprise.objects.filter(members__isnull=False, credit_code__in=codes).values_list(
            "credit_code", flat=True
        )
    )
    in_file = {values["credit_code"]: values for _row, values in rows}
    regions = RegionIndex(Region.objects.all())
    plans = []
    for row, values in rows:
        code = values["credit_code"]
        if visible is not None and code in stored and code not in visible:
            result.add_error(row, header("credit_code"), OUT_OF_SCOPE % {"value": code})
            continue
        region_value = values["region"]
        try:
            region = regions.find(region_value)
        except RegionAmbiguous:
            result.add_error(row, header("region"), REGION_AMBIGUOUS % {"value": region_value})
            continue
        if region is None:
            result.add_error(row, header("region"), REGION_UNKNOWN % {"value": region_value})
            continue
        if visible is not None and region.code not in regions_visible:
            result.add_error(row, header("region"), REGION_OUT_OF_SCOPE % {"value": region_value})
            continue
        parent = values.get("parent")
        if parent == code:
            result.add_error(row, header("parent"), PARENT_IS_SELF)
            continue
        if parent and parent not in stored and parent not in in_file:
            result.add_error(row, header("parent"), PARENT_UNKNOWN % {"value": parent})
            continue
        if parent and visible is not None and parent in stored and parent not in visible:
            result.add_error(row, header("parent"), OUT_OF_SCOPE % {"value": parent})
            continue
        if parent and _has_parent(parent, stored, in_file):
            # Groups own mines, mines own nothing: one level, so no chain and no cycle.
            result.add_error(row, header("parent"), PARENT_NESTED % {"value": parent})
            continue
        if parent and code in with_members:
            result.add_error(row, header("parent"), HAS_MEMBERS)
            continue
        plans.append((row, values, region, parent))
    if result.errors:
        return result
    creates, updates, parent_links, dated = [], [], [], []
    # Where the changed enterprises were: their old county and group keep cached figures too.
    moved_from: set[tuple[str, int]] = set()
    may_change = is_system(user) or user.has_perm("enterprises.change_enterprise")
    today = timezone.localdate()
    shown_names = {
        "region_id": {r.pk: r.code for r in regions.by_code.values()},
        "parent_id": {
            **{e.parent_id: e.parent.credit_code for e in stored.values() if e.parent_id},
            **{e.pk: code for code, e in stored.items()},
        },
    }
    for row, values, region, parent in plans:
        current = stored.get(values["credit_code"])
        parent_obj = stored.get(parent) if parent else None
        wanted = {"name": values["name"], "industry": values["industry"], "region_id": region.pk}
        if has_parent_column:
            wanted["parent_id"] = parent_obj.pk if parent_obj else None
        if has_date_column:
            wanted["diversion_date"] = values.get("diversion_date")
        if current is None and (wanted.get("diversion_date") or today) > today:
            result.add_error(row, header("diversion_date"), DIVERSION_DATE_IN_FUTURE)
            continue
        if current is None:
            enterprise = Enterprise(credit_code=values["credit_code"], **wanted)
            creates.append(enterprise)
            result.created += 1
            result.changes.append(Change(row, "new", f"{values['name']} {values['credit_code']}"))
            if parent and parent_obj is None:
                parent_links.append((enterprise, parent))
            continue
        diffs = [
            (field, getattr(current, field), value)
            for field, value in wanted.items()
            if getattr(current, field) != value
            and not (field == "parent_id" and parent_obj is None and parent)
        ]
        if parent and parent_obj is None:
            parent_links.append((current, parent))
            diffs.append(("parent_id", current.parent_id, parent))
        if any(field == "diversion_date" and new and new > today for field, _old, new in diffs):
            # A new or changed date only: one stored before this rule may stay as it is.
            result.add_error(row, header("diversion_date"), DIVERSION_DATE_IN_FUTURE)
            continue
        if diffs and not may_change:
            # The import needs "add"; changing a registered enterprise needs "change", as on
            # its page.
            result.add_error(row, header("credit_code"), CHANGE_NOT_ALLOWED % {"value": code})
            continue
        if diffs:
            moved_from |= {("region", current.region_id), ("enterprise", current.parent_id)}
            for field, _old, value in diffs:
                if field != "parent_id" or parent_obj is not None or not parent:
                    setattr(current, field, value)
            if any(field == "diversion_date" for field, _old, _new in diffs):
                dated.append(current)
                result.notes.append(_diversion_note(current))
            updates.append(current)
            result.updated += 1
            result.changes.append(
                Change(
                    row,
                    "changed",
                    f"{current.name} {current.credit_code}",
                    [_shown_change(header, shown_names, f, o, n) for f, o, n in diffs],
                )
            )
        else:
            result.unchanged += 1
    if result.errors:
        result.created = result.updated = result.unchanged = 0
        result.changes = []
        return result
    if not dry_run:
        _enterprises_write(
            creates=creates,
            updates=updates,
            parent_links=parent_links,
            dated=dated,
            user=user,
            source=import_source("enterprises", user),
        )
        # The bulk writes send no post_save: the reports' cached figures are told of the
        # enterprises written and of the places the changed ones left.
        enterprises_written.send(
            sender=Enterprise,
            enterprise_ids={e.pk for e in creates + updates}
            | {pk for kind, pk in moved_from if kind == "enterprise" and pk},
            region_ids={e.region_id for e in creates + updates}
            | {pk for kind, pk in moved_from if kind == "region" and pk},
        )
        result.imported = True
    return result


def _diversion_note(enterprise: Enterprise) -> str:
    """What a changed diversion date does to the enterprise's workers, for the preview."""
    if enterprise.diversion_date is None:
        return str(DIVERSION_DATE_CLEARED % {"enterprise": enterprise.name})
    return str(
        DIVERSION_DATE_FOLLOWED
        % {"enterprise": enterprise.name, "date": enterprise.diversion_date.isoformat()}
    )


def _has_parent(code, stored, in_file) -> bool:
    """Whether the enterprise with this credit code belongs to a group (as the file says, or as
    stored when the file does not list it)."""
    if code in in_file:
        return bool(in_file[code].get("parent"))
    return stored[code].parent_id is not None


def _shown_change(header, names, field, old, new) -> tuple[str, str, str]:
    """One changed column as the preview shows it: a group by its credit code, a region by its
    code, never a database id (`names` maps ids to them; a new group's code stays as it is)."""
    if field in ("parent_id", "region_id"):
        old = names[field].get(old, old) if old else ""
        new = names[field].get(new, new) if new else ""
    return header(field.removesuffix("_id")), str(old or ""), str(new or "")


def _parse(table, resource, result) -> list[tuple[int, dict]]:
    rows = []
    seen = {}
    for row_number, values, bad in resource.clean_rows(table, result):
        for name in ("name", "credit_code", "industry", "region"):
            if name in table.columns and values.get(name) in ("", None) and not bad:
                result.add_error(row_number, table.header(name), VALUE_REQUIRED)
                bad = True
        if bad:
            continue
        day = values.get("diversion_date")
        if day is not None:
            # A month only (2016.01) means its first day; stored as a plain date.
            values["diversion_date"] = datetime.date(day.year, day.month, day.day)
        code = normalize_credit_code(values["credit_code"])
        try:
            validate_credit_code(code)
        except ValidationError as exc:
            result.add_error(row_number, table.header("credit_code"), exc.messages[0])
            continue
        values["credit_code"] = code
        if values.get("parent"):
            values["parent"] = normalize_credit_code(values["parent"])
        if code in seen:
            result.add_error(
                row_number,
                table.header("credit_code"),
                CREDIT_CODE_DUPLICATE_IN_FILE % {"first": seen[code], "row": row_number},
            )
            continue
        seen[code] = row_number
        rows.append((row_number, values))
    return rows


@transaction.atomic
def _enterprises_write(*, creates, updates, parent_links, dated, user, source: str) -> None:
    """Every database write of an enterprise import, in one transaction: new rows, changed rows,
    then the links to groups that are new in the same file; each with its audit history. The
    workers of enterprises whose diversion date changed follow it (placement listens)."""
    history_bulk_create(creates, model=Enterprise, user=user, source=source)
    tables_analyze(models=[Enterprise, Enterprise.history.model], rows=len(creates) + len(updates))
    if updates:
        history_bulk_update(updates, model=Enterprise, fields=FIELDS, user=user, source=source)
    if parent_links:
        by_code = {
            e.credit_code: e.pk
            for e in Enterprise.objects.filter(credit_code__in={code for _e, code in parent_links})
        }
        for enterprise, code in parent_links:
            enterprise.parent_id = by_code[code]
        history_bulk_update(
            [e for e, _code in parent_links],
            model=Enterprise,
            fields=["parent_id"],
            user=user,
            source=source,
        )
    if dated:
        with history_context(user=user, source=source):
            enterprise_diversion_dates_changed.send(sender=Enterprise, enterprises=dated)
