"""Video → transcript → SOP: the slim copy of a video, its timestamped transcript (speech and
on-screen events), and the SOP made from that transcript."""

from __future__ import annotations

import functools
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage

from briefs import ai, conf, media, offline, prompts, schemas, sops
from briefs.models import Artifact, Brief, Transcript
from briefs.steps.common import ai_label, keep, load_brief, stored_file
from briefs.validators import sop_payload, video_payload
from jobs.exceptions import PermanentError
from jobs.registry import register

if TYPE_CHECKING:
    from jobs.context import JobContext


def _video_asset(brief: Brief, payload: dict[str, Any]) -> dict[str, Any]:
    index = payload.get("asset_index", 0)
    assets = brief.assets or []
    asset = assets[index] if 0 <= index < len(assets) else None
    if not isinstance(asset, dict) or asset.get("kind") != "video" or not asset.get("file"):
        raise PermanentError(
            f"Brief #{brief.pk} has no uploaded video at asset {index + 1}; upload one and requeue."
        )
    return asset


@register("video_slim", validate=video_payload, timeout=1800)
def video_slim(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Make the slim copy of a brief's video (1 fps, 720p, CRF 32) beside the raw one.

    ffmpeg makes the slim copy (1 fps, ≤720p, CRF 32) and stores it beside the raw one."""
    ctx.progress(5, "Checking the video")
    brief = load_brief(payload)
    asset = _video_asset(brief, payload)
    raw = asset["file"]
    with media.local_file(raw) as local:
        raw_info = media.probe_video(local, ctx=ctx, name=asset.get("name", raw))
        ctx.progress(15, "Making the slim copy")
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "slim.mp4"
            media.make_slim(local, target, ctx=ctx)
            slim_info = media.probe_video(target, ctx=ctx, name="the slim copy")
            ctx.progress(90, "Storing the slim copy")
            stored = media.store(target, media.slim_name(raw))
    output = {
        "summary": f"Slim copy of {raw_info.duration:.1f}s at {slim_info.height}p, 1 fps",
        "raw": raw,
        "slim": stored,
        "raw_probe": raw_info.as_dict(),
        "slim_probe": slim_info.as_dict(),
        "settings": {"fps": media.SLIM_FPS, "max_height": media.SLIM_HEIGHT, "crf": media.SLIM_CRF},
    }
    keep(ctx, brief, [stored_file(Artifact.Kind.SLIM_VIDEO, stored, "video/mp4", output)])
    return output


@register("transcribe", validate=video_payload, cost=2, timeout=3600)
def transcribe(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Transcribe a brief's video: speech and on-screen events, with timestamps.

    Speech from the audio, on-screen events from the 1-fps frames: one timestamped
    transcript, saved as a Transcript when the job completes."""
    ctx.progress(5, "Loading the video")
    brief = load_brief(payload)
    asset = _video_asset(brief, payload)
    slim = _slim_of(ctx, asset["file"])
    prompt = prompts.get("transcription")
    models: list[str] = []
    with media.local_file(asset["file"]) as raw_local, tempfile.TemporaryDirectory() as tmp:
        info = media.probe_video(raw_local, ctx=ctx, name=asset.get("name", asset["file"]))
        speech: list[dict[str, Any]] = []
        language = ""
        if info.has_audio:
            speech, language = _transcribe_speech(raw_local, info.duration, Path(tmp), ctx, models)
        ctx.progress(40, "Extracting the frames")
        frames_dir = Path(tmp) / "frames"
        frames_dir.mkdir()
        with media.local_file(slim) as slim_local:
            # 1 fps; a video longer than BRIEFS_MAX_FRAMES seconds is sampled more sparsely.
            every = max(1, math.ceil(info.duration / max(1, conf.max_frames())))
            frames = media.extract_frames(slim_local, frames_dir, ctx=ctx, every=every)
            thumbs = media.thumbnails(frames_dir, ctx=ctx) if ai.provider() == ai.OFFLINE else {}
        frames = media.sample(frames, conf.max_frames())
        events = _describe_frames(frames, prompt, ctx, models, thumbs)
    segments = merge_segments(speech, events, duration=info.duration)
    model = "+".join(dict.fromkeys(models)) or ai.OFFLINE
    job = ctx.job

    def save() -> None:
        Transcript.objects.create(
            job=job,
            brief=brief,
            segments=segments,
            language=language,
            model=model,
            prompt_version=prompt.version,
        )

    ctx.on_success(save)
    ctx.progress(95, "Saving the transcript")
    return {
        "provider": ai.provider(),
        "model": model,
        "prompt_version": prompt.version,
        "summary": f"{len(speech)} speech and {len(events)} screen segments",
        "language": language,
        "duration": round(info.duration, 3),
        "segments": len(segments),
        "frames": len(frames),
    }


def _transcribe_speech(
    video: Path, duration: float, tmp: Path, ctx: JobContext, models: list[str]
) -> tuple[list[dict[str, Any]], str]:
    """Speech-to-text in pieces of BRIEFS_AUDIO_CHUNK_SECONDS (upload limits), with the
    segments' times shifted back onto the whole video."""
    chunk = max(1, conf.audio_chunk_seconds())
    pieces = max(1, math.ceil(duration / chunk))
    segments: list[dict[str, Any]] = []
    language = ""
    for index in range(pieces):
        start = index * chunk
        length = min(chunk, duration - start)
        ctx.progress(10 + 30 * index // pieces, f"Transcribing the speech ({index + 1}/{pieces})")
        audio = tmp / f"audio-{index + 1}.mp3"
        media.extract_audio(video, audio, ctx=ctx, start=start, seconds=length)
        spoken = ai.transcribe_audio(
            ctx=ctx,
            path=audio,
            duration=length,
            offline=functools.partial(offline.transcript_audio, duration=length),
        )
        for segment in spoken.data["segments"]:
            segments.append(
                segment | {"start": segment["start"] + start, "end": segment["end"] + start}
            )
        language = language or spoken.data["language"]
        models.append(spoken.model)
    return segments, language


def _describe_frames(
    frames: list[tuple[float, Path]],
    prompt: prompts.Prompt,
    ctx: JobContext,
    models: list[str],
    thumbs: dict[str, bytes],
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    batches = list(ai.chunks(frames, conf.frames_per_request()))
    for number, batch in enumerate(batches, start=1):
        ctx.progress(
            45 + 45 * (number - 1) // max(1, len(batches)),
            f"Describing frames (batch {number} of {len(batches)})",
        )
        times = [t for t, _ in batch]
        parts: list[dict[str, Any]] = [
            ai.text_part(f"{len(batch)} frames, from t={times[0]:g} to t={times[-1]:g} seconds.")
        ]
        for t, path in batch:
            parts.append(ai.text_part(f"t={t:g}"))
            parts.append(ai.image_part(path.read_bytes()))
        result = ai.structured(
            ctx=ctx,
            prompt=prompt,
            content=parts,
            schema=schemas.SCREEN_EVENTS_SCHEMA,
            schema_name="screen_events",
            model=conf.vision_model(),
            offline=functools.partial(
                offline.screen_events,
                times=times,
                thumbs=[thumbs.get(path.name, b"") for _, path in batch],
            ),
        )
        models.append(result.model)
        events.extend(result.data["events"])
    return events


def merge_segments(
    speech: list[dict[str, Any]], events: list[dict[str, Any]], *, duration: float
) -> list[dict[str, Any]]:
    """One list sorted by time; screen events last until the next event (or one second)."""
    end_of_video = max(duration, 0.0)

    def clamp(value: float) -> float:
        return round(min(max(float(value), 0.0), end_of_video or float(value)), 3)

    merged = [
        {
            "start": clamp(s["start"]),
            "end": clamp(s["end"]),
            "kind": "speech",
            "text": str(s["text"]).strip(),
        }
        for s in speech
        if str(s.get("text", "")).strip()
    ]
    ordered = sorted(events, key=lambda e: float(e["t"]))
    for index, event in enumerate(ordered):
        start = clamp(event["t"])
        following = float(ordered[index + 1]["t"]) if index + 1 < len(ordered) else start + 1
        merged.append(
            {
                "start": start,
                "end": clamp(max(start, min(following, start + 10))),
                "kind": "screen",
                "text": str(event["description"]).strip(),
            }
        )
    return sorted(merged, key=lambda s: (s["start"], s["kind"] != "speech"))


def _slim_of(ctx: JobContext, raw: str) -> str:
    name = media.stored_name(media.slim_name(raw))
    if not default_storage.exists(name):
        raise PermanentError(
            f"The slim copy {name!r} does not exist; run video_slim for this video first."
        )
    return name


@register("sop_extract", validate=sop_payload, cost=1, timeout=900)
def sop_extract(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Turn a brief's transcript into a structured SOP for its owner.

    The transcript goes to the model with the SOP schema; saved as an SOP for the owner."""
    ctx.progress(5, "Loading the transcript")
    brief = load_brief(payload)
    transcript = None
    if payload.get("transcript_id"):
        transcript = Transcript.objects.filter(pk=payload["transcript_id"], brief=brief).first()
    elif ctx.job.depends_on_id:
        transcript = Transcript.objects.filter(job_id=ctx.job.depends_on_id).first()
    if transcript is None:
        transcript = brief.transcripts.first()
    if transcript is None:
        raise PermanentError(f"Brief #{brief.pk} has no transcript yet; run transcribe first.")
    if not transcript.segments:
        raise PermanentError(
            f"The transcript of brief #{brief.pk} is empty (no speech, no frames): there is "
            "nothing to make an SOP from."
        )
    prompt = prompts.get("sop_parser")
    ctx.progress(20, "Asking the model for the SOP")
    content = f"Video title: {brief.title}\nWhat the SOP is for: {brief.query}\n\nTranscript:\n"
    content += transcript.text
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=content,
        schema=schemas.SOP_SCHEMA,
        schema_name="sop",
        offline=lambda: offline.sop(title=brief.title, segments=transcript.segments),
    )
    data = result.data
    job = ctx.job

    def save() -> None:
        # A new draft version of the brief's SOP: an approved version is never overwritten.
        sops.sop_record_extraction(
            brief=brief,
            transcript=transcript,
            job=job,
            data=data,
            model=result.model,
            prompt_version=prompt.version,
        )

    ctx.on_success(save)
    ctx.progress(95, "Saving the SOP")
    return {
        **ai_label(result, prompt),
        "summary": data["title"],
        "title": data["title"],
        "steps": len(data["steps"]),
        "transcript_id": transcript.pk,
    }
