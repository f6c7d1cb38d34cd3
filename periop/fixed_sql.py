"""Fixed SQL statements for the reads and writes every request makes.

Building an ORM query for a token or a user's memberships cost 0.7 to 1 ms per request, and
`bulk_create` of a CDS call's five cards 0.8 to 1.3 ms, against under 0.1 ms for a round trip
(measured in process on PostgreSQL). A hot path can instead run a statement built from the
models' metadata, never from input:

- reads turn their rows into instances here, with the database converters the ORM applies
  (SQLite returns datetimes as text and booleans as integers), so an instance read this way
  equals one the ORM reads; a read of some columns only leaves the others deferred, as
  `.only()` does;
- inserts take plain rows and prepare each value as the ORM's `save` would
  (`get_db_prep_save`: a UUID as SQLite's hex text, an aware datetime as SQLite's text), one
  statement for all the rows;
- a statement's text is built once per database vendor (`per_vendor`), not on every call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

M = TypeVar("M", bound=models.Model)
P = ParamSpec("P")

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class FixedColumns(Generic[M]):
    """Concrete columns of `model` in its field order (every one, or `fields`, attribute names
    that must include the primary key): the SELECT list, and the instance built from the values
    that list returns."""

    def __init__(self, model: type[M], fields: Iterable[str] | None = None) -> None:
        self.model = model
        concrete = tuple(model._meta.concrete_fields)
        if fields is None:
            self.fields = concrete
        else:
            wanted = set(fields)
            unknown = wanted - {field.attname for field in concrete}
            if unknown:
                raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}.")
            pk = model._meta.pk
            if pk is None or pk.attname not in wanted:
                raise ValueError(f"A read of {model.__name__} must include its primary key.")
            # `from_db` takes a partial row in the model's field order.
            self.fields = tuple(field for field in concrete if field.attname in wanted)
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list[tuple[int, Any, list[Converter]]]] = {}
        self._insert_refusal = self._refusal(partial=len(self.fields) < len(concrete))

    def __len__(self) -> int:
        return len(self.fields)

    def select_list(self, connection: BaseDatabaseWrapper, alias: str) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)

    def instance(self, connection: BaseDatabaseWrapper, values: Sequence[Any]) -> M:
        """The instance of `values`, a row's slice in `select_list`'s order, as the ORM would
        build it (converted values, `_state` of a row read from `connection`, the columns not
        read deferred)."""
        converted = list(values)
        for index, column, converters in self._converters_for(connection):
            value = converted[index]
            for converter in converters:
                value = converter(value, column, connection)
            converted[index] = value
        return self.model.from_db(connection.alias, self.attnames, converted)

    def insert(self, connection: BaseDatabaseWrapper, rows: Sequence[Mapping[str, Any]]) -> None:
        """Inserts `rows` (each a value for every column, by attribute name: `client_id`, not
        `client`) with one statement. No instance is built, and nothing fills itself in: the
        model may have no automatic primary key and no `auto_now` or `auto_now_add` field (such
        a model is refused, as are columns chosen by `fields`), and a missing column is an
        error, never a silent default."""
        if not rows:
            return
        if self._insert_refusal is not None:
            raise ValueError(self._insert_refusal)
        quote = connection.ops.quote_name
        row = f"({', '.join(['%s'] * len(self.fields))})"
        statement = (
            f"INSERT INTO {quote(self.model._meta.db_table)} "  # noqa: S608 (model metadata)
            f"({', '.join(quote(field.column) for field in self.fields)}) "
            f"VALUES {', '.join([row] * len(rows))}"
        )
        values = [
            field.get_db_prep_save(values[field.attname], connection)
            for values in rows
            for field in self.fields
        ]
        with prepared_cursor(connection) as cursor:
            cursor.execute(statement, values)

    def _refusal(self, *, partial: bool) -> str | None:
        """Why `insert` refuses this model, or None; worked out once, raised only by `insert`
        (a model refused here is still read)."""
        if partial:
            return f"An insert into {self.model.__name__} writes every column."
        for field in self.fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                return f"{field} fills itself on save: insert it with the ORM."
        if self.model._meta.auto_field is not None:
            return f"{self.model.__name__} has an automatic key: use the ORM."
        return None

    def _converters_for(
        self, connection: BaseDatabaseWrapper
    ) -> list[tuple[int, Any, list[Converter]]]:
        if connection.alias not in self._converters:
            table = self.model._meta.db_table
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(table)
                converters = [
                    *connection.ops.get_db_converters(column),
                    *column.get_db_converters(connection),
                ]
                if converters:
                    found.append((index, column, converters))
            self._converters[connection.alias] = found
        return self._converters[connection.alias]


def prepared_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for the fixed statements every request runs.

    On PostgreSQL with `DATABASE_PREPARED_STATEMENTS` on, the cursor binds its parameters on
    the server, so psycopg prepares each statement on its connection (`prepare_threshold`) and
    PostgreSQL parses and plans it once instead of on every request: reading the token with
    its user took 0.42 ms a call unprepared and 0.29 ms prepared, the department's tunings 0.50
    and 0.23 ms (in process; bench/README.md). Django's own cursors bind on the client and
    are never prepared, so only statements run through this cursor are. Anywhere else it is
    the connection's ordinary cursor.

    It is wrapped as Django wraps every cursor: the same transaction, database errors turned
    into Django's, and queries logged and counted wherever Django logs and counts them."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        return connection.cursor()
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )
    from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
        register_tzloader,
    )
    from psycopg import adapters
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = connection.connection
        cursor = ServerBindingCursor(raw)
        # As Django's own cursors: date-times read in the connection's time zone.
        if (
            connection.timezone
            != raw.adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT).timezone
        ):
            register_tzloader(connection.timezone, cursor)
    if connection.queries_logged:
        return _PreparedDebugCursor(cursor, connection)
    return connection.make_cursor(cursor)


class _PreparedDebugCursor(CursorDebugWrapper):
    """Django logs a query as the text its cursor last sent, and a prepared statement, run
    again, sends none: the log shows the statement composed with its parameters instead (as
    Django's own log does when its cursors bind on the server)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        from psycopg import Error

        try:
            shown = self.db.ops.compose_sql(sql, params)
        except Error:
            shown = sql
        with self.debug_sql(shown, params):
            return CursorWrapper.execute(self, sql, params)


def per_vendor(
    build: Callable[Concatenate[BaseDatabaseWrapper, P], str],
) -> Callable[Concatenate[BaseDatabaseWrapper, P], str]:
    """`build(connection, *args)`, a statement's text from model metadata and the connection's
    quoting, built once per database vendor and `args` and kept for the process."""
    built: dict[tuple[Any, ...], str] = {}

    @functools.wraps(build)
    def statement(connection: BaseDatabaseWrapper, /, *args: P.args, **kwargs: P.kwargs) -> str:
        key = (connection.vendor, args, tuple(sorted(kwargs.items())))
        text = built.get(key)
        if text is None:
            text = built[key] = build(connection, *args, **kwargs)
        return text

    return statement
