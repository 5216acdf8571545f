"""The `semver_*` operators of person property filters.

Both sides are read as `major[.minor[.patch]]`, with an optional leading `v`; missing parts
are 0 and anything after the patch number (a pre-release or build suffix) is ignored, so
`1.2` equals `1.2.0` and `1.2.3-beta` equals `1.2.3`. A value that does not start with a
version matches no operator. Ranges follow npm's: `~1.2.3` is >=1.2.3 <1.3.0; `^1.2.3` is
>=1.2.3 <2.0.0 (`^0.2.3` <0.3.0, `^0.0.3` <0.0.4); `1.2.*` is >=1.2.0 <1.3.0.
"""

from __future__ import annotations

import re
from typing import Any

Version = tuple[int, int, int]

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_WILDCARD = re.compile(r"^\s*v?(\d+)(?:\.(\d+|\*|x))?(?:\.(\d+|\*|x))?\s*$", re.IGNORECASE)


def parse_version(value: Any) -> Version | None:
    if isinstance(value, bool) or value is None:
        return None
    found = _VERSION.match(str(value))
    if found is None:
        return None
    major, minor, patch = (int(part) if part else 0 for part in found.groups())
    return major, minor, patch


def _caret_upper(low: Version) -> Version:
    major, minor, patch = low
    if major:
        return major + 1, 0, 0
    if minor:
        return 0, minor + 1, 0
    return 0, 0, patch + 1


def _wildcard_range(value: Any) -> tuple[Version, Version] | None:
    found = _WILDCARD.match(str(value))
    if found is None:
        return None
    major, minor, patch = found.groups()
    if minor is None or not minor.isdigit():
        return (int(major), 0, 0), (int(major) + 1, 0, 0)
    if patch is None or not patch.isdigit():
        return (int(major), int(minor), 0), (int(major), int(minor) + 1, 0)
    exact = (int(major), int(minor), int(patch))
    return exact, (exact[0], exact[1], exact[2] + 1)


def _range(operator: str, want: Any) -> tuple[Version, Version] | None:
    if operator == "semver_wildcard":
        return _wildcard_range(want)
    low = parse_version(str(want).lstrip("~^ ") if want is not None else None)
    if low is None:
        return None
    if operator == "semver_tilde":
        return low, (low[0], low[1] + 1, 0)
    return low, _caret_upper(low)


def compare_versions(operator: str, have: Any, want: Any) -> bool:
    person = parse_version(have)
    if person is None:
        return False
    if operator in ("semver_tilde", "semver_caret", "semver_wildcard"):
        bounds = _range(operator, want)
        return bounds is not None and bounds[0] <= person < bounds[1]
    wanted = parse_version(want)
    if wanted is None:
        return False
    return {
        "semver_eq": person == wanted,
        "semver_neq": person != wanted,
        "semver_gt": person > wanted,
        "semver_gte": person >= wanted,
        "semver_lt": person < wanted,
        "semver_lte": person <= wanted,
    }[operator]
