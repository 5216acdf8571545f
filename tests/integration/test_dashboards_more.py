"""Dashboards: restriction levels and who may edit, built-in template keys, a failing tile, cohorts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from hedgerow.db.session import transaction
from hedgerow.domain.cohorts.models import Cohort
from hedgerow.domain.projects.models import OrganizationMembership, User
from hedgerow.store.base import EventRow
from tests.support import HedgerowClient, assert_error

NO_EDIT = "You don't have edit permissions for this dashboard."
NO_RESTRICT = (
    "Only the dashboard owner and project admins have the restriction rights required to change "
    "the dashboard's restriction level."
)


def member_key(hedgerow: HedgerowClient) -> str:
    """A key for an ordinary organization member (not an admin)."""
    key = hedgerow.issue_key(["*"], email="member@example.com")
    with transaction(hedgerow.app.state.sessionmaker) as session:
        user_id = session.query(User.id).filter(User.email == "member@example.com").scalar()
        session.execute(
            update(OrganizationMembership).where(OrganizationMembership.user_id == user_id).values(level=1)
        )
    return key


def trends(**source: Any) -> dict[str, Any]:
    return {
        "kind": "InsightVizNode",
        "source": {
            "kind": "TrendsQuery",
            "series": [{"kind": "EventsNode", "event": "$pageview"}],
            "dateRange": {"date_from": "2012-01-13", "date_to": "2012-01-15"},
            **source,
        },
    }


def test_restricted_dashboards_are_edited_by_their_owner_and_admins_only(hedgerow: HedgerowClient) -> None:
    member = member_key(hedgerow)
    path = hedgerow.api("dashboards")
    locked = hedgerow.post(path, json={"name": "locked", "restriction_level": 37}).json()
    assert locked["restriction_level"] == 37 and locked["effective_restriction_level"] == 37
    open_board = hedgerow.post(path, json={"name": "open"}).json()
    assert_error(
        hedgerow.patch(path + f"{locked['id']}/", key=member, json={"name": "mine"}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail=NO_EDIT,
    )
    seen = hedgerow.get(path + f"{locked['id']}/", key=member)
    assert seen.status_code == 200 and seen.json()["effective_privilege_level"] == 21
    assert hedgerow.get(path + f"{locked['id']}/").json()["effective_privilege_level"] == 37
    listed = {d["name"]: d for d in hedgerow.get(path, key=member).json()["results"]}
    assert (
        listed["locked"]["effective_privilege_level"] == 21
        and listed["open"]["effective_privilege_level"] == 37
    )
    assert hedgerow.patch(path + f"{open_board['id']}/", key=member, json={"name": "ok"}).status_code == 200
    assert_error(
        hedgerow.patch(path + f"{open_board['id']}/", key=member, json={"restriction_level": 21}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail=NO_RESTRICT,
    )
    assert_error(
        hedgerow.post(hedgerow.api("insights"), key=member, json={"name": "i", "dashboards": [locked["id"]]}),
        403,
        type="authentication_error",
        code="permission_denied",
        detail=f"You don't have permission to add insights to dashboard: {locked['id']}",
    )
    assert (
        hedgerow.patch(path + f"{locked['id']}/sharing/", key=member, json={"enabled": True}).status_code
        == 403
    )
    assert hedgerow.patch(path + f"{locked['id']}/", json={"restriction_level": 21}).status_code == 200
    assert hedgerow.patch(path + f"{locked['id']}/", key=member, json={"name": "now mine"}).status_code == 200


def test_website_traffic_key_and_placeholders_left_for_the_client(hedgerow: HedgerowClient) -> None:
    response = hedgerow.post(hedgerow.api("dashboards"), json={"use_template": "WEBSITE_TRAFFIC"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Website traffic" and body["creation_mode"] == "template"
    assert len(body["tiles"]) == 9 and all(t["insight"] for t in body["tiles"])
    assert body["filters"] == {"date_from": "-30d"} and body["tags"] == ["marketing"]
    variables = [
        {
            "id": "VARIABLE_1",
            "name": "Event",
            "type": "event",
            "default": {"id": "$pageview"},
            "description": "d",
            "required": True,
        }
    ]
    template = {
        "template_name": "With variable",
        "dashboard_description": "",
        "dashboard_filters": {},
        "variables": variables,
        "tiles": [
            {
                "type": "INSIGHT",
                "name": "v",
                "layouts": {},
                "query": {
                    "kind": "InsightVizNode",
                    "source": {"kind": "TrendsQuery", "series": ["{VARIABLE_1}"]},
                },
            }
        ],
    }
    made = hedgerow.post(
        hedgerow.api("dashboards") + "create_from_template_json", json={"template": template}
    )
    assert made.status_code == 200
    assert made.json()["tiles"][0]["insight"]["query"]["source"]["series"] == ["{VARIABLE_1}"]


def test_a_failing_tile_does_not_fail_the_dashboard(hedgerow: HedgerowClient) -> None:
    board = hedgerow.post(hedgerow.api("dashboards"), json={"name": "mixed"}).json()
    bad = trends(series=[{"kind": "EventsNode", "event": "$pageview", "math": "hogql"}])
    for name, query in (("good", trends()), ("bad", bad)):
        hedgerow.post(
            hedgerow.api("insights"), json={"name": name, "query": query, "dashboards": [board["id"]]}
        )
    response = hedgerow.get(hedgerow.api("dashboards") + f"{board['id']}/?refresh=true")
    assert response.status_code == 200, response.text
    tiles = {t["insight"]["name"]: t["insight"] for t in response.json()["tiles"]}
    assert tiles["good"]["result"][0]["data"] == [0, 0, 0]
    assert tiles["bad"]["result"] is None
    assert tiles["bad"]["query_status"]["error_message"] == 'Math "hogql" is not supported.'


def test_cohort_filter_reads_static_membership(hedgerow: HedgerowClient) -> None:
    people = [str(uuid.uuid4()) for _ in range(3)]
    rows = [
        EventRow(
            uuid=str(uuid.uuid4()),
            project_id=hedgerow.project_id,
            event="$pageview",
            distinct_id=f"d{i}",
            person_id=person,
            properties="{}",
            timestamp=datetime(2012, 1, 14, 12, tzinfo=UTC),
            created_at=datetime(2012, 1, 14, 12, tzinfo=UTC),
        )
        for i, person in enumerate(people)
    ]
    hedgerow.app.state.store.append_events(rows)
    with transaction(hedgerow.app.state.sessionmaker) as session:
        cohort = Cohort(project_id=hedgerow.project_id, name="VIPs", is_static=True, groups=[])
        session.add(cohort)
        session.flush()
        cohort_id = cohort.id
    hedgerow.app.state.store.add_static_cohort_members(hedgerow.project_id, cohort_id, people[:2])
    query = trends(properties=[{"key": "id", "value": cohort_id, "type": "cohort"}])
    made = hedgerow.post(hedgerow.api("insights"), json={"name": "vip", "query": query}).json()
    result = hedgerow.get(hedgerow.api("insights") + f"{made['id']}/?refresh=true").json()["result"]
    assert result[0]["data"] == [0, 2, 0]
    missing = trends(properties=[{"key": "id", "value": 987654, "type": "cohort"}])
    other = hedgerow.post(hedgerow.api("insights"), json={"name": "none", "query": missing}).json()
    assert_error(
        hedgerow.get(hedgerow.api("insights") + f"{other['id']}/?refresh=true"),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Cohort with id 987654 does not exist.",
        attr="properties",
    )


def test_shared_page_honours_no_header(hedgerow: HedgerowClient) -> None:
    board = hedgerow.post(hedgerow.api("dashboards"), json={"name": "Quiet board"}).json()
    config = hedgerow.patch(
        hedgerow.api("dashboards") + f"{board['id']}/sharing/",
        json={"enabled": True, "settings": {"noHeader": True}},
    ).json()
    page = hedgerow.get(f"/shared/{config['access_token']}", auth=False).text
    assert "<header>" not in page
    data = hedgerow.get(f"/shared/{config['access_token']}.json", auth=False).json()
    assert data["noHeader"] is True and "legend" not in data
    hedgerow.post(
        hedgerow.api("insights"), json={"name": "i", "query": trends(), "dashboards": [board["id"]]}
    )
    shown = hedgerow.get(f"/shared/{config['access_token']}.json", auth=False).json()
    assert "created_by" in shown["dashboard"]["tiles"][0]["insight"]
    hedgerow.patch(
        hedgerow.api("dashboards") + f"{board['id']}/sharing/", json={"settings": {"hideExtraDetails": True}}
    )
    hidden = hedgerow.get(f"/shared/{config['access_token']}.json", auth=False).json()
    insight = hidden["dashboard"]["tiles"][0]["insight"]
    assert hidden["hideExtraDetails"] is True and "noHeader" not in hidden
    assert not {"created_by", "last_modified_by", "created_at", "last_modified_at"} & set(insight)


def test_move_tile_and_exclude_generated(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api("dashboards")
    source = hedgerow.post(path, json={"name": "source"}).json()
    target = hedgerow.post(path, json={"name": "target"}).json()
    hedgerow.post(path, json={"name": "Generated Dashboard: x"})
    made = hedgerow.post(
        hedgerow.api("insights"), json={"name": "moving", "query": trends(), "dashboards": [source["id"]]}
    ).json()
    tile_id = made["dashboard_tiles"][0]["id"]
    moved = hedgerow.patch(
        path + f"{source['id']}/move_tile", json={"tile": {"id": tile_id}, "toDashboard": target["id"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["id"] == source["id"] and moved.json()["tiles"] == []
    after = hedgerow.get(path + f"{target['id']}/").json()["tiles"]
    assert [(t["id"], t["insight"]["id"]) for t in after] == [(tile_id, made["id"])]
    assert hedgerow.get(hedgerow.api("insights") + f"{made['id']}/").json()["dashboards"] == [target["id"]]
    assert_error(
        hedgerow.patch(
            path + f"{source['id']}/move_tile", json={"tile": {"id": tile_id}, "toDashboard": target["id"]}
        ),
        400,
        type="validation_error",
        code="invalid_input",
        detail="Tile not found.",
        attr="tile",
    )
    names = [d["name"] for d in hedgerow.get(path + "?exclude_generated=true").json()["results"]]
    assert names == ["source", "target"]
    assert hedgerow.get(path).json()["count"] == 3


def test_form_encoded_bodies_and_insight_by_short_id(hedgerow: HedgerowClient) -> None:
    path = hedgerow.api("dashboards")
    created = hedgerow.post(path, data={"name": "from a form", "pinned": "true"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "from a form" and created.json()["pinned"] is True
    patched = hedgerow.patch(path + f"{created.json()['id']}/", data={"description": "formed"})
    assert patched.status_code == 200 and patched.json()["description"] == "formed"
    made = hedgerow.post(hedgerow.api("insights"), json={"name": "short"}).json()
    by_short = hedgerow.get(hedgerow.api("insights") + f"{made['short_id']}/")
    assert by_short.status_code == 200 and by_short.json()["id"] == made["id"]
    assert hedgerow.get(hedgerow.api("insights") + "zzzzzzzz/").status_code == 404


def test_insight_on_an_action(hedgerow: HedgerowClient) -> None:
    action = hedgerow.post(
        hedgerow.api("actions"),
        json={"name": "Checkout", "steps": [{"event": "$pageview", "url": "/checkout"}]},
    )
    assert action.status_code == 201, action.text
    moment = datetime(2012, 1, 14, 12, tzinfo=UTC)
    hedgerow.app.state.store.append_events(
        [
            EventRow(
                uuid=str(uuid.uuid4()),
                project_id=hedgerow.project_id,
                event="$pageview",
                distinct_id=f"d{i}",
                person_id=str(uuid.uuid4()),
                properties=f'{{"$current_url": "https://x.example{path}"}}',
                timestamp=moment,
                created_at=moment,
            )
            for i, path in enumerate(["/checkout", "/checkout/done", "/home"])
        ]
    )
    query = trends(series=[{"kind": "ActionsNode", "id": action.json()["id"]}])
    made = hedgerow.post(hedgerow.api("insights"), json={"name": "checkouts", "query": query}).json()
    (series,) = hedgerow.get(hedgerow.api("insights") + f"{made['id']}/?refresh=true").json()["result"]
    assert series["label"] == "Checkout" and series["data"] == [0, 2, 0]


def test_odd_template_documents_do_not_break_the_dashboard(hedgerow: HedgerowClient) -> None:
    template = {
        "template_name": "Odd",
        "dashboard_description": "",
        "dashboard_filters": {},
        "tiles": [
            {"type": "INSIGHT", "name": "n" * 500, "query": "not an object", "layouts": "wide", "color": 5},
            {"type": "TEXT", "body": 42},
            {"type": "BUTTON", "url": "/x"},
        ],
    }
    made = hedgerow.post(
        hedgerow.api("dashboards") + "create_from_template_json", json={"template": template}
    )
    assert made.status_code == 200, made.text
    tiles = made.json()["tiles"]
    assert len(tiles) == 2
    insight = next(t for t in tiles if t["insight"])
    assert insight["insight"]["query"] is None and len(insight["insight"]["name"]) == 400
    assert insight["layouts"] == {} and insight["color"] is None
    assert next(t for t in tiles if t["text"])["text"]["body"] == "42"
