"""A small, independent evaluator of cohort criteria over in-memory persons and events.

It implements the documented semantics directly from the criteria JSON (no code shared with the
compiler), so the engines' answers can be checked against it.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

NUMERIC = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
DAY = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
TIME = r"[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
DATE_NAIVE = re.compile(f"^{DAY}({TIME})?$")
DATE_OFFSET = re.compile(f"^{DAY}{TIME}(Z|[+-][0-9]{{2}}:[0-9]{{2}})$")
UNIX = re.compile(r"^-?[0-9]{1,12}$")
SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 30 * 86400, "year": 365 * 86400}


@dataclass
class World:
    now: datetime
    persons: dict[str, dict[str, Any]]  # person id -> properties
    owner: dict[str, str]  # distinct id -> person id (current)
    events: list[tuple[str, str, str, datetime, dict[str, Any]]]  # (uuid, distinct id, event, ts, props)
    static: dict[int, set[str]] = field(default_factory=dict)
    dynamic: dict[int, set[str]] = field(default_factory=dict)
    actions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def text_of(props: dict[str, Any], key: str) -> str | None:
    if key not in props or props[key] is None:
        return None
    value = props[key]
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def number(text: str | None) -> float | None:
    return float(text) if text is not None and NUMERIC.match(text) else None


def months_back(now: datetime, months: int) -> datetime:
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return now.replace(year=year, month=month, day=min(now.day, (nxt - timedelta(days=1)).day))


def back(now: datetime, amount: int, interval: str) -> datetime:
    if interval == "month":
        return months_back(now, amount)
    if interval == "year":
        return months_back(now, amount * 12)
    return now - timedelta(seconds=amount * SECONDS[interval])


def point(value: str, now: datetime) -> tuple[datetime, bool]:
    m = re.match(r"^-?(\d+)([hdwmy])$", value)
    if m:
        unit = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}[m.group(2)]
        return back(now, int(m.group(1)), unit), False
    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC), True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), False


def stored_date(text: str | None) -> datetime | None:
    if text is None:
        return None
    if DATE_OFFSET.match(text) or DATE_NAIVE.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if UNIX.match(text):
        return datetime.fromtimestamp(int(text), tz=UTC)
    return None


def compare(a: Any, op: str, b: Any) -> bool:
    return {
        "gt": a > b,
        "gte": a >= b,
        "lt": a < b,
        "lte": a <= b,
        "eq": a == b,
        "exact": a == b,
    }[op]


def prop_matches(props: dict[str, Any], f: dict[str, Any], now: datetime) -> bool:
    key, op, value = f["key"], f.get("operator") or "exact", f.get("value")
    text = text_of(props, key)
    values = [v for v in (value if isinstance(value, list) else [value]) if v is not None]
    if op in ("exact", "in"):
        return text is not None and text in [as_text(v) for v in values]
    if op in ("is_not", "not_in"):
        return not (text is not None and text in [as_text(v) for v in values])
    if op in ("icontains", "not_icontains"):
        hit = text is not None and any(as_text(v).lower() in text.lower() for v in values)
        return hit if op == "icontains" else not hit
    if op in ("regex", "not_regex"):
        hit = text is not None and any(re.search(as_text(v), text) for v in values)
        return hit if op == "regex" else not hit
    if op in ("gt", "gte", "lt", "lte", "min", "max"):
        cmp = {"min": "gte", "max": "lte"}.get(op, op)
        scalar = value[0] if isinstance(value, list) else value
        target = number(as_text(scalar).strip()) if not isinstance(scalar, bool) else None
        if target is not None:
            n = number(text)
            return n is not None and compare(n, cmp, target)
        return text is not None and compare(text, cmp, as_text(scalar))
    if op in ("between", "not_between"):
        n = number(text)
        if n is None:
            return False
        lo, hi = float(value[0]), float(value[1])
        return (lo <= n <= hi) if op == "between" else (n < lo or n > hi)
    if op == "is_set":
        return text is not None
    if op == "is_not_set":
        return text is None
    if op.startswith("is_date_"):
        stored = stored_date(text)
        if stored is None:
            return False
        at, date_only = point(value, now)
        if op == "is_date_before":
            return stored < at
        if op == "is_date_after":
            return stored > (at + timedelta(days=1) - timedelta(seconds=1) if date_only else at)
        return at <= stored < at + timedelta(days=1) if date_only else stored == at
    raise ValueError(op)


class Reference:
    def __init__(self, world: World):
        self.w = world
        self.by_person: dict[str, list[tuple[str, datetime, str, dict[str, Any]]]] = defaultdict(list)
        for uuid, distinct_id, event, ts, props in world.events:
            person = world.owner.get(distinct_id)
            if person is not None:
                self.by_person[person].append((uuid, ts, event, props))

    # --- event matching -------------------------------------------------------------------------
    def _step(self, step: dict[str, Any], event: str, props: dict[str, Any]) -> bool:
        if step.get("event") and step["event"] != event:
            return False
        url = step.get("url")
        if url:
            current = text_of(props, "$current_url")
            how = step.get("url_matching") or "contains"
            if current is None:
                return False
            if how == "exact" and current != url:
                return False
            if how == "contains" and url not in current:
                return False
            if how == "regex" and not re.search(url, current):
                return False
        return all(prop_matches(props, p, self.w.now) for p in step.get("properties") or [])

    def _matches(self, key: Any, event_type: str, filters: Any, event: str, props: dict[str, Any]) -> bool:
        steps = self.w.actions[int(key)] if event_type == "actions" else [{"event": str(key)}]
        if not any(self._step(s, event, props) for s in steps):
            return False
        return all(prop_matches(props, f, self.w.now) for f in filters or [])

    def _times(self, key: Any, event_type: str, filters: Any = None) -> dict[str, list[tuple[str, datetime]]]:
        out: dict[str, list[tuple[str, datetime]]] = {}
        for person, events in self.by_person.items():
            hits = [
                (u, ts)
                for u, ts, name, props in events
                if self._matches(key, event_type, filters, name, props)
            ]
            if hits:
                out[person] = hits
        return out

    # --- leaves ---------------------------------------------------------------------------------
    def _window(self, leaf: dict[str, Any]) -> tuple[datetime, datetime]:
        now = self.w.now
        if leaf.get("explicit_datetime"):
            start = point(leaf["explicit_datetime"], now)[0]
            end = point(leaf["explicit_datetime_to"], now)[0] if leaf.get("explicit_datetime_to") else now
            return start, end
        return back(now, int(leaf["time_value"]), leaf["time_interval"]), now

    def behavioral(self, leaf: dict[str, Any]) -> set[str]:
        kind, now = leaf["value"], self.w.now
        times = self._times(leaf["key"], leaf.get("event_type", "events"), leaf.get("event_filters"))
        op = {None: "eq", "exact": "eq"}.get(leaf.get("operator"), leaf.get("operator"))
        if kind in ("performed_event", "performed_event_multiple"):
            start, end = self._window(leaf)
            counts = {p: len({u for u, ts in hits if start <= ts <= end}) for p, hits in times.items()}
            if kind == "performed_event":
                return {p for p, n in counts.items() if n > 0}
            return {p for p, n in counts.items() if n > 0 and compare(n, op, int(leaf["operator_value"]))}
        if kind == "performed_event_first_time":
            start, end = self._window(leaf)
            return {p for p, hits in times.items() if start <= min(ts for _, ts in hits) <= end}
        if kind == "performed_event_sequence":
            start, end = self._window(leaf)
            then = self._times(leaf["seq_event"], leaf.get("seq_event_type") or "events")
            within = timedelta(seconds=int(leaf["seq_time_value"]) * SECONDS[leaf["seq_time_interval"]])
            out = set()
            for p, hits in times.items():
                firsts = [ts for _, ts in hits if start <= ts <= end]
                seconds = [ts for _, ts in then.get(p, []) if start <= ts <= end]
                if any(a < b <= a + within for a in firsts for b in seconds):
                    out.add(p)
            return out
        if kind == "performed_event_regularly":
            length, interval = int(leaf["time_value"]), leaf["time_interval"]
            total = int(leaf["total_periods"])
            bounds = [back(now, length * k, interval) for k in range(total, -1, -1)]
            out = set()
            for p, hits in times.items():
                per: Counter[int] = Counter()
                for _uuid, ts in set(hits):
                    if bounds[0] <= ts <= bounds[-1]:
                        idx = next((i for i, b in enumerate(bounds[1:-1]) if ts < b), total - 1)
                        per[idx] += 1
                good = sum(1 for n in per.values() if compare(n, op, int(leaf["operator_value"])))
                if good >= int(leaf["min_periods"]):
                    out.add(p)
            return out
        long_start = back(now, int(leaf["time_value"]), leaf["time_interval"])
        recent_start = back(now, int(leaf["seq_time_value"]), leaf["seq_time_interval"])
        out = set()
        for p, hits in times.items():
            stamps = [ts for _, ts in hits]
            recent = any(recent_start <= ts <= now for ts in stamps)
            between = any(long_start <= ts < recent_start for ts in stamps)
            before = any(ts < long_start for ts in stamps)
            if kind == "stopped_performing_event" and between and not recent:
                out.add(p)
            if kind == "restarted_performing_event" and recent and before and not between:
                out.add(p)
        return out

    def leaf(self, leaf: dict[str, Any]) -> set[str]:
        if leaf.get("type") == "behavioral":
            return self.behavioral(leaf)
        if leaf.get("type") == "cohort":
            cid = int(leaf["value"])
            return set(self.w.static.get(cid, self.w.dynamic.get(cid, set())))
        return {p for p, props in self.w.persons.items() if prop_matches(props, leaf, self.w.now)}

    # --- boolean structure, evaluated as plain logic over all persons ---------------------------
    def holds(self, node: dict[str, Any], person: str, cache: dict[int, set[str]]) -> bool:
        if node.get("type") in ("AND", "OR") and "values" in node:
            results = [self.holds(child, person, cache) for child in node["values"]]
            return all(results) if node["type"] == "AND" else any(results)
        if id(node) not in cache:
            cache[id(node)] = self.leaf(node)
        inside = person in cache[id(node)]
        return not inside if node.get("negation") else inside

    def members(self, filters: dict[str, Any]) -> set[str]:
        """Members by plain boolean logic over every known person (persons and event owners)."""
        universe = set(self.w.persons) | set(self.by_person)
        cache: dict[int, set[str]] = {}
        return {p for p in universe if self.holds(filters["properties"], p, cache)}
