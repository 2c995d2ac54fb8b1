"""``manage.py startbrief``: create a brief from the command line and start its jobs."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from briefs import media
from briefs.exceptions import BriefError
from briefs.models import Brief
from briefs.services import asset_store_upload, brief_create, brief_start, brief_start_sop
from jobs.exceptions import JobError
from jobs.models import Job


class Command(BaseCommand):
    help = (
        "Create a brief and start its jobs. --demo-video attaches a few seconds of generated "
        "video, so `startbrief --owner admin --demo-video --sop` shows the video → SOP flow."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--owner", required=True, help="username of the brief's owner")
        parser.add_argument("--title", default="Demo brief")
        parser.add_argument("--query", default="Show me how this works.")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--media-type", choices=Brief.MediaType.values, default=Brief.MediaType.VIDEO
        )
        parser.add_argument(
            "--asset", action="append", default=[], help="a local file or an http(s) URL"
        )
        parser.add_argument("--demo-video", action="store_true", help="attach a test video")
        parser.add_argument("--pipeline", action="store_true", help="the media type's pipeline")
        parser.add_argument("--storyboard", action="store_true", help="add a storyboard step")
        parser.add_argument("--sop", action="store_true", help="video → transcript → SOP")
        parser.add_argument("--no-start", action="store_true", help="create only (a draft)")

    def handle(self, *args: Any, owner: str, asset: list[str], **options: Any) -> None:
        storable = "\x00" not in owner and owner.encode(errors="replace").decode() == owner
        user = get_user_model().objects.filter(username=owner).first() if storable else None
        if user is None:
            raise CommandError(f"There is no user {owner!r} (try `manage.py createadmin`).")
        assets: list[Any] = []
        for item in asset:
            if item.startswith(("http://", "https://")):
                assets.append(item)
                continue
            path = Path(item)
            if not path.is_file():
                raise CommandError(f"{item!r} is neither a file nor an http(s) URL.")
            with path.open("rb") as handle:
                try:
                    stored = asset_store_upload(owner=user, file=File(handle, name=path.name))
                except ValidationError as exc:
                    raise CommandError(f"{item!r}: {' '.join(exc.messages)}") from None
                assets.append(stored)
        if options["demo_video"]:
            assets.append(self._demo_video(user))
        try:
            brief, jobs = self._create(user, assets, options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except (BriefError, JobError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Brief #{brief.pk} ({brief.media_type}): {brief.title}")
        for job in jobs:
            self.stdout.write(f"  job #{job.pk} {job.type}")

    @transaction.atomic  # a brief whose jobs cannot start is not left behind
    def _create(
        self, user: Any, assets: list[Any], options: dict[str, Any]
    ) -> tuple[Brief, list[Job]]:
        brief = brief_create(
            owner=user,
            title=options["title"],
            query=options["query"],
            description=options["description"],
            media_type=options["media_type"],
            assets=assets,
        )
        if options["sop"]:
            return brief, brief_start_sop(brief=brief)
        if options["no_start"]:
            return brief, []
        jobs = brief_start(
            brief=brief, use_pipeline=options["pipeline"], storyboard=options["storyboard"]
        )
        return brief, jobs

    def _demo_video(self, user: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "demo.mp4"
            media.synth_video(path, seed="demo", seconds=5, size="1280x720", ctx=None)
            with path.open("rb") as handle:
                return asset_store_upload(owner=user, file=File(handle, name="demo.mp4"))
