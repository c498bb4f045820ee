"""Audit history (django-simple-history): who changed a record, when, and from where.

Every historical model gets a `history_source` column: the page ("page:/admin/…") for edits in
the browser, "import:<batch>" for roster imports, "command:<name>" for the command line. The
request middleware supplies the user and page; imports and commands wrap their writes in
`history_context(user=…, source=…)`, and bulk writes use `history_bulk_create` /
`history_bulk_update`, which write one history row per object in bulk too.
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg2.extras import execute_values
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

SOURCE_MAX_LENGTH = 200


class HistorySource(models.Model):
    """Abstract base of every historical model: the page, import batch or command of a change."""

    history_source = models.CharField(_("修改来源"), max_length=SOURCE_MAX_LENGTH, blank=True)

    class Meta:
        abstract = True


@dataclass(frozen=True)
class _Context:
    user: object
    source: str


_current: contextvars.ContextVar[_Context | None] = contextvars.ContextVar(
    "ledger_history_context", default=None
)


@contextmanager
def history_context(*, source: str, user=None):
    """Attribute every change made inside the block to `user` and `source`."""
    token = _current.set(_Context(user=user, source=source[:SOURCE_MAX_LENGTH]))
    try:
        yield
    finally:
        _current.reset(token)


def current_source() -> str:
    """The source of a change made now: the open history_context, else the current page."""
    context = _current.get()
    if context is not None:
        return context.source
    request = getattr(HistoricalRecords.context, "request", None)
    if request is not None:
        # The path holds primary keys only (never an ID number); the query string is left out.
        return ("page:" + request.path)[:SOURCE_MAX_LENGTH]
    return ""


def current_user():
    context = _current.get()
    return context.user if context is not None else None


@receiver(pre_create_historical_record)
def _fill_history_source(sender, instance, history_instance, **kwargs):
    if not history_instance.history_source:
        history_instance.history_source = current_source()
    if history_instance.history_user_id is None and current_user() is not None:
        history_instance.history_user = current_user()


def history_bulk_create(objs, *, model, user=None, source: str, batch_size: int = 1000):
    """bulk_create with one history row per object, attributed to `user` and `source`."""
    return bulk_create_with_history(
        objs,
        model,
        batch_size=batch_size,
        default_user=user,
        custom_historical_attrs={"history_source": source[:SOURCE_MAX_LENGTH]},
    )


def history_bulk_update(objs, *, model, fields, user=None, source: str, batch_size: int = 1000):
    """bulk_update with one history row per object, attributed to `user` and `source`."""
    return bulk_update_with_history(
        objs,
        model,
        fields,
        batch_size=batch_size,
        default_user=user,
        custom_historical_attrs={"history_source": source[:SOURCE_MAX_LENGTH]},
    )


def history_record_bulk(objs, *, model, user=None, source: str, update: bool = False) -> None:
    """One history row per object that was already written in bulk (an upsert, or an INSERT …
    RETURNING that gave the objects their keys); `objs` must carry every tracked field.

    On PostgreSQL the rows go in with one multi-row INSERT per thousand, built from the objects'
    values: simple-history's bulk_history_create makes a model instance per row and lets
    bulk_create prepare every value again, which took 40% of a 100,000-row roster import.
    The rows are the same as bulk_history_create's (same columns, type "+" or "~")."""
    if not objs:
        return
    source = source[:SOURCE_MAX_LENGTH]
    if connection.vendor != "postgresql":
        model.history.bulk_history_create(
            objs,
            update=update,
            default_user=user,
            custom_historical_attrs={"history_source": source},
        )
        return
    history = model.history.model
    tracked = list(history.tracked_fields)
    columns = [history._meta.get_field(field.name).column for field in tracked]
    columns += ["history_date", "history_change_reason", "history_type"]
    columns += ["history_user_id", "history_source"]
    extra = (timezone.now(), "", "~" if update else "+", getattr(user, "pk", None), source)
    rows = [tuple(getattr(obj, field.attname) for field in tracked) + extra for obj in objs]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES %s".format(
        quote(history._meta.db_table), ", ".join(quote(column) for column in columns)
    )
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, rows, page_size=1000)


def import_source(kind: str, user=None) -> str:
    """The history source of one import batch: "import:<kind>:<time>:<user>"."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S%f")
    return f"import:{kind}:{stamp}:{getattr(user, 'username', '') or 'system'}"
