"""What the briefs app keeps tidy on its own, as periodic jobs of the queue: uploads that no
brief used within ``BRIEFS_UPLOAD_UNATTACHED_HOURS`` are deleted once a day (the same work as
``manage.py prune_uploads``). Staff see, pause or run it from the *Periodic* pages."""

from __future__ import annotations

from typing import Any

from briefs import services
from jobs.context import JobContext
from jobs.registry import periodic, register

PRUNE_UPLOADS = "briefs_prune_uploads"


@register(PRUNE_UPLOADS, max_attempts=3, timeout=600)
def prune_uploads(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """Delete uploads no brief has used (files and rows)."""
    return {"deleted": services.uploads_prune()}


periodic("briefs.prune_uploads", PRUNE_UPLOADS, cron="41 4 * * *")
