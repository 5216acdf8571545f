"""Imports every table module so Alembic's autogenerate sees the whole schema.

Each domain package with tables adds one line here.
"""

from hedgerow.domain.actions import models as action_models
from hedgerow.domain.activity import models as activity_models
from hedgerow.domain.cohorts import models as cohort_models
from hedgerow.domain.dashboard_templates import models as dashboard_template_models
from hedgerow.domain.dashboards import models as dashboard_models
from hedgerow.domain.ingestion import models as ingestion_models
from hedgerow.domain.insights import models as insight_models
from hedgerow.domain.jobs import models as job_models
from hedgerow.domain.persons import models as person_models
from hedgerow.domain.projects import models as project_models
from hedgerow.domain.sharing import models as sharing_models

__all__ = [
    "action_models",
    "activity_models",
    "cohort_models",
    "dashboard_models",
    "dashboard_template_models",
    "ingestion_models",
    "insight_models",
    "job_models",
    "person_models",
    "project_models",
    "sharing_models",
]
