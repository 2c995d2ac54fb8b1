"""The HTTP API under ``/api/``: schema at ``/api/openapi.json``, docs at ``/api/docs``."""

from __future__ import annotations

from ninja import NinjaAPI

from api import briefs, cron, downloads, errors, exports, health, jobs, queues, usage
from api.auth import user_auth

api = NinjaAPI(
    title="Jobs API",
    version="1",
    description=(
        "Start and follow background jobs. Programs authenticate with a personal API token "
        "(`Authorization: Bearer …`, created by staff in the admin); browsers with their "
        "session and the `X-CSRFToken` header on writes. A user sees only their own data."
    ),
    auth=user_auth,
    urls_namespace="api",
)
errors.install(api)
api.add_router("/jobs", jobs.router)
api.add_router("/queues", queues.router)
api.add_router("/briefs", briefs.router)
api.add_router("/uploads", briefs.uploads)
api.add_router("", briefs.results)
api.add_router("/usage", usage.router)
api.add_router("", exports.router)
api.add_router("", downloads.router)
api.add_router("/cron", cron.router)
api.add_router("", health.router)
