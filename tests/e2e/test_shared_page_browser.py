"""The public page of a shared dashboard, rendered by a real headless Chromium over HTTP.

Checks that the charts draw the insight's data, markdown renders, the page loads nothing from
anywhere but Hedgerow itself, and leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hedgerow.store.base import EventRow
from tests.e2e.cdp import browser_page, chromium_binary
from tests.support import HedgerowClient

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = chromium_binary()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium; scripts/test does it as root)"
)
RANGE = {"date_from": "2012-01-12", "date_to": "2012-01-15"}


def trends(*series: dict[str, Any], **extra: Any) -> dict[str, Any]:
    source = {"kind": "TrendsQuery", "series": list(series), "interval": "day", "dateRange": RANGE, **extra}
    return {"kind": "InsightVizNode", "source": source}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(hedgerow: HedgerowClient) -> Iterator[str]:
    """The same app, served over a real socket (its stores are already open)."""
    port = _free_port()
    instance = uvicorn.Server(
        uvicorn.Config(hedgerow.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def seed(hedgerow: HedgerowClient) -> None:
    rows = []
    plan = {13: [("Chrome", 2), ("Firefox", 1)], 14: [("Chrome", 3)], 15: [("Firefox", 2)]}
    for day, groups in plan.items():
        for browser, count in groups:
            for i in range(count):
                moment = datetime(2012, 1, day, 9, i, tzinfo=UTC)
                rows.append(
                    EventRow(
                        uuid=str(uuid.uuid4()),
                        project_id=hedgerow.project_id,
                        event="$pageview",
                        distinct_id=f"{browser}{i}",
                        person_id=str(uuid.UUID(int=i + (10 if browser == "Chrome" else 20))),
                        properties=f'{{"$browser": "{browser}"}}',
                        timestamp=moment,
                        created_at=moment,
                    )
                )
    hedgerow.app.state.store.append_events(rows)


def test_shared_dashboard_renders_charts_with_their_data(hedgerow: HedgerowClient, server: str) -> None:
    seed(hedgerow)
    board = hedgerow.post(hedgerow.api("dashboards"), json={"name": "Launch week"}).json()
    views = {"kind": "EventsNode", "event": "$pageview", "name": "$pageview"}
    for body in (
        {"name": "Pageviews by browser", "query": trends(views, breakdownFilter={"breakdown": "$browser"})},
        {
            "name": "Unique visitors",
            "query": trends({**views, "math": "dau"}, trendsFilter={"display": "BoldNumber"}),
        },
    ):
        created = hedgerow.post(hedgerow.api("insights"), json={**body, "dashboards": [board["id"]]})
        assert created.status_code == 201, created.text
    hedgerow.patch(
        hedgerow.api("dashboards") + f"{board['id']}/",
        json={"tiles": [{"text": {"body": "## Notes\n\nTraffic **doubled** on launch day."}}]},
    )
    token = hedgerow.patch(
        hedgerow.api("dashboards") + f"{board['id']}/sharing/", json={"enabled": True}
    ).json()["access_token"]

    assert CHROMIUM is not None
    with browser_page(CHROMIUM) as page:
        page.goto(f"{server}/shared/{token}")
        seen = page.evaluate(
            """(() => {
              const series = [...document.querySelectorAll('svg.hr-line g.hr-series')].map(g => {
                const box = g.querySelector('polyline').getBoundingClientRect();
                return {label: g.dataset.label, values: g.dataset.values, width: box.width,
                        height: box.height, dots: g.querySelectorAll('circle').length};
              });
              const bold = document.querySelector('.hr-bold-number');
              return {
                title: document.querySelector('header h1').textContent,
                heading: document.querySelector('.hr-text h2')?.textContent,
                strong: document.querySelector('.hr-text strong')?.textContent,
                series,
                bold: bold && {value: bold.dataset.value, text: bold.textContent,
                               width: bold.getBoundingClientRect().width},
                exported: window.POSTHOG_EXPORTED_DATA.dashboard.id,
                tiles: document.querySelectorAll('.hr-tile').length,
              };
            })()"""
        )
        page.screenshot(ARTIFACTS / "shared-dashboard.png")
        requests = list(page.requests)

    assert seen["title"] == "Launch week"
    assert seen["heading"] == "Notes" and seen["strong"] == "doubled"
    assert seen["tiles"] == 3 and seen["exported"] == board["id"]
    assert [(s["label"], s["values"], s["dots"]) for s in seen["series"]] == [
        ("Chrome", "0,2,3,0", 4),
        ("Firefox", "0,1,0,2", 4),
    ]
    assert all(s["width"] > 100 and s["height"] > 10 for s in seen["series"])
    # Five people: Chrome users 10-12 and Firefox users 20-21.
    assert seen["bold"]["value"] == "5" and seen["bold"]["text"] == "5" and seen["bold"]["width"] > 0
    assert requests and all(url.startswith(server) for url in requests), requests
    assert (ARTIFACTS / "shared-dashboard.png").stat().st_size > 5000


def test_unknown_token_is_an_html_404_in_the_browser(hedgerow: HedgerowClient, server: str) -> None:
    assert CHROMIUM is not None
    with browser_page(CHROMIUM) as page:
        page.goto(f"{server}/shared/not-a-token")
        assert page.evaluate("document.querySelector('h1').textContent") == "Not found"


def test_password_protected_share_unlocks_in_the_browser(hedgerow: HedgerowClient, server: str) -> None:
    seed(hedgerow)
    board = hedgerow.post(hedgerow.api("dashboards"), json={"name": "Board meeting"}).json()
    views = {"kind": "EventsNode", "event": "$pageview", "name": "$pageview"}
    hedgerow.post(
        hedgerow.api("insights"), json={"name": "Views", "query": trends(views), "dashboards": [board["id"]]}
    )
    sharing = hedgerow.api("dashboards") + f"{board['id']}/sharing/"
    token = hedgerow.patch(sharing, json={"enabled": True, "password_required": True}).json()["access_token"]
    assert hedgerow.post(sharing + "passwords/", json={"raw_password": "open sesame"}).status_code == 201

    assert CHROMIUM is not None
    with browser_page(CHROMIUM) as page:
        page.goto(f"{server}/shared/{token}")
        assert (
            page.evaluate("document.querySelector('h1').textContent")
            == "This dashboard is password protected"
        )
        assert page.evaluate("document.querySelectorAll('svg').length") == 0
        page.evaluate(
            """(async () => {
              document.querySelector('input[name=password]').value = 'wrong password';
              document.querySelector('form').requestSubmit();
              for (let i = 0; i < 50 && !document.querySelector('.hr-error').textContent; i++) {
                await new Promise(r => setTimeout(r, 100));
              }
            })()"""
        )
        assert page.evaluate("document.querySelector('.hr-error').textContent") == "Incorrect password"
        page.evaluate(
            """document.querySelector('input[name=password]').value = 'open sesame';
               document.querySelector('form').requestSubmit();"""
        )
        page.wait_for("Page.loadEventFired")
        values = page.evaluate("[...document.querySelectorAll('g.hr-series')].map(g => g.dataset.values)")
        page.screenshot(ARTIFACTS / "shared-dashboard-unlocked.png")
    assert values == ["0,3,3,2"]
