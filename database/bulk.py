"""Fast bulk INSERT for rows whose values are already clean Python values."""

import datetime
import functools

from django.db import connection
from django.utils import timezone

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(row) -> str:
    """One row in COPY's text format (the values are str, int, bool, date, datetime or None,
    as the models' fields hold them). Written out rather than a function per value: a first
    import sends about 4 million values, and a call and a `str.translate` each (0.7 µs, against
    0.1 µs for the four tests) took 4.6 s of it under cProfile."""
    out = []
    for value in row:
        if value.__class__ is str:
            if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
                value = value.translate(_COPY_ESCAPES)
        elif value is None:
            value = "\\N"
        elif value is True:
            value = "t"
        elif value is False:
            value = "f"
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        else:
            value = str(value).translate(_COPY_ESCAPES)
        out.append(value)
    return "\t".join(out)


def copy_rows(table: str, columns: list[str], rows) -> None:
    """PostgreSQL only: write `rows` (tuples in the order of `columns`) with one COPY … FROM
    STDIN. COPY takes about 90,000 rows/s here against 37,000 for bulk_create (PITFALLS.md); a
    multi-row INSERT of 2,000 rows is a statement the server parses and plans whole."""
    copy_lines(table, columns, (_copy_line(row) for row in rows))


def copy_lines(table: str, columns: list[str], lines) -> None:
    """`copy_rows` of rows already formatted as COPY text lines (without their line break),
    sent as they are produced, COPY_PIECE characters at a time: the server stores one piece
    while the next is formatted, and the lines never sit in memory all together. Producing
    them must not use the database: the connection is in the middle of the COPY."""
    quote = connection.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(quote(table), ", ".join(quote(c) for c in columns))
    # Its errors become Django's (DataError, IntegrityError …) as an INSERT's would: copy_expert
    # is the driver's own, outside Django's wrapping of execute.
    pieces = _Pieces(lines)
    try:
        with connection.cursor() as cursor, connection.wrap_database_errors:

            def copy(sql, params, many, context):
                return cursor.copy_expert(sql, pieces, COPY_PIECE)

            # Through the connection's execute wrappers, as any statement (spreadsheets.ahead
            # lets its reading thread run while the server works).
            for wrapper in reversed(connection.execute_wrappers):
                copy = functools.partial(wrapper, copy)
            copy(sql, None, False, {"connection": cursor.db, "cursor": cursor})
    except BaseException:
        # A line that could not be made ended the COPY; the driver reports it as the
        # server's (OperationalError, which a job would retry as transient): it is the line's.
        if pieces.failure is not None:
            raise pieces.failure from None
        raise


# Characters a read of COPY's data takes. Large: psycopg2 takes the interpreter lock back for
# each piece, and while an import's reading thread runs, each piece waited for it (8 KB, the
# driver's default, was one wait per 200 facts).
COPY_PIECE = 1 << 18


class _Pieces:
    """Lines read as a file, at least `size` characters a read (whole lines, each ended)."""

    def __init__(self, lines):
        self._lines = iter(lines)
        self.failure: Exception | None = None

    def read(self, size: int = -1) -> str:
        parts = []
        length = 0
        try:
            for line in self._lines:
                parts.append(line)
                length += len(line) + 1
                if 0 <= size <= length:
                    break
            if not parts:
                return ""
            parts.append("")
            return "\n".join(parts)
        except BaseException as exc:
            # An interrupt too (Ctrl-C on a worker): the driver would report it as the
            # server's OperationalError, and a job would be retried instead of stopped.
            self.failure = exc
            raise


