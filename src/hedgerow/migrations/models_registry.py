"""Imports every table module so Alembic's autogenerate sees the whole schema."""

from hedgerow.domain.activity import models as activity_models
from hedgerow.domain.dashboard_templates import models as dashboard_template_models
from hedgerow.domain.projects import models as project_models

__all__ = ["activity_models", "dashboard_template_models", "project_models"]
