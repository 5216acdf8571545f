"""Bodies the dashboards API accepts (raw keys such as `tiles` and `filters` are read separately)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints


class DashboardWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, StringConstraints(max_length=400)] | None = None
    # Sent or not is told by the fields set; these may be left out but are never null.
    description: str = ""
    pinned: bool = False
    deleted: bool = False
    restriction_level: Literal[21, 37] | None = None
    tags: list[str] | None = None
    breakdown_colors: Any = None
    data_color_theme_id: int | None = None
    last_accessed_at: datetime | None = None
    last_refresh: datetime | None = None
    use_template: str | None = None
    use_dashboard: int | None = None
    delete_insights: bool | None = None
