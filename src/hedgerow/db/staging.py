"""Loading many values into a temporary one-column table fast, in the driver's own terms.

Staging is the per-row hot path of a million-row import. Rows go in fixed-size multi-row
VALUES statements sent as one executemany, in the driver's own placeholder style: no per-row
parameter processing, no per-row round trip, and a statement small enough for psycopg to parse
once and reuse. The values are bound, never pasted into the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Connection, MetaData, String, Table

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_ROWS_PER_STATEMENT = 50  # psycopg caches the parsing of statements with up to 50 parameters

# Not part of the schema (Alembic never sees this metadata): one per connection.
_scratch = MetaData()


def temporary_values_table(name: str) -> Table:
    return Table(name, _scratch, Column("value", String(400), primary_key=True), prefixes=["TEMPORARY"])


def stage_values(connection: Connection, table: Table, values: Sequence[str]) -> None:
    """Replace `table` (made by `temporary_values_table`) with a fresh one holding `values`.

    A fresh table each time: deleted rows of a temporary table are never vacuumed on PostgreSQL,
    so reusing one would make every load scan all the loads before it.
    """
    table.drop(connection, checkfirst=True)
    table.create(connection)
    placeholder = _PLACEHOLDERS.get(connection.dialect.paramstyle, "?")
    unique = list(dict.fromkeys(values))
    full = len(unique) - len(unique) % _ROWS_PER_STATEMENT
    batches = [tuple(unique[i : i + _ROWS_PER_STATEMENT]) for i in range(0, full, _ROWS_PER_STATEMENT)]
    for rows in (batches, [tuple(unique[full:])] if full < len(unique) else []):
        if rows:
            values_sql = ", ".join([f"({placeholder})"] * len(rows[0]))
            connection.exec_driver_sql(f"INSERT INTO {table.name} (value) VALUES {values_sql}", rows)
