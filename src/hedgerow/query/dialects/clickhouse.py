"""ClickHouse spelling: `{name:Type}` placeholders, JSONExtract*, RE2 `match`, DISTINCT set ops."""

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
)
from hedgerow.query.plan import PersonSetPlan


class ClickHouseDialect(Dialect):
    name = "clickhouse"
    sqlglot_dialect = "clickhouse"
    false = "0"

    def placeholder(self, name: str, value: Any) -> str:
        if isinstance(value, bool):
            kind = "Bool"
        elif isinstance(value, int):
            kind = "Int64"
        elif isinstance(value, float):
            kind = "Float64"
        else:
            kind = "String"
        return f"{{{name}:{kind}}}"

    def json_text(self, column: str, key_param: str, key: str) -> tuple[str, Any]:
        # Strings unquoted, JSON null and missing keys NULL, anything else as written.
        kind = f"JSONType({column}, {key_param})"
        return (
            f"multiIf({kind} = 'String', JSONExtractString({column}, {key_param}), "
            f"{kind} = 'Null', NULL, JSONExtractRaw({column}, {key_param}))",
            key,
        )

    def to_text(self, expr: str) -> str:
        return expr

    def epoch_us(self, expr: str) -> str:
        return f"toUnixTimestamp64Micro(toDateTime64({expr}, 6, 'UTC'))"

    def instant(self, micros: str) -> str:
        return f"fromUnixTimestamp64Micro({micros}, 'UTC')"

    def contains(self, haystack: str, needle: str) -> str:
        return f"positionUTF8({haystack}, {needle}) > 0"

    def icontains(self, haystack: str, lowered_needle: str) -> str:
        return f"positionCaseInsensitiveUTF8({haystack}, {lowered_needle}) > 0"

    def regex(self, expr: str, pattern: str) -> str:
        return f"match({expr}, {pattern})"

    def number(self, text: str) -> str:
        return f"if(match({text}, {self.literal(NUMERIC_PATTERN)}), toFloat64OrNull({text}), NULL)"

    def date_us(self, text: str) -> str:
        # multiIf evaluates lazily, so the parser only sees values the patterns admitted.
        return (
            f"multiIf(match({text}, {self.literal(DATE_OFFSET_PATTERN)}) OR match({text}, "
            f"{self.literal(DATE_NAIVE_PATTERN)}), "
            f"toUnixTimestamp64Micro(parseDateTime64BestEffort({text}, 6, 'UTC')), "
            f"match({text}, {self.literal(UNIX_SECONDS_PATTERN)}), toInt64OrNull({text}) * 1000000, NULL)"
        )

    def set_op(self, kind: str) -> str:
        return f"{kind} DISTINCT"


DIALECT = ClickHouseDialect()


def compile_members(plan: PersonSetPlan, *, pretty: bool = True) -> CompiledSQL:
    return compile_plan(plan, DIALECT, pretty=pretty)
