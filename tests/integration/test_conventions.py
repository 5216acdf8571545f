"""Conventions every endpoint shares: the error body on every path, OpenAPI, health, datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support import HedgerowClient, assert_error


def test_health(hedgerow: HedgerowClient) -> None:
    response = hedgerow.get("/_health", auth=False)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    # The capture service's probes answer in plain text, with or without a trailing slash.
    for path in ("/", "/_readiness", "/_liveness", "/_liveness/"):
        probe = hedgerow.get(path, auth=False)
        assert probe.status_code == 200 and probe.headers["content-type"].startswith("text/plain")


def test_unknown_route_is_404_error_body(hedgerow: HedgerowClient) -> None:
    assert_error(
        hedgerow.get("/api/projects/1/no_such_thing/"),
        404,
        type="invalid_request",
        code="not_found",
        detail="Not found.",
    )
    assert_error(hedgerow.get("/nothing-here", auth=False), 404, type="invalid_request", code="not_found")


def test_wrong_method_is_405_error_body(hedgerow: HedgerowClient) -> None:
    response = hedgerow.request("PATCH", hedgerow.api("dashboard_templates"))
    assert_error(
        response, 405, type="invalid_request", code="method_not_allowed", detail='Method "PATCH" not allowed.'
    )


def test_uncaught_error_is_500_without_traceback(hedgerow: HedgerowClient) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals")

    hedgerow.app.add_api_route("/boom", explode)
    response = hedgerow.get("/boom")
    assert_error(response, 500, type="server_error", code="error", detail="A server error occurred.")
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_openapi_schema_and_docs_page(hedgerow: HedgerowClient) -> None:
    schema = hedgerow.get("/api/schema/", auth=False)
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/projects/{project_id}/dashboard_templates" in paths
    docs = hedgerow.get("/api/schema/swagger-ui/", auth=False)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_datetimes_are_utc_with_z(hedgerow: HedgerowClient) -> None:
    created = hedgerow.post(
        hedgerow.api("dashboard_templates"), json={"template_name": "t", "tiles": [{"type": "TEXT"}]}
    ).json()
    stamp = created["created_at"]
    assert stamp.endswith("Z") and "+00:00" not in stamp
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def test_body_that_is_not_an_object_is_a_validation_error(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api("dashboard_templates"), json=[1, 2])
    assert_error(
        response,
        400,
        type="validation_error",
        code="invalid_input",
        detail="Invalid data. Expected a dictionary, but got list.",
    )