def in_ids(column: str, ids: list) -> tuple[str, list]:
    """A WHERE condition "the quoted `column` is one of `ids`", with its parameters: one array
    parameter on PostgreSQL; one placeholder per id elsewhere (SQLite: callers pass a few
    thousand at most, within its limit of bound parameters)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def column_type(field) -> str:
    """The type to cast a column's array (or value) to: the column's own, but text for varchar.
    An explicit cast to varchar(n) cuts a longer value silently; assigned to the column as
    text, a value too long is an error, as in an ordinary INSERT."""
    db_type = field.db_type(connection)
    return "text" if db_type.startswith("varchar") else db_type


def _array_literal(values) -> str:
    """A PostgreSQL array literal ('{"a","b",NULL}') of one column's values. A column of one
    type without NULLs is joined whole (text without quotes or backslashes, whole numbers, dates:
    1.5 s of a 100,000-row import went into the loop of `_array_literal_each`, whose literal this
    is, character for character)."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str:
            if '"' not in (joined := "".join(values)) and "\\" not in joined:
                return '{"' + '","'.join(values) + '"}'
        elif kind is int:
            return '{"' + '","'.join(map(str, values)) + '"}'
        elif kind is datetime.date:
            return '{"' + '","'.join(map(datetime.date.isoformat, values)) + '"}'
    return _array_literal_each(values)


def _array_literal_each(values) -> str:
    """`_array_literal` value by value: NULLs, booleans, mixed types, quotes and backslashes."""
    out = []
    for value in values:
        if value is None:
            out.append("NULL")
            continue
        if value is True:
            value = "t"
        elif value is False:
            value = "f"
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        elif value.__class__ is not str:
            value = str(value)
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        out.append('"' + value + '"')
    return "{" + ",".join(out) + "}"


def bulk_insert(model, objs: list, *, returning: bool = True) -> None:
    """bulk_create, and on PostgreSQL one INSERT … SELECT FROM unnest(…) with one array
    literal per column (… RETURNING the keys, in order, as Django's own bulk_create relies
    on). Django's bulk_create prepares every value through the field in Python (as_sql took
    more than half of a first import's writing time), and a multi-row VALUES list is a statement
    of 40,000 parameters the server parses whole; an array literal per column is parsed by
    the server's array input in C. The values here are already clean Python values (str, int,
    bool, date). With `returning` the objects get their primary keys either way, so that audit
    history can be written from them."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    now = timezone.now()
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) SELECT * FROM unnest({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(f"%s::{column_type(field)}[]" for field in fields),
    )
    if returning:
        sql += " RETURNING " + quote(model._meta.pk.column)
    params = [_array_literal([getattr(obj, field.attname) for obj in objs]) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not returning:
            return
        ids = cursor.fetchall()
    for obj, (pk,) in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = "default"


def insert_rows(model, fields: list[str], rows: list[tuple]) -> list[int]:
    """Insert rows given as plain tuples of the values of `fields` (attnames, e.g.
    "enterprise_id"), without a model instance per row; returns their primary keys in order.
    A field not named takes its model default (worked out once for all the rows), an auto_now
    field the current time. On PostgreSQL one INSERT … SELECT FROM unnest(…) RETURNING, as
    `bulk_insert`: building 180,000 model instances took 5.2 s of a 100,000-row first import
    under cProfile, for values that are already clean."""
    if not rows:
        return []
    by_name = {field.attname: field for field in model._meta.concrete_fields}
    named = [by_name[name] for name in fields]
    now = timezone.now()
    constants = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in fields:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants.append((field, now))
        else:
            constants.append((field, field.get_default()))
    if connection.vendor != "postgresql":
        objs = [
            model(**dict(zip(fields, row, strict=True)), **{f.attname: v for f, v in constants})
            for row in rows
        ]
        model.objects.bulk_create(objs)
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    columns = [quote(field.column) for field in named + [field for field, _v in constants]]
    names = [f"c{index}" for index in range(len(named))]
    selected = names + [f"%s::{column_type(field)}" for field, _v in constants]
    sql = "INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS t({}) RETURNING {}".format(
        quote(model._meta.db_table),
        ", ".join(columns),
        ", ".join(selected),
        ", ".join(f"%s::{column_type(field)}[]" for field in named),
        ", ".join(names),
        quote(model._meta.pk.column),
    )
    # The constants come after the arrays in the statement's text: SELECT's list precedes
    # FROM, so their parameters go first.
    params = [field.get_db_prep_value(value, connection) for field, value in constants]
    params += [_array_literal(values) for values in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]
