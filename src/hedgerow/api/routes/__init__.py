"""One router per resource; `ROUTERS` is what the app mounts."""

from hedgerow.api.options import add_options_routes
from hedgerow.api.routes import (
    actions,
    activity_log,
    capture,
    cohort_members,
    cohorts,
    dashboard_templates,
    health,
)
from hedgerow.api.routes.dashboards import router as dashboards_router
from hedgerow.api.routes.events import router as events_router
from hedgerow.api.routes.insights import router as insights_router
from hedgerow.api.routes.persons import router as persons_router
from hedgerow.api.routes.shared import router as shared_router
from hedgerow.api.routes.sharing import router as sharing_router

# Capture first: it takes every ingestion request, and routing tries the routers in this order.
ROUTERS = [capture.router, health.router, actions.router, dashboard_templates.router, activity_log.router]
ROUTERS += [cohorts.router, cohort_members.router]
ROUTERS += [dashboards_router, insights_router, sharing_router, shared_router]
ROUTERS += [persons_router, events_router]
# Each API route that serves GET answers OPTIONS too (api/options.py): added once, here.
for _router in ROUTERS:
    add_options_routes(_router)
