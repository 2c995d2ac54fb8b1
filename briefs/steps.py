"""What each job type of the briefs app does. Handlers (``briefs/handlers.py``) stay thin and
call one function here; every AI call goes through ``briefs/ai.py``.

A step never changes its brief's own fields: what it makes is its job's result (readable JSON),
a stored file, or a Transcript/SOP row written in the transaction that completes the job.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefs import ai, conf, fetch, media, offline, prompts, schemas, sops
from briefs.models import Brief, Transcript
from jobs.exceptions import PermanentError
from jobs.models import Job

if TYPE_CHECKING:
    from jobs.context import JobContext

logger = logging.getLogger("briefs.steps")

TEXT_ASSET_LIMIT = 50_000
IMAGE_SIZE = "1024x1024"
VIDEO_SIZE = "1280x720"
KEYFRAME_SIZE = "1536x1024"


# --- loading -------------------------------------------------------------------------------


def load_brief(payload: dict[str, Any]) -> Brief:
    brief = Brief.objects.select_related("owner").filter(pk=payload["brief_id"]).first()
    if brief is None:
        raise PermanentError(f"Brief #{payload['brief_id']} no longer exists.")
    if brief.media_type not in Brief.MediaType.values:
        raise PermanentError(
            f"Brief #{brief.pk} has the unknown media type {brief.media_type!r}; "
            f"use one of {', '.join(Brief.MediaType.values)} and requeue."
        )
    return brief


def brief_text(brief: Brief) -> str:
    lines = [
        f"Title: {brief.title}",
        f"Media type: {brief.media_type}",
        f"Request: {brief.query}",
    ]
    if brief.description:
        lines.append(f"Details: {brief.description}")
    for index, asset in enumerate(brief.assets or [], start=1):
        if isinstance(asset, dict):
            lines.append(f"Asset {index}: {asset.get('kind')} {asset.get('name', '')}")
    return "\n".join(lines)


def earlier_results(brief: Brief) -> dict[str, Any]:
    """The latest successful result of each job type of the brief."""
    results: dict[str, Any] = {}
    jobs = brief.jobs.filter(status=Job.Status.SUCCEEDED).order_by("finished_at", "id")
    for job in jobs.only("type", "result"):
        results[job.type] = job.result
    return results


def _label(result: ai.AIResult, prompt: prompts.Prompt | None = None) -> dict[str, Any]:
    label: dict[str, Any] = dict(result.label)
    if prompt is not None:
        label["prompt_version"] = prompt.version
    return label


def _generated_name(brief: Brief, ctx: JobContext, kind: str, suffix: str) -> str:
    return f"briefs/{brief.pk}/{kind}/job-{ctx.job.pk}-{uuid.uuid4().hex[:8]}{suffix}"


# --- the brief pipeline ----------------------------------------------------------------------


def analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(5, "Reading the brief")
    brief = load_brief(payload)
    prompt = prompts.get("analysis")
    ctx.progress(20, "Asking the model what the brief needs")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=brief_text(brief),
        schema=schemas.ANALYSIS_SCHEMA,
        schema_name="brief_analysis",
        offline=lambda: offline.analysis(
            title=brief.title,
            query=brief.query,
            description=brief.description,
            media_type=brief.media_type,
        ),
    )
    ctx.progress(95, "Saving the analysis")
    return {**_label(result, prompt), "summary": result.data["summary"], "analysis": result.data}


def storyboard(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(5, "Reading the brief and its analysis")
    brief = load_brief(payload)
    analysis_result = earlier_results(brief).get("analysis") or {}
    prompt = prompts.get("storyboard")
    content = brief_text(brief)
    if analysis_result.get("analysis"):
        content += "\n\nAnalysis:\n" + json.dumps(analysis_result["analysis"], indent=1)
    ctx.progress(20, "Planning the scenes")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=content,
        schema=schemas.STORYBOARD_SCHEMA,
        schema_name="storyboard",
        offline=lambda: offline.storyboard(query=brief.query, media_type=brief.media_type),
    )
    scenes = result.data["scenes"]
    total = sum(float(scene["duration_seconds"]) for scene in scenes)
    return {
        **_label(result, prompt),
        "summary": f"{len(scenes)} scenes, {total:g}s in all",
        "scenes": scenes,
    }


def asset_prep(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fetch URL assets into storage, check every asset with ffprobe, review images."""
    ctx.progress(2, "Checking the assets")
    brief = load_brief(payload)
    assets = [a for a in brief.assets or [] if isinstance(a, dict)]
    prepared = []
    for index, asset in enumerate(assets):
        ctx.progress(5 + 90 * index // max(1, len(assets)), f"Preparing asset {index + 1}")
        prepared.append(_prepare_asset(brief, index, asset, ctx))
    usable = sum(1 for item in prepared if item.get("usable", True))
    return {
        "provider": ai.provider(),
        "summary": f"{len(prepared)} asset(s) prepared, {usable} usable"
        if prepared
        else "No assets to prepare",
        "assets": prepared,
    }


def _prepare_asset(brief: Brief, index: int, asset: dict[str, Any], ctx: JobContext):  # type: ignore[no-untyped-def]
    kind = asset.get("kind", "")
    name = str(asset.get("name") or f"asset-{index + 1}")
    item: dict[str, Any] = {"index": index, "kind": kind, "name": name}
    with tempfile.TemporaryDirectory() as tmp:
        if asset.get("url"):
            local = Path(tmp) / f"download{Path(name).suffix}"
            try:
                info = fetch.download(asset["url"], local, ctx=ctx)
            except fetch.FetchError as exc:
                raise PermanentError(f"Asset {index + 1} ({name}): {exc}") from None
            item |= {"source": asset["url"], "bytes": info["bytes"]}
            item["stored"] = media.store(local, f"briefs/{brief.pk}/assets/{index + 1}-{name}")
            item |= _inspect(local, kind, name, ctx)
        else:
            item["source"] = item["stored"] = asset["file"]
            with media.local_file(asset["file"]) as local:
                item["bytes"] = local.stat().st_size
                item |= _inspect(local, kind, name, ctx)
    return item


def _inspect(path: Path, kind: str, name: str, ctx: JobContext) -> dict[str, Any]:
    if kind == "text":
        text = path.read_bytes()[:TEXT_ASSET_LIMIT].decode("utf-8", errors="replace")
        return {"characters": len(text), "excerpt": text[:500]}
    info = media.probe(path, ctx=ctx, name=name)
    if kind == "video" and not info.has_video:
        raise PermanentError(f"Asset {name!r} was given as a video but has no video stream.")
    if kind == "audio" and not info.has_audio:
        raise PermanentError(f"Asset {name!r} was given as audio but has no audio stream.")
    details: dict[str, Any] = {"probe": info.as_dict()}
    if kind == "image":
        prompt = prompts.get("asset_review")
        with tempfile.TemporaryDirectory() as tmp:
            preview = Path(tmp) / "preview.jpg"
            media.run(
                [
                    conf.ffmpeg(),
                    "-nostdin",
                    "-y",
                    "-v",
                    "error",
                    "-i",
                    str(path),
                    "-frames:v",
                    "1",
                    "-vf",
                    "scale='min(1024,iw)':-2",
                    str(preview),
                ],
                ctx=ctx,
                what=f"Reading the image {name!r}",
            )
            review = ai.structured(
                ctx=ctx,
                prompt=prompt,
                content=[ai.text_part(f"The asset {name!r}."), ai.image_part(preview.read_bytes())],
                schema=schemas.ASSET_REVIEW_SCHEMA,
                schema_name="asset_review",
                model=conf.vision_model(),
                offline=lambda: offline.asset_review(
                    name=name, width=info.width, height=info.height
                ),
            )
        details |= {"review": review.data, "usable": review.data["usable"], **_label(review)}
    return details


def text_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(5, "Collecting the text")
    brief = load_brief(payload)
    uploaded: list[tuple[str, str]] = []
    for asset in brief.assets or []:
        if isinstance(asset, dict) and asset.get("kind") == "text" and asset.get("file"):
            with media.local_file(asset["file"]) as local:
                raw = local.read_bytes()[:TEXT_ASSET_LIMIT]
            uploaded.append((str(asset.get("name")), raw.decode("utf-8", errors="replace")))
    parts = [brief_text(brief)] + [f"Text of {name}:\n{body}" for name, body in uploaded]
    text = "\n\n".join(parts)
    # Offline reads what the model reads: the uploaded text, or the request when there is none.
    offline_text = "\n\n".join(body for _, body in uploaded) or f"{brief.query} {brief.description}"
    prompt = prompts.get("text_analysis")
    ctx.progress(25, "Analysing the text")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=text,
        schema=schemas.TEXT_ANALYSIS_SCHEMA,
        schema_name="text_analysis",
        offline=lambda: offline.text_analysis(text=offline_text),
    )
    return {**_label(result, prompt), "summary": result.data["summary"], "analysis": result.data}


