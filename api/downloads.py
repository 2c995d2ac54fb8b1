"""``/api/briefs/{id}/assets/{index}/download``: a brief's uploaded file, for its owner and staff
(anyone else: 404), with byte ranges for players; see :mod:`briefs.serving`."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from api import access
from api.errors import COMMON_ERRORS, ErrorOut, not_found
from api.schemas import Id
from briefs import serving
from briefs.models import Brief

router = Router(tags=["briefs"])


class AssetPath(Schema):
    brief_id: Id
    index: int = Field(ge=0, le=1000, description="The asset's place in the brief's `assets`.")


@router.get(
    "/briefs/{brief_id}/assets/{index}/download",
    response={**COMMON_ERRORS, 404: ErrorOut},
    openapi_extra=serving.OPENAPI_FILE,
    url_name="download_asset",
)
def download_asset(request: HttpRequest, path: Path[AssetPath]) -> Any:
    """One uploaded asset of a brief, as a file (HTTP `Range` requests are honoured)."""
    brief = access.get_visible(Brief.objects.all(), request.auth, path.brief_id, what="Brief")  # type: ignore[attr-defined]
    assets = brief.assets if isinstance(brief.assets, list) else []
    asset = assets[path.index] if path.index < len(assets) else None
    name = asset.get("file") if isinstance(asset, dict) else None
    if not isinstance(asset, dict) or not isinstance(name, str) or not name:
        raise not_found(f"Uploaded file {path.index} of brief #{brief.pk}")
    if not default_storage.exists(name):
        raise not_found(f"Uploaded file {path.index} of brief #{brief.pk}")
    return serving.serve(request, name, filename=str(asset.get("name") or ""), attachment=True)
