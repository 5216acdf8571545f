"""`store`: one fresh analytics store per test, once per engine (DuckDB file, chDB directory).

Suites under tests/stores/ that take `store` run on every engine; compare results across
engines by asserting the same expected values in both runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgerow.store.base import AnalyticsStore
from tests.stores.engines import ENGINES, open_test_store


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnalyticsStore]:
    opened = open_test_store(request.param, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
