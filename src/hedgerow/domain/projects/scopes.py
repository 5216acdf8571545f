"""API-key scopes as PostHog names them, and the rule that decides whether a key has one."""

from __future__ import annotations

from collections.abc import Iterable

from hedgerow.errors import InvalidInput

SCOPE_OBJECTS = frozenset(
    {
        "action",
        "access_control",
        "activity_log",
        "annotation",
        "batch_export",
        "batch_import",
        "cohort",
        "dashboard",
        "dashboard_template",
        "early_access_feature",
        "error_tracking",
        "event",
        "event_definition",
        "experiment",
        "export",
        "feature_flag",
        "file_system",
        "file_system_shortcut",
        "group",
        "hog_function",
        "insight",
        "link",
        "notebook",
        "organization",
        "organization_member",
        "person",
        "persisted_folder",
        "plugin",
        "project",
        "property_definition",
        "query",
        "session_recording",
        "session_recording_playlist",
        "sharing_configuration",
        "subscription",
        "survey",
        "user",
        "webhook",
        "warehouse_view",
        "warehouse_table",
        "logs",
    }
)


def normalise_scopes(raw: Iterable[str]) -> list[str]:
    """Validate scopes given when a key is created: `*` or `<object>:read|write`."""
    scopes: list[str] = []
    for scope in (s.strip() for s in raw):
        if not scope:
            continue
        if scope == "*":
            return ["*"]
        obj, _, action = scope.partition(":")
        if obj not in SCOPE_OBJECTS or action not in {"read", "write"}:
            raise InvalidInput(f"Invalid scope: {scope}", attr="scopes")
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def first_missing_scope(granted: Iterable[str], required: Iterable[str]) -> str | None:
    """The first required scope the key lacks; a legacy key (no scopes) or `*` lacks none."""
    have = set(granted)
    if not have or "*" in have:
        return None
    for scope in required:
        obj, _, action = scope.partition(":")
        if scope in have or (action == "read" and f"{obj}:write" in have):
            continue
        return scope
    return None
