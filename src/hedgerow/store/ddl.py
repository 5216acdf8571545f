"""The per-engine DDL shipped in ``store/schema/<engine>.sql``, as separate statements."""

from __future__ import annotations

from importlib import resources


def schema_statements(engine: str) -> list[str]:
    """Statements of `schema/<engine>.sql`; the files keep `;` out of comments and literals."""
    text = resources.files("hedgerow.store").joinpath("schema", f"{engine}.sql").read_text("utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]
