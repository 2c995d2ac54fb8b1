"""Benchmark: the video → transcript → SOP flow, step by step.

    .venv/bin/python -m bench.sop_flow [--seconds 30] [--provider offline|fake]

Makes a test video with ffmpeg, runs the three jobs through an in-process burst worker on a
throw-away SQLite database, and prints one JSON line per step (seconds from start to finish of
each job) and the total. ``fake`` talks to the tests' OpenAI-compatible server on localhost,
so the numbers include real HTTP, JSON and base64 work but no model time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=int, default=30, help="length of the test video")
    parser.add_argument("--provider", choices=["offline", "fake"], default="offline")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-sop-"))
    os.environ |= {
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "LOG_LEVEL": "WARNING",
        "OPENAI_API_KEY": "",
    }
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    fake = None
    if args.provider == "fake":
        from tests.support.fake_openai import FakeOpenAI

        fake = FakeOpenAI().start()
        os.environ |= fake.env()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command

    from briefs import media
    from briefs.services import asset_store_upload, brief_create, brief_start_sop

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    video = tmp / "input.mp4"
    media.synth_video(video, seed="bench", seconds=args.seconds, size="1280x720", ctx=None)
    with video.open("rb") as handle:
        asset = asset_store_upload(owner=user, file=File(handle, name="input.mp4"))
    brief = brief_create(owner=user, title="Bench", query="q", media_type="video", assets=[asset])
    jobs = brief_start_sop(brief=brief)
    started = time.perf_counter()
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.01")
    total = time.perf_counter() - started
    for job in jobs:
        job.refresh_from_db()
        print(
            json.dumps(
                {
                    "bench": "sop_flow",
                    "provider": args.provider,
                    "video_seconds": args.seconds,
                    "step": job.type,
                    "status": job.status,
                    "seconds": round(job.duration.total_seconds(), 3) if job.duration else None,
                }
            )
        )
    print(json.dumps({"bench": "sop_flow", "step": "total", "seconds": round(total, 3)}))
    if fake is not None:
        fake.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
