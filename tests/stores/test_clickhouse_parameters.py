"""Parameter text for ClickHouse, checked against ClickHouse's own parser (chDB).

Both ways a value reaches ClickHouse are covered: `render_param` (chDB) and clickhouse-connect's
server-side binding (a ClickHouse server), each fed to the engine and read back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.binding import bind_query

from hedgerow.store.clickhouse_executors import ChdbExecutor
from hedgerow.store.clickhouse_values import decode_json_compact, render_param

TRICKY = [
    "plain",
    "",
    "O'Brien",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "tab\there",
    "new\nline\r\n",
    "\\N",
    "{p0:String}",
    "'; DROP TABLE events; --",
    "ünïcödé ✓ 中文",
    "$browser",
]

CASES: list[tuple[str, Any, Any]] = [
    *[("String", s, s) for s in TRICKY],
    ("Int64", -9_007_199_254_740_993, -9_007_199_254_740_993),
    ("UInt64", 18_446_744_073_709_551_615, 18_446_744_073_709_551_615),
    ("Float64", 2.5, 2.5),
    ("Bool", True, True),
    ("Bool", False, False),
    ("Nullable(String)", None, None),
    ("Date", date(2024, 2, 29), date(2024, 2, 29)),
    ("UUID", "0190f3a4-0000-7000-8000-00000000abcd", "0190f3a4-0000-7000-8000-00000000abcd"),
    (
        "DateTime64(6, 'UTC')",
        datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    ),
    (
        "DateTime64(6, 'UTC')",
        datetime(2024, 3, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 3, 1, 12, 0, 0, 5, tzinfo=UTC),
    ),
    ("Array(String)", TRICKY, TRICKY),
    ("Array(Int64)", [1, -2, 3], [1, -2, 3]),
    ("Array(Nullable(String))", ["a", None], ["a", None]),
    ("Tuple(String, Int64)", ("it's", 7), ("it's", 7)),
]


@pytest.fixture(scope="module")
def chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbExecutor]:
    executor = ChdbExecutor(str(Path(tmp_path_factory.mktemp("chdb-params"))))
    try:
        yield executor
    finally:
        executor.close()


def test_render_param_text() -> None:
    assert render_param("it's \\ \t\n") == "it's \\\\ \\t\\n"
    assert render_param(None) == "\\N"
    assert render_param(["it's", None, 3]) == "['it\\'s', NULL, 3]"
    assert render_param(("a", True)) == "('a', true)"
    assert render_param(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02 03:04:05.000000"
    with pytest.raises(TypeError):
        render_param(object())


@pytest.mark.parametrize(("type_name", "value", "expected"), CASES, ids=lambda v: repr(v)[:30])
def test_rendered_parameters_read_back_unchanged(
    chdb: ChdbExecutor, type_name: str, value: Any, expected: Any
) -> None:
    assert chdb.query(f"SELECT {{v:{type_name}}}", {"v": value}) == [(expected,)]


@pytest.mark.parametrize(("type_name", "value", "expected"), CASES, ids=lambda v: repr(v)[:30])
def test_clickhouse_connect_binding_reads_back_the_same(
    chdb: ChdbExecutor, type_name: str, value: Any, expected: Any
) -> None:
    """What clickhouse-connect sends a server as `param_v` parses to the same value."""
    _, bound = bind_query(f"SELECT {{v:{type_name}}}", {"v": value})
    with chdb._lock:
        raw = chdb._session.query(f"SELECT {{v:{type_name}}}", "JSONCompact", params={"v": bound["param_v"]})
    assert decode_json_compact(raw.bytes()) == [(expected,)]


def test_parameters_compare_against_stored_text(chdb: ChdbExecutor) -> None:
    chdb.command("CREATE TABLE IF NOT EXISTS texts (s String) ENGINE = MergeTree ORDER BY s")
    chdb.insert("texts", ["s"], [(s,) for s in TRICKY])
    for text in TRICKY:
        assert chdb.query("SELECT count() FROM texts WHERE s = {s:String}", {"s": text}) == [(1,)]
    assert chdb.query("SELECT count() FROM texts WHERE s IN {all:Array(String)}", {"all": TRICKY}) == [
        (len(TRICKY),)
    ]
