"""How one event changes a person's properties (`$set_once`, then `$set`, then `$unset`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Event properties PostHog copies to the person: current value to `$set`, first value to
# `$set_once` as `$initial_<name>`.
PERSON_COPIED_KEYS = (
    "$app_build",
    "$app_name",
    "$app_namespace",
    "$app_version",
    "$browser",
    "$browser_version",
    "$device_type",
    "$current_url",
    "$pathname",
    "$os",
    "$os_name",
    "$os_version",
    "$referring_domain",
    "$referrer",
    "$screen_height",
    "$screen_width",
    "$viewport_height",
    "$viewport_width",
    "$raw_user_agent",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_name",
    "utm_term",
    "gclid",
    "gad_source",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "twclid",
    "li_fat_id",
    "mc_cid",
    "igshid",
    "ttclid",
    "rdt_cid",
    "irclid",
    "_kx",
    "epik",
    "qclid",
    "sccid",
)
_SERVER_SKIPPED = frozenset({"$os", "$os_version"})
_COPIED = frozenset(PERSON_COPIED_KEYS)
_INITIAL_NAME = {key: f"$initial_{key.removeprefix('$')}" for key in PERSON_COPIED_KEYS}
NO_PERSON_UPDATE_EVENTS = frozenset({"$exception", "$$heatmap"})
# Changes to these alone do not make an ordinary event rewrite the person (PostHog skips the
# write too); they are stored with the next real change.
NOISY_KEYS = frozenset(
    {
        "$current_url",
        "$pathname",
        "$referrer",
        "$referring_domain",
        "$screen_height",
        "$screen_width",
        "$viewport_height",
        "$viewport_width",
        "$browser",
        "$browser_version",
        "$os",
        "$os_version",
        "$os_name",
        "$device_type",
        "$raw_user_agent",
    }
)
PERSON_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously", "$set"})


def is_noisy(key: str) -> bool:
    return key in NOISY_KEYS or (key.startswith("$geoip_") and key != "$geoip_disable")


def all_noisy(keys: set[str]) -> bool:
    if keys <= NOISY_KEYS:  # nearly always, for a known person: one set operation in C
        return True
    return all(is_noisy(k) for k in keys - NOISY_KEYS)


NO_COPY_EVENTS = frozenset({"$snapshot", "$performance_event"})


class PersonUpdate:
    """The `$set_once`, `$set` and `$unset` one event asks for, after PostHog's normalisation."""

    __slots__ = ("set", "set_once", "unset")

    def __init__(self, set_: dict[str, Any], set_once: dict[str, Any], unset: list[str]):
        self.set = set_
        self.set_once = set_once
        self.unset = unset

    @property
    def empty(self) -> bool:
        return not (self.set or self.set_once or self.unset)


def _unset_keys(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        return [str(k) for k in raw]
    if isinstance(raw, list):
        return [k for k in raw if isinstance(k, str)]
    return []


def person_update_for(event: str, properties: dict[str, Any]) -> PersonUpdate:
    if event in NO_PERSON_UPDATE_EVENTS:
        return PersonUpdate({}, {}, [])
    raw_set = properties.get("$set")
    raw_once = properties.get("$set_once")
    set_ = dict(raw_set) if isinstance(raw_set, dict) else {}
    set_once = dict(raw_once) if isinstance(raw_once, dict) else {}
    if event not in NO_COPY_EVENTS:
        _copy_event_properties(properties, set_, set_once)
    return PersonUpdate(set_, set_once, _unset_keys(properties.get("$unset")))


def _copy_event_properties(
    properties: dict[str, Any], set_: dict[str, Any], set_once: dict[str, Any]
) -> None:
    is_server = properties.get("$is_server") is True
    if "$os" not in properties and "$os_name" in properties and not is_server:
        # `$os_name` stands in for `$os` on platforms that only send the former.
        set_.setdefault("$os", properties["$os_name"])
        set_once.setdefault("$initial_os", properties["$os_name"])
    for key in _COPIED.intersection(properties):
        if is_server and key in _SERVER_SKIPPED:
            continue
        value = properties[key]
        set_.setdefault(key, value)
        set_once.setdefault(_INITIAL_NAME[key], value)


_ABSENT: Any = object()  # equal to nothing but itself


def apply_update(properties: dict[str, Any], update: PersonUpdate) -> set[str]:
    """Apply in PostHog's order, in place; returns the keys that changed.

    PostHog rewrites object values even when equal; skipping equal ones is only a write saving.

    `$unset` removes only keys the person had before this event, so `$set` k plus `$unset` k
    leaves k removed if it existed and set if it did not.
    """
    had_before = [k for k in update.unset if k in properties] if update.unset else ()
    changed: set[str] = set()
    if update.set_once:
        # Set operations in C: on a known person nearly every `$set_once` key is already there.
        # (The loop keeps the event's key order, so a replay writes identical JSON.)
        missing = update.set_once.keys() - properties.keys()
        if missing:
            for key, value in update.set_once.items():
                if key in missing:
                    properties[key] = value
                    changed.add(key)
    for key, value in update.set.items():
        current = properties.get(key, _ABSENT)
        # Strict, as PostHog compares: `true` replaces `1` (Python holds them equal).
        if current != value or type(current) is not type(value):
            properties[key] = value
            changed.add(key)
    for key in had_before:
        properties.pop(key, None)
        changed.add(key)
    return changed


def initial_properties(update: PersonUpdate, extra: Iterable[tuple[str, Any]] = ()) -> dict[str, Any]:
    """A new person: `$set_once` overlaid by `$set` (set wins)."""
    properties = {**update.set_once, **update.set}
    properties.update(extra)
    return properties


# Every event property that person processing reads (`person_update_for`, merges, personless
# events). Capture keeps just these beside the stored properties text, so applying a batch to
# persons never parses or copies the rest.
PERSON_INPUT_KEYS = frozenset(
    {
        "$set",
        "$set_once",
        "$unset",
        "$is_server",
        "$os_name",
        "$anon_distinct_id",
        "alias",
        "$process_person_profile",
        "$update_person_last_seen_at",
        *PERSON_COPIED_KEYS,
    }
)


def person_inputs(properties: dict[str, Any]) -> dict[str, Any]:
    """The part of an event's properties that can change a person (see PERSON_INPUT_KEYS)."""
    return {key: value for key, value in properties.items() if key in PERSON_INPUT_KEYS}


# An *ordinary* event (`apply_copied`): none of these events, and no person input but copied keys.
NOT_ORDINARY_EVENTS = PERSON_EVENTS | NO_PERSON_UPDATE_EVENTS | NO_COPY_EVENTS
NOT_ORDINARY_INPUTS = (PERSON_INPUT_KEYS - _COPIED) | {"$os_name"}


def apply_copied(properties: dict[str, Any], copied: dict[str, Any]) -> bool:
    """What `apply_update(properties, person_update_for(event, copied))` does for an ordinary
    event, whose person inputs `copied` are copied keys only, without building the update: each
    key's first value as `$initial_<key>` if missing, its value set if different. Returns whether
    a change forces a write (one not all noisy)."""
    loud = False
    for key, value in copied.items():
        initial = _INITIAL_NAME[key]
        if initial not in properties:
            properties[initial] = value
            loud = True  # `$initial_*` keys are never noisy
    for key, value in copied.items():
        current = properties.get(key, _ABSENT)
        if current != value or type(current) is not type(value):
            properties[key] = value
            loud = loud or not is_noisy(key)
    return loud
