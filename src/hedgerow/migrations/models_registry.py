"""Imports every table module so Alembic's autogenerate sees the whole schema.

Each domain package with tables adds one line here.
"""

from hedgerow.domain.actions import models as action_models
from hedgerow.domain.activity import models as activity_models
from hedgerow.domain.dashboard_templates import models as dashboard_template_models
from hedgerow.domain.jobs import models as job_models
from hedgerow.domain.persons import models as person_models
from hedgerow.domain.projects import models as project_models

__all__ = [
    "action_models",
    "activity_models",
    "dashboard_template_models",
    "job_models",
    "person_models",
    "project_models",
]
