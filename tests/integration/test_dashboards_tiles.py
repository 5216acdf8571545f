"""Dashboard tiles: text cards, insight tiles re-laid-out and removed, soft delete and restore."""

from __future__ import annotations

from tests.integration.test_dashboards import D, create, detail, insight, patch
from tests.support import HedgerowClient, assert_error


def test_text_tiles_add_edit_and_limit(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    body = patch(hedgerow, created["id"], {"tiles": [{"text": {"body": "hello world"}}]})
    (tile,) = body["tiles"]
    assert tile["insight"] is None and tile["layouts"] == {} and tile["color"] is None
    assert tile["filters_overrides"] == {} and tile["order"] == 0
    assert tile["last_refresh"] is None and tile["is_cached"] is False
    text = tile["text"]
    assert text["body"] == "hello world" and text["last_modified_by"] is None
    assert text["created_by"]["email"] == "admin@hedgerow.local" and text["team"] == hedgerow.project_id
    edited = patch(
        hedgerow,
        created["id"],
        {
            "tiles": [
                {
                    "id": tile["id"],
                    "text": {
                        "id": text["id"],
                        "body": "edited",
                        "created_by": {"id": text["created_by"]["id"]},
                    },
                    "layouts": {"sm": {"x": 0, "y": 0, "w": "7", "h": 5}},
                    "color": "blue",
                }
            ]
        },
    )
    (again,) = edited["tiles"]
    assert again["id"] == tile["id"] and again["text"]["id"] == text["id"]
    assert (
        again["text"]["body"] == "edited"
        and again["text"]["last_modified_by"]["id"] == text["created_by"]["id"]
    )
    assert again["layouts"] == {"sm": {"x": 0, "y": 0, "w": "7", "h": 5}} and again["color"] == "blue"
    assert_error(
        hedgerow.patch(
            hedgerow.api(D) + f"{created['id']}/", json={"tiles": [{"text": {"body": "x" * 4001}}]}
        ),
        400,
        type="validation_error",
        code="max_length",
        detail="Text body cannot exceed 4000 characters",
        attr="text__body",
    )
    assert len(detail(hedgerow, created["id"])["tiles"]) == 1


def test_insight_tiles_recolour_relayout_remove_and_order(hedgerow: HedgerowClient) -> None:
    created = create(hedgerow, name="x")
    first = insight(hedgerow, name="first", dashboards=[created["id"]])
    second = insight(hedgerow, name="second", dashboards=[created["id"]])
    tiles = detail(hedgerow, created["id"])["tiles"]
    by_insight = {t["insight"]["id"]: t for t in tiles}
    body = patch(
        hedgerow,
        created["id"],
        {
            "tiles": [
                {
                    "id": by_insight[first["id"]]["id"],
                    "layouts": {"sm": {"x": 0, "y": 5, "w": 6, "h": 5}},
                    "color": "red",
                    "is_cached": True,
                },
                {"id": by_insight[second["id"]]["id"], "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}},
            ]
        },
    )
    assert [t["insight"]["name"] for t in body["tiles"]] == ["second", "first"]
    assert [t["order"] for t in body["tiles"]] == [0, 1]
    assert body["tiles"][1]["color"] == "red"
    removed = patch(
        hedgerow, created["id"], {"tiles": [{"id": by_insight[second["id"]]["id"], "deleted": True}]}
    )
    assert [t["insight"]["name"] for t in removed["tiles"]] == ["first"]
    assert hedgerow.get(hedgerow.api("insights") + f"{second['id']}/").json()["dashboards"] == []


def test_soft_delete_with_delete_insights_and_restore(hedgerow: HedgerowClient) -> None:
    doomed = create(hedgerow, name="doomed")
    keeper = create(hedgerow, name="keeper")
    only_here = insight(hedgerow, name="only here", dashboards=[doomed["id"]])
    on_both = insight(hedgerow, name="on both", dashboards=[doomed["id"], keeper["id"]])
    body = patch(hedgerow, doomed["id"], {"deleted": True, "delete_insights": True})
    assert body["deleted"] is True
    assert hedgerow.get(hedgerow.api(D) + f"{doomed['id']}/").status_code == 404
    assert hedgerow.get(hedgerow.api("insights") + f"{only_here['id']}/").status_code == 404
    survivor = hedgerow.get(hedgerow.api("insights") + f"{on_both['id']}/").json()
    assert survivor["dashboards"] == [keeper["id"]]
    assert hedgerow.patch(hedgerow.api(D) + f"{doomed['id']}/", json={"deleted": True}).status_code == 404

    restored = patch(hedgerow, doomed["id"], {"deleted": False})
    assert restored["deleted"] is False
    assert {t["insight"]["id"] for t in restored["tiles"]} == {only_here["id"], on_both["id"]}
    assert hedgerow.get(hedgerow.api("insights") + f"{only_here['id']}/").status_code == 200


def test_use_dashboard_shares_tiles_and_duplicate_tiles_copies_them(hedgerow: HedgerowClient) -> None:
    source = create(hedgerow, name="src", filters={"date_from": "-14d"})
    made = insight(hedgerow, name="views", dashboards=[source["id"]])
    patch(hedgerow, source["id"], {"tiles": [{"text": {"body": "note"}}]})
    shared = create(hedgerow, name="copy", use_dashboard=source["id"])
    assert shared["creation_mode"] == "duplicate" and shared["filters"] == {"date_from": "-14d"}
    src_tiles = detail(hedgerow, source["id"])["tiles"]
    assert {t["insight"]["id"] for t in shared["tiles"] if t["insight"]} == {made["id"]}
    assert {t["text"]["id"] for t in shared["tiles"] if t["text"]} == {
        t["text"]["id"] for t in src_tiles if t["text"]
    }
    assert {t["id"] for t in shared["tiles"]}.isdisjoint({t["id"] for t in src_tiles})

    deep = create(hedgerow, name="deep", use_dashboard=source["id"], duplicate_tiles=True)
    copied = next(t["insight"] for t in deep["tiles"] if t["insight"])
    assert copied["id"] != made["id"] and copied["name"] == "views (Copy)"
    assert next(t["text"] for t in deep["tiles"] if t["text"])["body"] == "note"
