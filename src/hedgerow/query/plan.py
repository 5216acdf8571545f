"""The person-set plan: what a cohort means, independent of any engine's spelling.

A plan is a tree of set operations (union, intersect, except) over leaves, each leaf a set of
person ids: persons whose properties match, persons whose events match a behaviour, or members
of another cohort. Times are already resolved to UTC microseconds, so compiling is pure spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PropertyTest = Literal[
    "in",  # stored text is one of `values` (exact / is_not / in / not_in)
    "contains",  # case-insensitive substring, any of `values`
    "regex",  # RE2 partial match, any of `values`
    "num_cmp",  # numeric value `op` values[0]
    "str_cmp",  # string value `op` values[0] (byte order)
    "is_set",  # present and not null
    "num_between",  # values[0] <= numeric value <= values[1]
    "num_outside",  # numeric value < values[0] or > values[1]
    "date_cmp",  # parsed date-time (UTC microseconds) `op` values[0]; "range" = [values[0], values[1])
]
CompareOp = Literal["gt", "gte", "lt", "lte", "eq", "range", ""]


class LoweringError(ValueError):
    """A cohort definition that cannot be calculated; `code` is the calculation error code."""

    def __init__(self, message: str, *, code: str = "validation_error"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PropertyMatch:
    """One test on a JSON properties column.

    `negated` flips the test with missing values counted as not matching the positive test, so
    `is_not`, `not_icontains`, `not_regex` and `is_not_set` match persons lacking the property.
    """

    key: str
    test: PropertyTest
    values: tuple[str | float | int, ...] = ()
    op: CompareOp = ""
    negated: bool = False


@dataclass(frozen=True)
class StepMatch:
    """Which events count: an event name (None = any) narrowed by URL and property tests."""

    event: str | None
    url: str | None = None
    url_matching: Literal["contains", "exact", "regex"] = "contains"
    properties: tuple[PropertyMatch, ...] = ()


@dataclass(frozen=True)
class EventMatch:
    """Any one of `steps` matches (an action's steps are alternatives); then every filter must."""

    steps: tuple[StepMatch, ...]
    filters: tuple[PropertyMatch, ...] = ()


@dataclass(frozen=True)
class Window:
    """[start_us, end_us] in UTC microseconds; start None = since the beginning."""

    start_us: int | None
    end_us: int


@dataclass(frozen=True)
class PersonProperties:
    match: PropertyMatch


@dataclass(frozen=True)
class PerformedEvent:
    """At least one matching event in the window, or a count compared with `count_op`."""

    events: EventMatch
    window: Window
    count_op: CompareOp = ""
    count: int = 0


@dataclass(frozen=True)
class FirstTimeEvent:
    """The person's first-ever matching event falls in the window."""

    events: EventMatch
    window: Window


@dataclass(frozen=True)
class EventSequence:
    """A matching `first` event, then a `then` event strictly later and within `within_us`."""

    first: EventMatch
    then: EventMatch
    window: Window
    within_us: int


@dataclass(frozen=True)
class RegularEvents:
    """At least `min_periods` of the periods (boundaries, newest last) have a count `op` `count`."""

    events: EventMatch
    boundaries_us: tuple[int, ...]
    count_op: CompareOp
    count: int
    min_periods: int


@dataclass(frozen=True)
class CohortMembers:
    """Members of another cohort: its static list, or its dynamic members at `version`."""

    cohort_id: int
    is_static: bool
    version: int | None


@dataclass(frozen=True)
class Nobody:
    """The empty set (a reference to a cohort that does not exist)."""


Leaf = (
    PersonProperties
    | PerformedEvent
    | FirstTimeEvent
    | EventSequence
    | RegularEvents
    | CohortMembers
    | Nobody
)


@dataclass(frozen=True)
class Union:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class Intersect:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class Except:
    keep: Plan
    remove: Plan


Plan = Leaf | Union | Intersect | Except


@dataclass(frozen=True)
class PersonSetPlan:
    project_id: int
    root: Plan
    notes: tuple[str, ...] = field(default=())
