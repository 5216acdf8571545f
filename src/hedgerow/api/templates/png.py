"""A shared dashboard as a PNG image (`/shared/{token}.png`), drawn and encoded here.

The image shows the dashboard's layout: a card per tile, each insight's series as lines (or
bars for single values) in the shared page's colours, text cards as grey lines. It has no
lettering: the HTML and JSON variants carry the names and numbers.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from typing import Any

from hedgerow.api.templates.charts import PALETTE
from hedgerow.api.templates.page import tile_span

WIDTH = 1200
COLUMNS = 12
ROW_HEIGHT = 280
GAP = 16
BACKGROUND = (245, 246, 248)
CARD = (255, 255, 255)
BORDER = (216, 219, 224)
AXIS = (160, 165, 172)
TEXT_LINE = (200, 203, 208)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class Canvas:
    def __init__(self, width: int, height: int, fill: tuple[int, int, int]):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(fill) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def line(
        self, x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int], width: int = 2
    ) -> None:
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for step in range(steps + 1):
            t = step / steps
            x, y = round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)
            self.rect(x - width // 2, y - width // 2, x - width // 2 + width, y - width // 2 + width, colour)

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b"")
        )


def _place(tiles: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int, int, int]]:
    """(tile, x, y, width) in reading order, tiles flowing into rows of twelve columns."""
    column_width = (WIDTH - GAP) / COLUMNS
    placed: list[tuple[dict[str, Any], int, int, int]] = []
    column, row = 0, 0
    for tile in tiles:
        span = tile_span(tile)
        if column + span > COLUMNS:
            column, row = 0, row + 1
        x = GAP + round(column * column_width)
        placed.append((tile, x, GAP + row * (ROW_HEIGHT + GAP), round(span * column_width) - GAP))
        column += span
    return placed


def _series_lines(canvas: Canvas, results: list[dict[str, Any]], box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    canvas.line(x0, y1, x1, y1, AXIS, 1)
    points = max((len(s.get("data") or []) for s in results), default=0)
    top = max((float(v or 0) for s in results for v in s.get("data") or []), default=0.0) or 1.0
    for index, series in enumerate(results):
        colour = _rgb(PALETTE[index % len(PALETTE)])
        data = [float(v or 0) for v in series.get("data") or []]
        coords = [
            (x0 + ((x1 - x0) * i / (points - 1) if points > 1 else (x1 - x0) / 2), y1 - (y1 - y0) * v / top)
            for i, v in enumerate(data)
        ]
        for (ax, ay), (bx, by) in itertools.pairwise(coords):
            canvas.line(ax, ay, bx, by, colour)
        for cx, cy in coords:
            canvas.rect(round(cx) - 3, round(cy) - 3, round(cx) + 3, round(cy) + 3, colour)


def _series_bars(canvas: Canvas, results: list[dict[str, Any]], box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    top = max((float(s.get("aggregated_value") or 0) for s in results), default=0.0) or 1.0
    bar = max(4, min(28, (y1 - y0) // max(len(results), 1) - 6))
    for index, series in enumerate(results):
        colour = _rgb(PALETTE[index % len(PALETTE)])
        length = round((x1 - x0) * float(series.get("aggregated_value") or 0) / top)
        y = y0 + index * (bar + 6)
        canvas.rect(x0, y, x0 + max(length, 1), y + bar, colour)


def dashboard_png(data: dict[str, Any]) -> bytes:
    tiles = list((data.get("dashboard") or {}).get("tiles") or [])
    placed = _place(tiles)
    height = max((y + ROW_HEIGHT for _, _, y, _ in placed), default=ROW_HEIGHT) + GAP
    canvas = Canvas(WIDTH, height, BACKGROUND)
    for tile, x, y, width in placed:
        canvas.rect(x - 1, y - 1, x + width + 1, y + ROW_HEIGHT + 1, BORDER)
        canvas.rect(x, y, x + width, y + ROW_HEIGHT, CARD)
        box = (x + 24, y + 40, x + width - 24, y + ROW_HEIGHT - 24)
        if tile.get("text"):
            for line in range(4):
                top = box[1] + line * 24
                canvas.rect(box[0], top, box[0] + (box[2] - box[0]) * (4 - line) // 4, top + 8, TEXT_LINE)
            continue
        results = (tile.get("insight") or {}).get("result") or []
        if results and all("aggregated_value" in s for s in results):
            _series_bars(canvas, results, box)
        elif results:
            _series_lines(canvas, results, box)
    return canvas.png()
