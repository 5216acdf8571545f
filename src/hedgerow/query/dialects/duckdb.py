"""DuckDB spelling: `$name` placeholders, JSON paths, RE2 `regexp_matches`, epoch microseconds."""

from __future__ import annotations

from typing import Any

from hedgerow.query.dialects.base import (
    DATE_NAIVE_PATTERN,
    DATE_OFFSET_PATTERN,
    NUMERIC_PATTERN,
    UNIX_SECONDS_PATTERN,
    CompiledSQL,
    Dialect,
    compile_plan,
    json_path_key,
)
from hedgerow.query.plan import PersonSetPlan


class DuckDBDialect(Dialect):
    name = "duckdb"
    sqlglot_dialect = "duckdb"

    def placeholder(self, name: str, value: Any) -> str:
        return f"${name}"

    def json_text(self, column: str, key_param: str, key: str) -> tuple[str, Any]:
        # json_extract_string unquotes strings and yields NULL for JSON null and missing keys.
        return f"json_extract_string({column}, {key_param})", json_path_key(key)

    def to_text(self, expr: str) -> str:
        # Person ids are UUIDs on every source; keep the type so no conversion is paid per row.
        return expr

    def epoch_us(self, expr: str) -> str:
        return f"epoch_us({expr})"

    def instant(self, micros: str) -> str:
        # Adding microseconds to the epoch is exact and independent of the session's time zone.
        return f"(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds({micros}))"

    def contains(self, haystack: str, needle: str) -> str:
        return f"strpos({haystack}, {needle}) > 0"

    def icontains(self, haystack: str, lowered_needle: str) -> str:
        return f"strpos(lower({haystack}), {lowered_needle}) > 0"

    def regex(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, {pattern})"

    def number(self, text: str) -> str:
        guard = f"regexp_full_match({text}, {self.literal(NUMERIC_PATTERN)})"
        return f"CASE WHEN {guard} THEN TRY_CAST({text} AS DOUBLE) END"

    def date_us(self, text: str) -> str:
        # A naive value is UTC: cast it as TIMESTAMP, never through the session's time zone.
        return (
            f"CASE WHEN regexp_full_match({text}, {self.literal(DATE_OFFSET_PATTERN)}) "
            f"THEN epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) "
            f"WHEN regexp_full_match({text}, {self.literal(DATE_NAIVE_PATTERN)}) "
            f"THEN epoch_us(TRY_CAST({text} AS TIMESTAMP)) "
            f"WHEN regexp_full_match({text}, {self.literal(UNIX_SECONDS_PATTERN)}) "
            f"THEN CAST({text} AS BIGINT) * 1000000 END"
        )

    def set_op(self, kind: str) -> str:
        return kind

    @staticmethod
    def literal(text: str) -> str:
        # DuckDB string literals do not treat backslashes as escapes.
        return "'" + text.replace("'", "''") + "'"


DIALECT = DuckDBDialect()


def compile_members(plan: PersonSetPlan, *, pretty: bool = True) -> CompiledSQL:
    return compile_plan(plan, DIALECT, pretty=pretty)
