"""Trends formulas: `A+B`, `A/B*100`, ... over series results, per bucket and per breakdown value."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from hedgerow.errors import InvalidInput

_OPERATORS: dict[type[ast.AST], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: a / b if b else 0.0,  # PostHog shows 0 where a denominator is 0
}


def formula_nodes(source: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(formula, custom name) pairs; `formulaNodes` win over `formulas` and `formula`."""
    trends_filter = source.get("trendsFilter") or {}
    nodes = trends_filter.get("formulaNodes")
    if nodes:
        return [
            (n["formula"], n.get("custom_name")) for n in nodes if isinstance(n, dict) and n.get("formula")
        ]
    many = trends_filter.get("formulas")
    if many:
        return [(f, None) for f in many if isinstance(f, str) and f.strip()]
    single = trends_filter.get("formula")
    return [(single, None)] if isinstance(single, str) and single.strip() else []


def _evaluate(node: ast.AST, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id.upper() in values:
        return values[node.id.upper()]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _evaluate(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    raise InvalidInput(
        "Formula is not valid: use series letters, numbers, + - * / and parentheses.", attr="trendsFilter"
    )


def _parse(formula: str) -> ast.AST:
    try:
        return ast.parse(formula, mode="eval")
    except SyntaxError:
        raise InvalidInput(f"Formula is not valid: {formula}", attr="trendsFilter") from None


def _letter(index: int) -> str:
    return chr(ord("A") + index)


def apply_formulas(
    results: list[dict[str, Any]],
    formulas: list[tuple[str, str | None]],
    series_count: int,
    total_value: bool,
    order: Callable[[dict[str, Any]], Any] | None = None,
) -> list[dict[str, Any]]:
    """One result per formula (and breakdown value); the input series themselves are not returned.

    `order` sorts each formula's results by breakdown value, as breakdowns are sorted."""
    groups: dict[Any, dict[int, dict[str, Any]]] = {}
    for entry in results:
        value = entry.get("breakdown_value")
        key = tuple(value) if isinstance(value, list) else value  # several breakdowns: a list
        groups.setdefault(key, {})[entry["action"]["order"]] = entry
    out: list[dict[str, Any]] = []
    for formula, custom_name in formulas:
        tree = _parse(formula)
        items: list[dict[str, Any]] = []
        for breakdown_value, by_series in groups.items():
            template = next(iter(by_series.values()))
            item: dict[str, Any] = {k: v for k, v in template.items() if k not in ("action", "data", "count")}
            label = custom_name or f"Formula ({formula})"
            shown = "::".join(breakdown_value) if isinstance(breakdown_value, tuple) else str(breakdown_value)
            item["label"] = shown if "breakdown_value" in template and not custom_name else label
            if total_value:
                values = {
                    _letter(i): float(by_series[i]["aggregated_value"]) if i in by_series else 0.0
                    for i in range(series_count)
                }
                item.update(data=None, count=0, aggregated_value=_evaluate(tree, values))
            else:
                width = len(template["data"])
                data = [
                    _evaluate(
                        tree,
                        {
                            _letter(i): float(by_series[i]["data"][b]) if i in by_series else 0.0
                            for i in range(series_count)
                        },
                    )
                    for b in range(width)
                ]
                item.update(data=data, count=float(sum(data)))
            item["action"] = None
            items.append(item)
        out.extend(sorted(items, key=order) if order is not None else items)
    return out
