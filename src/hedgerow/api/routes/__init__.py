"""One router per resource; `ROUTERS` is what the app mounts."""

from hedgerow.api.routes import actions, activity_log, dashboard_templates, health

ROUTERS = [health.router, actions.router, dashboard_templates.router, activity_log.router]
