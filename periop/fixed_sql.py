"""Fixed SQL statements for the reads and writes every request makes.

Building an ORM query for a token or a user's memberships cost 0.7 to 1 ms per request, and
`bulk_create` of a CDS call's five cards 0.8 to 1.3 ms, against under 0.1 ms for a round trip
(measured in process on PostgreSQL). A hot path can instead run a statement built from the
models' metadata, never from input:

- reads turn their rows into instances here, with the database converters the ORM applies
  (SQLite returns datetimes as text and booleans as integers), so an instance read this way
  equals one the ORM reads;
- inserts take plain rows and prepare each value as the ORM's `save` would
  (`get_db_prep_save`: a UUID as SQLite's hex text, an aware datetime as SQLite's text), one
  statement for all the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class FixedColumns(Generic[M]):
    """Every concrete column of `model`, in a fixed order: the SELECT list, and the instance
    built from the values that list returns."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = tuple(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list[tuple[int, Any, list[Converter]]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select_list(self, connection: BaseDatabaseWrapper, alias: str) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)

    def instance(self, connection: BaseDatabaseWrapper, values: Sequence[Any]) -> M:
        """The instance of `values`, a row's slice in `select_list`'s order, as the ORM would
        build it (converted values, `_state` of a row read from `connection`)."""
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
        a model is refused), and a missing column is an error, never a silent default."""
        if not rows:
            return
        self._insertable()
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

    def _insertable(self) -> None:
        for field in self.fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                raise ValueError(f"{field} fills itself on save: insert it with the ORM.")
        if self.model._meta.auto_field is not None:
            raise ValueError(f"{self.model.__name__} has an automatic key: use the ORM.")

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
    PostgreSQL parses and plans it once instead of on every request: a round trip of the
    token's join fell from about 0.35 to 0.15 ms, and of the tunings' from about 0.41 to
    0.21 ms (measured in process). Django's own cursors bind on the client and are never
    prepared, so only statements run through this cursor are. Anywhere else it is the
    connection's ordinary cursor.

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
