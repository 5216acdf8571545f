"""The public page of a shared dashboard, and the unlock and not-found pages around it."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from markdown_it import MarkdownIt

from hedgerow.api.templates.charts import render_result

# CommonMark without raw HTML: a text card can format, never inject markup or scripts.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})

STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f3f4f0; }
body { margin: 0; padding: 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0 0 16px; color: #57606a; }
.hr-grid { display: grid; grid-template-columns: repeat(12, 1fr); gap: 16px; }
.hr-tile { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; min-width: 0;
  grid-column: span 6; }
.hr-tile h2 { font-size: 15px; margin: 0 0 8px; }
.hr-tile .hr-description { color: #57606a; font-size: 13px; margin: 0 0 8px; }
.hr-chart { width: 100%; height: auto; }
.hr-axis { stroke: #d0d7de; }
.hr-tick { font-size: 11px; fill: #57606a; }
.hr-legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 12px;
  font-size: 13px; }
.hr-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
.hr-bold-number { font-size: 56px; font-weight: 700; padding: 16px 0; }
.hr-empty { color: #57606a; }
.hr-unlock form { display: flex; gap: 8px; } .hr-error { color: #b42318; }
@media (max-width: 800px) { .hr-tile { grid-column: span 12 !important; } }
"""


def _json_script(data: dict[str, Any]) -> str:
    # `</` inside a script element would end it; JSON allows `<\/` as the same string.
    payload = json.dumps(data).replace("</", "<\\/")
    return (
        f'<script id="hedgerow-exported-data" type="application/json">{payload}</script>'
        "<script>window.POSTHOG_EXPORTED_DATA = JSON.parse("
        "document.getElementById('hedgerow-exported-data').textContent);</script>"
    )


def _document(title: str, body: str, data: dict[str, Any]) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta property="og:title" content="{escape(title)}">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}{_json_script(data)}</body></html>"
    )


def tile_span(tile: dict[str, Any]) -> int:
    try:
        width = int(float(((tile.get("layouts") or {}).get("sm") or {}).get("w", 6)))
    except (TypeError, ValueError):
        width = 6
    return min(max(width, 1), 12)


def _tile(tile: dict[str, Any]) -> str:
    style = f' style="grid-column: span {tile_span(tile)}"'
    if tile.get("text"):
        body = _MARKDOWN.render((tile["text"] or {}).get("body") or "")
        return f'<section class="hr-tile hr-text" data-tile-id="{tile["id"]}"{style}>{body}</section>'
    insight = tile.get("insight") or {}
    title = insight.get("name") or insight.get("derived_name") or "Untitled insight"
    description = insight.get("description")
    described = f'<p class="hr-description">{escape(description)}</p>' if description else ""
    return (
        f'<section class="hr-tile hr-insight" data-tile-id="{tile["id"]}" '
        f'data-insight="{escape(str(insight.get("short_id", "")))}"{style}>'
        f"<h2>{escape(title)}</h2>{described}{render_result(insight.get('result'))}</section>"
    )


def dashboard_page(data: dict[str, Any]) -> str:
    dashboard = data["dashboard"]
    title = dashboard.get("name") or "Shared dashboard"
    header = ""
    if not data.get("noHeader"):
        description = dashboard.get("description") or ""
        header = f"<header><h1>{escape(title)}</h1><p>{escape(description)}</p></header>"
    tiles = "".join(_tile(t) for t in dashboard.get("tiles") or [])
    return _document(title, f'{header}<main class="hr-grid">{tiles}</main>', data)


UNLOCK_SCRIPT = """
document.querySelector('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const password = document.querySelector('input[name=password]').value;
  const response = await fetch(window.location.pathname, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({password})});
  if (response.ok) { window.location.reload(); }
  else { document.querySelector('.hr-error').textContent = 'Incorrect password'; }
});
"""


def unlock_page() -> str:
    body = (
        '<main class="hr-unlock"><h1>This dashboard is password protected</h1>'
        '<form><input type="password" name="password" placeholder="Password" autocomplete="current-password">'
        '<button type="submit">View</button></form><p class="hr-error"></p></main>'
        f"<script>{UNLOCK_SCRIPT}</script>"
    )
    return _document("Password required", body, {"type": "unlock"})


def not_found_page() -> str:
    body = "<main><h1>Not found</h1><p>This shared link does not exist or is no longer shared.</p></main>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