def _creative_prompt(brief: Brief, kind: str) -> str:
    earlier = earlier_results(brief)
    lines = [f"{kind} for: {brief.query}"]
    analysis_data = (earlier.get("analysis") or {}).get("analysis") or {}
    if analysis_data.get("key_points"):
        lines.append("Key points: " + "; ".join(map(str, analysis_data["key_points"][:5])))
    scenes = (earlier.get("storyboard") or {}).get("scenes") or []
    if scenes:
        lines.append(
            "Scenes: " + " | ".join(str(scene.get("description", "")) for scene in scenes[:6])
        )
    if brief.description:
        lines.append(f"Details: {brief.description}")
    return "\n".join(lines)[:4000]


def image_processing(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(5, "Writing the image prompt")
    brief = load_brief(payload)
    prompt_text = _creative_prompt(brief, "An image")
    ctx.progress(20, "Generating the image")

    def make_offline() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "image.png"
            media.synth_image(target, seed=prompt_text, size=IMAGE_SIZE, ctx=ctx)
            return target.read_bytes()

    result = ai.generate_image(ctx=ctx, prompt=prompt_text, size=IMAGE_SIZE, offline=make_offline)
    ctx.progress(80, "Storing the image")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "image.png"
        local.write_bytes(result.data)
        info = media.probe(local, ctx=ctx, name="the generated image")
        if not info.has_video:
            raise PermanentError("The image model's answer is not an image.")
        stored = media.store(local, _generated_name(brief, ctx, "generated", ".png"))
    return {
        **_label(result),
        "summary": f"Image {info.width}x{info.height} generated",
        "image": stored,
        "width": info.width,
        "height": info.height,
        "prompt": prompt_text,
    }


def _scenes(brief: Brief) -> list[dict[str, Any]]:
    """The storyboard's scenes, or one scene made of the brief."""
    scenes = (earlier_results(brief).get("storyboard") or {}).get("scenes") or []
    if scenes:
        return scenes[:8]
    return [
        {
            "number": 1,
            "description": brief.query,
            "visuals": brief.description or brief.query,
            "narration": "",
            "duration_seconds": 4,
        }
    ]


def video_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """With OPENAI_VIDEO_MODEL: the videos API. Otherwise (default): one generated keyframe per
    storyboard scene (images API), narration (speech API), assembled with ffmpeg."""
    ctx.progress(5, "Planning the video")
    brief = load_brief(payload)
    prompt_text = _creative_prompt(brief, "A video")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "video.mp4"
        if conf.video_model() and ai.provider() == ai.OPENAI:
            details = _video_from_api(brief, prompt_text, local, ctx)
        else:
            details = _video_from_keyframes(brief, local, Path(tmp), ctx)
        ctx.progress(90, "Storing the video")
        info = media.probe_video(local, ctx=ctx, name="the generated video")
        stored = media.store(local, _generated_name(brief, ctx, "generated", ".mp4"))
    return {
        **details,
        "summary": f"Video of {info.duration:.1f}s generated ({details['mode']})",
        "video": stored,
        "probe": info.as_dict(),
    }


def _video_from_api(brief: Brief, prompt_text: str, target: Path, ctx: JobContext) -> dict:  # type: ignore[type-arg]
    wanted = sum(float(s.get("duration_seconds", 0)) for s in _scenes(brief)) or 4
    seconds = min((4, 8, 12), key=lambda option: abs(option - wanted))

    def on_progress(percent: int) -> None:
        ctx.progress(10 + percent * 75 // 100, f"Generating the video ({percent}%)")

    def make_offline() -> bytes:
        media.synth_video(target, seed=prompt_text, seconds=seconds, size=VIDEO_SIZE, ctx=ctx)
        return target.read_bytes()

    result = ai.generate_video(
        ctx=ctx,
        prompt=prompt_text,
        seconds=seconds,
        size=VIDEO_SIZE,
        offline=make_offline,
        on_progress=on_progress,
    )
    target.write_bytes(result.data)
    return {**_label(result), "mode": "videos API", "prompt": prompt_text}


def _video_from_keyframes(brief: Brief, target: Path, tmp: Path, ctx: JobContext) -> dict:  # type: ignore[type-arg]
    scenes = _scenes(brief)
    frames: list[tuple[Path, float]] = []
    image_result = None
    for index, scene in enumerate(scenes):
        ctx.progress(10 + 60 * index // len(scenes), f"Drawing scene {index + 1} of {len(scenes)}")
        prompt_text = (
            f"A still frame for a video. Scene {index + 1}: {scene.get('description', '')}. "
            f"Visuals: {scene.get('visuals', '')}. The video is about: {brief.query}"
        )[:4000]
        path = tmp / f"scene-{index + 1}.png"

        def make_offline(prompt_text: str = prompt_text, path: Path = path) -> bytes:
            media.synth_image(path, seed=prompt_text, size="1280x720", ctx=ctx)
            return path.read_bytes()

        image_result = ai.generate_image(
            ctx=ctx, prompt=prompt_text, size=KEYFRAME_SIZE, offline=make_offline
        )
        path.write_bytes(image_result.data)
        if not media.probe(path, ctx=ctx, name=f"the image of scene {index + 1}").has_video:
            raise PermanentError(f"The image model's answer for scene {index + 1} is no image.")
        seconds = min(max(float(scene.get("duration_seconds") or 4), 2.0), 10.0)
        frames.append((path, seconds))
    narration = " ".join(str(s.get("narration") or "").strip() for s in scenes).strip()
    audio = None
    voice = None
    if narration:
        ctx.progress(75, "Recording the narration")
        voice = ai.speak(ctx=ctx, text=narration, offline=lambda: None)
        if voice.data:
            audio = tmp / "narration.mp3"
            audio.write_bytes(voice.data)
    ctx.progress(80, "Assembling the video")
    media.slideshow(frames, target, audio=audio, ctx=ctx)
    assert image_result is not None
    models = [image_result.model] + ([voice.model] if voice is not None and voice.data else [])
    return {
        "provider": image_result.provider,
        "model": "+".join(models),
        "mode": "keyframes",
        "scenes": len(frames),
        "narrated": audio is not None,
    }


def render(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The delivery: a rendered video (video briefs), the final files, and a written summary."""
    ctx.progress(5, "Collecting the results")
    brief = load_brief(payload)
    earlier = earlier_results(brief)
    files: list[str] = []
    if brief.media_type == Brief.MediaType.VIDEO:
        source = (earlier.get("video_generation") or {}).get("video")
        if source:
            ctx.progress(20, "Rendering the video")
            with tempfile.TemporaryDirectory() as tmp, media.local_file(source) as local:
                target = Path(tmp) / "final.mp4"
                media.render_video(local, target, ctx=ctx)
                files.append(media.store(target, _generated_name(brief, ctx, "render", ".mp4")))
    elif brief.media_type == Brief.MediaType.IMAGE:
        image = (earlier.get("image_processing") or {}).get("image")
        if image:
            files.append(image)
    for item in (earlier.get("asset_prep") or {}).get("assets", []):
        if brief.media_type == Brief.MediaType.AUDIO and item.get("kind") == "audio":
            files.append(item["stored"])
    ctx.progress(60, "Writing the delivery")
    prompt = prompts.get("render")
    content = brief_text(brief) + "\n\nStep results:\n" + json.dumps(earlier, indent=1)[:20000]
    if files:
        content += "\n\nFiles produced:\n" + "\n".join(files)
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=content,
        schema=schemas.RENDER_SCHEMA,
        schema_name="render",
        offline=lambda: offline.render(title=brief.title, steps=earlier, media=files),
    )
    return {
        **_label(result, prompt),
        "summary": result.data["title"],
        "document": result.data,
        "files": files,
    }


# --- review steps ----------------------------------------------------------------------------


def ai_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(10, "Writing a reply to the review")
    prompt = prompts.get("review_reply")
    lines = [f"Tone: {payload['tone']}", f"Review: {payload['review_text']}"]
    if payload.get("rating") is not None:
        lines.insert(1, f"Rating: {payload['rating']} of 5")
    if payload.get("business_name"):
        lines.insert(0, f"Business: {payload['business_name']}")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content="\n".join(lines),
        schema=schemas.REVIEW_REPLY_SCHEMA,
        schema_name="review_reply",
        offline=lambda: offline.review_reply(
            review=payload["review_text"],
            tone=payload["tone"],
            business=payload.get("business_name", ""),
        ),
    )
    return {**_label(result, prompt), "reply": result.data["reply"], "tone": result.data["tone"]}


def sentiment_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(10, "Reading the text")
    prompt = prompts.get("sentiment")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=payload["text"],
        schema=schemas.SENTIMENT_SCHEMA,
        schema_name="sentiment",
        offline=lambda: offline.sentiment(text=payload["text"]),
    )
    return {**_label(result, prompt), **result.data}


def prompt_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ctx.progress(10, "Reviewing the prompt")
    prompt = prompts.get("prompt_analysis")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=payload["prompt"],
        schema=schemas.PROMPT_ANALYSIS_SCHEMA,
        schema_name="prompt_analysis",
        offline=lambda: offline.prompt_analysis(prompt=payload["prompt"]),
    )
    return {**_label(result, prompt), **result.data}


# --- video → transcript → SOP ------------------------------------------------------------------


def _video_asset(brief: Brief, payload: dict[str, Any]) -> dict[str, Any]:
    index = payload.get("asset_index", 0)
    assets = brief.assets or []
    asset = assets[index] if 0 <= index < len(assets) else None
    if not isinstance(asset, dict) or asset.get("kind") != "video" or not asset.get("file"):
        raise PermanentError(
            f"Brief #{brief.pk} has no uploaded video at asset {index + 1}; upload one and requeue."
        )
    return asset


def video_slim(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """ffmpeg makes the slim copy (1 fps, ≤720p, CRF 32) and stores it beside the raw one."""
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
    return {
        "summary": f"Slim copy of {raw_info.duration:.1f}s at {slim_info.height}p, 1 fps",
        "raw": raw,
        "slim": stored,
        "raw_probe": raw_info.as_dict(),
        "slim_probe": slim_info.as_dict(),
        "settings": {"fps": media.SLIM_FPS, "max_height": media.SLIM_HEIGHT, "crf": media.SLIM_CRF},
    }


def transcribe(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Speech from the audio, on-screen events from the 1-fps frames: one timestamped
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
    from django.core.files.storage import default_storage

    if not default_storage.exists(name):
        raise PermanentError(
            f"The slim copy {name!r} does not exist; run video_slim for this video first."
        )
    return name


def sop_extract(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The transcript goes to the model with the SOP schema; saved as an SOP for the owner."""
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
        **_label(result, prompt),
        "summary": data["title"],
        "title": data["title"],
        "steps": len(data["steps"]),
        "transcript_id": transcript.pk,
    }
