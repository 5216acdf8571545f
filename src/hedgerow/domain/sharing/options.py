"""A share's settings: the display switches PostHog knows, each a boolean."""

from __future__ import annotations

from typing import Any

from hedgerow.errors import InvalidInput

SETTINGS_KEYS = ("whitelabel", "noHeader", "showInspector", "legend", "detailed", "hideExtraDetails")
# The spellings DRF's BooleanField accepts for each value (and for "not given").
_TRUE = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1})
_FALSE = frozenset(
    {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}
)
_NULL = frozenset({"null", "Null", "NULL", ""})


def _setting(value: Any) -> bool | None:
    if value is None or (isinstance(value, str) and value in _NULL):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int | float):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise InvalidInput("Invalid settings format", attr="settings")


def clean_settings(value: Any) -> dict[str, Any] | None:
    """Known switches only, as booleans; unknown keys and unset switches are dropped."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("Invalid settings format", attr="settings")
    switches = {k: _setting(v) for k, v in value.items() if k in SETTINGS_KEYS}
    return {k: v for k, v in switches.items() if v is not None}
