"""Person UUIDv5 test vectors (PostHog's), illegal merge ids, and the property update order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from hedgerow.domain.persons.identity import is_illegal_merge_id, person_uuid
from hedgerow.domain.persons.properties import (
    NOT_ORDINARY_EVENTS,
    NOT_ORDINARY_INPUTS,
    all_noisy,
    apply_copied,
    apply_update,
    initial_properties,
    person_update_for,
)


@pytest.mark.parametrize(
    ("team", "distinct_id", "expected"),
    [
        (1, "test", "246f7a43-5507-564f-b687-793ee3c2dd79"),
        (2, "test", "00ce873a-549c-548e-bbec-cc804a385dd8"),
        (1, "test2", "45c17302-ee44-5596-916a-0eba21f4b638"),
    ],
)
def test_person_uuid_vectors(team: int, distinct_id: str, expected: str) -> None:
    assert person_uuid(team, distinct_id) == expected


@pytest.mark.parametrize(
    "value",
    ["", "  ", "anonymous", "Guest", "DISTINCT_ID", "distinctid", "id", "not_authenticated", "email",
     "undefined", "true", "False", '"anonymous"', "'null'", "[object Object]", "NaN", "None", "none",
     "null", "0"],
)  # fmt: skip
def test_illegal_merge_ids(value: str) -> None:
    assert is_illegal_merge_id(value)


@pytest.mark.parametrize("value", ["user-1", "NULL", "nan", "00", "ann@example.com", "identified"])
def test_legal_merge_ids(value: str) -> None:
    assert not is_illegal_merge_id(value)


def test_set_once_then_set_then_unset() -> None:
    person = {"kept": 1, "old": "x", "nulled": None}
    update = person_update_for(
        "$set",
        {
            "$set_once": {"kept": 2, "nulled": "no", "fresh_once": "a"},
            "$set": {"old": "y", "new": "z", "kept": 3},
            "$unset": ["old", "new", "missing"],
        },
    )
    assert apply_update(person, update)
    # `old` existed before the event, so the unset removes it; `new` did not, so it stays set.
    assert person == {"kept": 3, "nulled": None, "fresh_once": "a", "new": "z"}


def test_unset_accepts_an_object_and_nothing_changes_twice() -> None:
    person = {"a": 1, "b": 2}
    assert apply_update(person, person_update_for("e", {"$unset": {"a": None}}))
    assert person == {"b": 2}
    assert not apply_update(person, person_update_for("e", {"$set": {"b": 2}}))


def test_set_compares_strictly_as_posthog_does() -> None:
    # Python holds 1 == True == 1.0; PostHog's strict comparison does not hold 1 === true.
    person: dict[str, object] = {"flag": 1, "count": 0, "name": "a"}
    changed = apply_update(
        person, person_update_for("e", {"$set": {"flag": True, "count": False, "name": "a"}})
    )
    assert changed == {"flag", "count"}
    assert person["flag"] is True and person["count"] is False
    assert not apply_update(person, person_update_for("e", {"$set": {"flag": True, "name": "a"}}))


def test_initial_properties_from_event_properties() -> None:
    update = person_update_for(
        "$pageview",
        {"$browser": "Firefox", "utm_source": "news", "$os": "Mac OS X", "$set": {"$browser": "Chrome"}},
    )
    assert update.set == {"$browser": "Chrome", "utm_source": "news", "$os": "Mac OS X"}
    assert update.set_once == {
        "$initial_browser": "Firefox",
        "$initial_utm_source": "news",
        "$initial_os": "Mac OS X",
    }
    assert initial_properties(update)["$browser"] == "Chrome"


def test_server_events_do_not_copy_os() -> None:
    update = person_update_for("e", {"$is_server": True, "$os": "Linux", "$os_version": "6"})
    assert update.set == {} and update.set_once == {}


def test_exceptions_never_change_persons() -> None:
    assert person_update_for("$exception", {"$set": {"a": 1}}).empty


def _random_copied(rng: random.Random) -> dict[str, Any]:
    keys = rng.sample(COPIED_SAMPLE, rng.randint(0, 4))
    return {key: rng.choice(VALUES) for key in keys}


COPIED_SAMPLE = ["$current_url", "$browser", "$pathname", "utm_source", "gclid", "$app_version", "$os"]
VALUES: list[Any] = ["a", "b", 1, True, 1.0, None, {"x": 1}, [1]]


def test_the_ordinary_event_shortcut_changes_persons_as_the_general_path_does() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        start = _random_copied(rng)
        start.update(
            {
                f"$initial_{k.removeprefix('$')}": v
                for k, v in _random_copied(rng).items()
                if rng.random() < 0.7
            }
        )
        inputs = _random_copied(rng)
        assert inputs.keys().isdisjoint(NOT_ORDINARY_INPUTS)
        general, shortcut = dict(start), dict(start)
        changed = apply_update(general, person_update_for("$pageview", inputs))
        assert apply_copied(shortcut, inputs) == (bool(changed) and not all_noisy(changed))
        assert shortcut == general
        # Python holds 1, 1.0 and True equal: the values' types must agree as well.
        assert [type(v) for v in shortcut.values()] == [type(general[k]) for k in shortcut]


def test_events_that_are_not_ordinary_take_the_general_path() -> None:
    for name in ("$identify", "$create_alias", "$merge_dangerously", "$set", "$exception", "$snapshot"):
        assert name in NOT_ORDINARY_EVENTS
    for key in ("$set", "$set_once", "$unset", "$os_name", "$is_server", "$process_person_profile", "alias"):
        assert key in NOT_ORDINARY_INPUTS
    assert "$update_person_last_seen_at" in NOT_ORDINARY_INPUTS
    assert "$current_url" not in NOT_ORDINARY_INPUTS
