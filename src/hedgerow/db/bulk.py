"""Many rows written by one statement, handed to the database driver with as little per-row
work in Python as possible: for the ingestion path, which writes thousands of rows a second.

SQLAlchemy's own executemany converts every row's parameters through several layers (about
20 microseconds a row here, several times what SQLite takes to write it). A `BulkStatement` is
compiled once per dialect; each row is a tuple in the order of the statement's `keys`, each
value converted by its type's bind processor (looked up once, and only where the type has one),
and all rows go to the driver's executemany at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Insert
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]  # the driver's parameter names, in the statement's order
    # Per driver parameter: the index of its value in a row, and its conversion (or None).
    sources: tuple[tuple[int, Processor | None], ...]
    as_given: bool  # rows can be passed on untouched


class BulkStatement:
    def __init__(self, statement: UpdateBase, keys: Sequence[str], *, serialized: Collection[str] = ()):
        """`keys` name the statement's parameters (an INSERT's columns) in the order rows give
        them; `serialized` are given already as the driver takes them (JSON as text), and are
        not converted again."""
        self._statement = statement
        self._keys = tuple(keys)
        self._serialized = frozenset(serialized)
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect: Dialect) -> _Plan:
        key = (dialect.name, dialect.driver)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        column_keys = list(self._keys) if isinstance(self._statement, Insert) else None
        compiled = self._statement.compile(dialect=dialect, column_keys=column_keys)
        names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
        if sorted(names) != sorted(self._keys):
            raise ValueError(f"the statement's parameters {names} are not the keys {self._keys}")
        sources: list[tuple[int, Processor | None]] = []
        for name in names:
            processor = None
            if name not in self._serialized:
                bind_type = compiled.binds[name].type
                processor = bind_type.dialect_impl(dialect).bind_processor(dialect)
            sources.append((self._keys.index(name), processor))
        as_given = dialect.positional and names == self._keys and all(p is None for _, p in sources)
        plan = _Plan(str(compiled), dialect.positional, names, tuple(sources), as_given)
        with self._lock:
            self._plans[key] = plan
        return plan

    def executemany(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int | None:
        """Run the statement once per row, in `connection`'s transaction; the rows it matched
        or wrote, as the driver counts them (None where it cannot count them over many rows)."""
        return self.run(connection, self.driver_call(connection.dialect, rows))

    @staticmethod
    def run(connection: Connection, call: tuple[str, Any]) -> int | None:
        """`executemany` for rows converted beforehand (`driver_call`), perhaps before a lock
        was taken."""
        sql, params = call
        if not params:
            return 0
        count = connection.exec_driver_sql(sql, params).rowcount
        return int(count) if connection.dialect.supports_sane_multi_rowcount else None

    def driver_call(self, dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> tuple[str, Any]:
        """The SQL and the parameters for the driver's own executemany, for a caller that holds
        a driver connection rather than SQLAlchemy's."""
        plan = self._plan(dialect)
        if plan.as_given:
            return plan.sql, list(rows)
        sources = plan.sources
        converted = [
            tuple(row[i] if p is None or row[i] is None else p(row[i]) for i, p in sources) for row in rows
        ]
        if plan.positional:
            return plan.sql, converted
        return plan.sql, [dict(zip(plan.names, values, strict=True)) for values in converted]
