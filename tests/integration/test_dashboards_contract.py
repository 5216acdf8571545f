"""Dashboards: fields and routes the contract spells out (dashboards spec §1.1, §3.2, §5)."""

from __future__ import annotations

from typing import Any

from tests.support import HedgerowClient

D = "dashboards"


def create(hedgerow: HedgerowClient, **body: Any) -> dict[str, Any]:
    response = hedgerow.post(hedgerow.api(D), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def patch(hedgerow: HedgerowClient, dashboard_id: int, body: Any) -> dict[str, Any]:
    response = hedgerow.patch(hedgerow.api(D) + f"{dashboard_id}/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_access_control_version_is_v1_for_restricted_dashboards(hedgerow: HedgerowClient) -> None:
    open_board = create(hedgerow, name="open")
    assert open_board["access_control_version"] == "v2"
    restricted = create(hedgerow, name="restricted", restriction_level=37)
    assert restricted["access_control_version"] == "v1"
    listed = {d["name"]: d for d in hedgerow.get(hedgerow.api(D)).json()["results"]}
    assert listed["restricted"]["access_control_version"] == "v1"
    assert listed["open"]["access_control_version"] == "v2"
    assert patch(hedgerow, open_board["id"], {"restriction_level": 37})["access_control_version"] == "v1"
    assert patch(hedgerow, open_board["id"], {"restriction_level": 21})["access_control_version"] == "v2"
