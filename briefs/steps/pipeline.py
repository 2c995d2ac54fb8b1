"""The brief pipeline: analysis, storyboard, asset preparation, text analysis, image and video
generation, and the final render."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefs import ai, conf, fetch, media, offline, prompts, schemas
from briefs.models import Artifact, Brief
from briefs.steps.common import (
    ai_label,
    brief_text,
    document,
    earlier_results,
    generated_name,
    keep,
    load_brief,
    stored_file,
)
from briefs.validators import brief_payload
from jobs.exceptions import PermanentError
from jobs.registry import register

if TYPE_CHECKING:
    from jobs.context import JobContext

TEXT_ASSET_LIMIT = 50_000
IMAGE_SIZE = "1024x1024"
VIDEO_SIZE = "1280x720"
KEYFRAME_SIZE = "1536x1024"


@register("analysis", validate=brief_payload, cost=1, user_startable=True)
def analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Work out what a brief asks for: intent, audience, key points, deliverables."""
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
    output = {
        **ai_label(result, prompt),
        "summary": result.data["summary"],
        "analysis": result.data,
    }
    keep(ctx, brief, [document(Artifact.Kind.ANALYSIS, "analysis.json", output)])
    return output


@register("storyboard", validate=brief_payload, cost=1, user_startable=True)
def storyboard(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Plan the scenes of a brief."""
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
    output = {
        **ai_label(result, prompt),
        "summary": f"{len(scenes)} scenes, {total:g}s in all",
        "scenes": scenes,
    }
    keep(ctx, brief, [document(Artifact.Kind.STORYBOARD, "storyboard.json", output)])
    return output


@register("asset_prep", validate=brief_payload, timeout=1800)
def asset_prep(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fetch a brief's URL assets into storage, check every asset, review images.

    Every asset is checked with ffprobe; images are reviewed by the vision model."""
    ctx.progress(2, "Checking the assets")
    brief = load_brief(payload)
    assets = [a for a in brief.assets or [] if isinstance(a, dict)]
    prepared = []
    for index, asset in enumerate(assets):
        ctx.progress(5 + 90 * index // max(1, len(assets)), f"Preparing asset {index + 1}")
        prepared.append(_prepare_asset(brief, index, asset, ctx))
    usable = sum(1 for item in prepared if item.get("usable", True))
    output = {
        "provider": ai.provider(),
        "summary": f"{len(prepared)} asset(s) prepared, {usable} usable"
        if prepared
        else "No assets to prepare",
        "assets": prepared,
    }
    keep(ctx, brief, [document(Artifact.Kind.ASSET_REPORT, "assets.json", output)])
    return output


def _prepare_asset(brief: Brief, index: int, asset: dict[str, Any], ctx: JobContext):  # type: ignore[no-untyped-def]
    kind = asset.get("kind", "")
    name = str(asset.get("name") or f"asset-{index + 1}")
    item: dict[str, Any] = {"index": index, "kind": kind, "name": name}
    with tempfile.TemporaryDirectory() as tmp:
        if asset.get("url"):
            local, extension = _fetch_checked(asset["url"], Path(tmp), kind, name, ctx)
            item |= {"source": asset["url"], "bytes": local.stat().st_size}
            item |= _inspect(local, kind, name, ctx)
            stored = f"briefs/{brief.pk}/assets/{index + 1}-{kind}.{extension}"  # our name
            item["stored"] = media.store(local, stored)
        else:
            item["source"] = item["stored"] = asset["file"]
            with media.local_file(asset["file"]) as local:
                item["bytes"] = local.stat().st_size
                item |= _inspect(local, kind, name, ctx)
    return item


def _inspect(path: Path, kind: str, name: str, ctx: JobContext) -> dict[str, Any]:
    if kind == "text":
        text = media.read_text(path, TEXT_ASSET_LIMIT)
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
        details |= {"review": review.data, "usable": review.data["usable"], **ai_label(review)}
    return details


def _fetch_checked(
    url: str, folder: Path, kind: str, name: str, ctx: JobContext
) -> tuple[Path, str]:
    """A file given by URL, downloaded into ``folder`` and checked as an upload of ``kind`` is;
    returns its path and the extension it is stored with. A refusal fails the job for good."""
    local = folder / "download"  # the URL's suffix says nothing about the content
    try:
        fetch.download(url, local, ctx=ctx)
        extension, _ = media.check_upload(local, kind, name=name)
    except (fetch.FetchError, media.UploadRefused) as exc:
        raise PermanentError(f"Asset {name!r}: {exc}") from None
    return local, extension


def _fetched_text(url: str, name: str, ctx: JobContext) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        local, _ = _fetch_checked(url, Path(tmp), "text", name, ctx)
        return media.read_text(local, TEXT_ASSET_LIMIT)


@register("text_analysis", validate=brief_payload, cost=1, user_startable=True)
def text_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Analyse the text of a brief and its text assets."""
    ctx.progress(5, "Collecting the text")
    brief = load_brief(payload)
    uploaded: list[tuple[str, str]] = []
    for asset in brief.assets or []:
        if not (isinstance(asset, dict) and asset.get("kind") == "text"):
            continue
        name = str(asset.get("name") or "text")
        if asset.get("file"):
            with media.local_file(asset["file"]) as local:
                uploaded.append((name, media.read_text(local, TEXT_ASSET_LIMIT)))
        elif asset.get("url"):
            uploaded.append((name, _fetched_text(asset["url"], name, ctx)))
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
    output = {
        **ai_label(result, prompt),
        "summary": result.data["summary"],
        "analysis": result.data,
    }
    keep(ctx, brief, [document(Artifact.Kind.TEXT_ANALYSIS, "text-analysis.json", output)])
    return output


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


@register("image_processing", validate=brief_payload, cost=3, timeout=600)
def image_processing(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Generate the brief's image with the image model and store it."""
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
        stored = media.store(local, generated_name(brief, ctx, "generated", ".png"))
    output = {
        **ai_label(result),
        "summary": f"Image {info.width}x{info.height} generated",
        "image": stored,
        "width": info.width,
        "height": info.height,
        "prompt": prompt_text,
    }
    keep(ctx, brief, [stored_file(Artifact.Kind.IMAGE, stored, "image/png", output)])
    return output


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


@register("video_generation", validate=brief_payload, cost=5, timeout=1800)
def video_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Generate the brief's video with the video model and store it.

    With OPENAI_VIDEO_MODEL: the videos API. Otherwise (default): one generated keyframe per
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
        stored = media.store(local, generated_name(brief, ctx, "generated", ".mp4"))
    output = {
        **details,
        "summary": f"Video of {info.duration:.1f}s generated ({details['mode']})",
        "video": stored,
        "probe": info.as_dict(),
    }
    outputs = [stored_file(Artifact.Kind.VIDEO, stored, "video/mp4", output)]
    if details.get("narration"):
        outputs.append(stored_file(Artifact.Kind.NARRATION, details["narration"], "audio/mpeg"))
    keep(ctx, brief, outputs)
    return output


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
    return {**ai_label(result), "mode": "videos API", "prompt": prompt_text}


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
    details = {
        "provider": image_result.provider,
        "model": "+".join(models),
        "mode": "keyframes",
        "scenes": len(frames),
        "narrated": audio is not None,
    }
    if audio is not None:
        details["narration"] = media.store(audio, generated_name(brief, ctx, "generated", ".mp3"))
    return details


@register("render", validate=brief_payload, cost=1, timeout=1800)
def render(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Render the final delivery of a brief: media files and a written summary.

    A rendered video (video briefs), the final files, and a written summary (the render
    document)."""
    ctx.progress(5, "Collecting the results")
    brief = load_brief(payload)
    earlier = earlier_results(brief)
    files: list[str] = []
    outputs: list[dict[str, Any]] = []
    if brief.media_type == Brief.MediaType.VIDEO:
        source = (earlier.get("video_generation") or {}).get("video")
        if source:
            ctx.progress(20, "Rendering the video")
            with tempfile.TemporaryDirectory() as tmp, media.local_file(source) as local:
                target = Path(tmp) / "final.mp4"
                media.render_video(local, target, ctx=ctx)
                files.append(media.store(target, generated_name(brief, ctx, "render", ".mp4")))
                outputs.append(stored_file(Artifact.Kind.VIDEO, files[-1], "video/mp4"))
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
    output = {
        **ai_label(result, prompt),
        "summary": result.data["title"],
        "document": result.data,
        "files": files,
    }
    outputs.insert(0, document(Artifact.Kind.RENDER_DOCUMENT, "render.json", output))
    keep(ctx, brief, outputs)
    return output
