"""The scope rule: `:write` satisfies `:read`, `*` and legacy scope-less keys allow everything."""

from __future__ import annotations

import pytest

from hedgerow.domain.projects.scopes import first_missing_scope, normalise_scopes
from hedgerow.errors import InvalidInput


@pytest.mark.parametrize(
    ("granted", "required", "missing"),
    [
        ([], ["cohort:write"], None),
        (["*"], ["cohort:write"], None),
        (["cohort:write"], ["cohort:read"], None),
        (["cohort:read"], ["cohort:write"], "cohort:write"),
        (["cohort:read"], ["cohort:read", "person:read"], "person:read"),
        (["person:write", "cohort:read"], ["cohort:read", "person:read"], None),
    ],
)
def test_first_missing_scope(granted: list[str], required: list[str], missing: str | None) -> None:
    assert first_missing_scope(granted, required) == missing


def test_normalise_scopes() -> None:
    assert normalise_scopes(["cohort:read", " dashboard:write", "cohort:read", ""]) == [
        "cohort:read", "dashboard:write",
    ]  # fmt: skip
    assert normalise_scopes(["cohort:read", "*"]) == ["*"]
    with pytest.raises(InvalidInput):
        normalise_scopes(["cohort:delete"])
    with pytest.raises(InvalidInput):
        normalise_scopes(["kittens:read"])
