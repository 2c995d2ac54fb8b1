"""The ``offline`` provider: simple, deterministic results made without any AI, so the whole
app runs end to end on a machine without ``OPENAI_API_KEY``. Every text it writes starts with
``[offline]`` and every result is labelled ``provider: offline``; it is never used when a key
is set."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

TAG = "[offline]"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_STOP = _words(
    "the and for with that this from into your you our are was were have has had not but all "
    "can will would should could about make made want wants like just very more most some any "
    "them they their there here what when where which who how its it's also"
)
_POSITIVE = _words(
    "good great excellent amazing love loved lovely friendly helpful fast quick clean best "
    "perfect happy recommend wonderful fantastic nice pleasant delicious kind"
)
_NEGATIVE = _words(
    "bad terrible awful slow rude dirty worst broken hate hated disappointed disappointing "
    "cold late never poor horrible unhelpful wrong expensive noisy"
)


def keywords(text: str, limit: int = 8) -> list[str]:
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP]
    return [word for word, _ in Counter(words).most_common(limit)]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def analysis(*, title: str, query: str, description: str, media_type: str) -> dict[str, Any]:
    text = f"{title}. {query} {description}"
    first = sentences(query)[:1] or [query]
    return {
        "summary": f"{TAG} {title}: {first[0][:300]}",
        "intent": f"{TAG} Make {media_type} content for: {query[:200]}",
        "audience": f"{TAG} Not determined without a model.",
        "key_points": [f"{TAG} {word}" for word in keywords(text, 5)],
        "deliverables": [f"{TAG} one {media_type} deliverable"],
        "risks": [f"{TAG} Made without an AI model; set OPENAI_API_KEY for a real analysis."],
    }


def storyboard(*, query: str, media_type: str) -> dict[str, Any]:
    parts = sentences(query) or [query]
    scenes = [
        {
            "number": index,
            "description": f"{TAG} {part[:200]}",
            "visuals": f"{TAG} {media_type} shot {index}",
            "narration": part[:200],
            "duration_seconds": 4,
        }
        for index, part in enumerate(parts[:6], start=1)
    ]
    return {"scenes": scenes}


def text_analysis(*, text: str) -> dict[str, Any]:
    words = _WORD.findall(text)
    average = sum(len(w) for w in words) / len(words) if words else 0
    return {
        "summary": f"{TAG} {len(words)} words in {len(sentences(text))} sentences.",
        "tone": f"{TAG} {sentiment(text=text)['sentiment']}",
        "reading_level": f"{TAG} " + ("expert" if average > 6 else "general audience"),
        "keywords": keywords(text),
        "suggestions": [f"{TAG} Set OPENAI_API_KEY for editorial suggestions."],
    }


def asset_review(*, name: str, width: int, height: int) -> dict[str, Any]:
    return {
        "description": f"{TAG} {name}: {width}x{height} pixels.",
        "usable": width >= 64 and height >= 64,
        "notes": [f"{TAG} Only the size was checked."],
    }


def render(*, title: str, steps: dict[str, Any], media: list[str]) -> dict[str, Any]:
    lines = [f"# {title}", "", f"{TAG} Assembled without an AI model.", ""]
    for name, result in steps.items():
        summary = result.get("summary") if isinstance(result, dict) else None
        lines.append(f"- **{name}**: {summary or 'done'}")
    for item in media:
        lines.append(f"- File: `{item}`")
    return {
        "title": f"{TAG} {title}",
        "body_markdown": "\n".join(lines),
        "next_steps": [f"{TAG} Review the result."],
    }


def review_reply(*, review: str, tone: str, business: str) -> dict[str, Any]:
    mood = sentiment(text=review)["sentiment"]
    opening = {
        "positive": "Thank you so much for your kind words!",
        "negative": "We are sorry to hear about your experience.",
    }.get(mood, "Thank you for your feedback.")
    name = f" at {business}" if business else ""
    return {
        "reply": f"{TAG} {opening} Everyone{name} reads every review, and yours helps us "
        "improve. We hope to see you again soon.",
        "tone": tone,
    }


def sentiment(*, text: str) -> dict[str, Any]:
    words = [w.lower() for w in _WORD.findall(text)]
    positive = sum(w in _POSITIVE for w in words)
    negative = sum(w in _NEGATIVE for w in words)
    total = positive + negative
    score = 0.0 if total == 0 else round((positive - negative) / total, 3)
    if positive and negative:
        label = "mixed"
    elif score > 0:
        label = "positive"
    elif score < 0:
        label = "negative"
    else:
        label = "neutral"
    aspects = [
        {"aspect": word, "sentiment": "positive" if word in _POSITIVE else "negative"}
        for word in dict.fromkeys(w for w in words if w in _POSITIVE or w in _NEGATIVE)
    ]
    return {
        "sentiment": label,
        "score": score,
        "aspects": aspects[:10],
        "summary": f"{TAG} {positive} positive and {negative} negative words.",
    }


def prompt_analysis(*, prompt: str) -> dict[str, Any]:
    issues = []
    if len(prompt.split()) < 8:
        issues.append(f"{TAG} The prompt is very short; give more context.")
    if not re.search(r"\b(json|list|table|format|bullet|words?)\b", prompt, re.I):
        issues.append(f"{TAG} The prompt does not say what form the answer should take.")
    clarity = max(1, 8 - 3 * len(issues))
    return {
        "clarity": clarity,
        "issues": issues,
        "improved_prompt": f"{prompt.strip()}\n\nAnswer in a short, clearly structured form.",
        "explanation": f"{TAG} Rule-based checks only; set OPENAI_API_KEY for a real review.",
    }


def transcript_audio(*, duration: float) -> dict[str, Any]:
    """No speech-to-text offline: one labelled segment spanning the audio."""
    return {
        "language": "",
        "segments": [
            {
                "start": 0.0,
                "end": round(duration, 3),
                "text": f"{TAG} Audio present ({duration:.1f}s); no speech-to-text without a "
                "model.",
            }
        ],
    }


NEW_SCENE = "new scene"


def screen_events(*, times: list[float], thumbs: list[bytes] | None = None) -> dict[str, Any]:
    """One event per frame, saying how bright it is and how much changed since the frame
    before (from tiny grayscale thumbnails): no vision model, but true to the video."""
    thumbs = thumbs or [b""] * len(times)
    events = []
    previous = b""
    for t, thumb in zip(times, thumbs, strict=False):
        text = f"{TAG} Frame at {t:g}s"
        if thumb:
            brightness = sum(thumb) / len(thumb) / 255
            text += f": brightness {brightness:.0%}"
            if previous and len(previous) == len(thumb):
                total = sum(abs(a - b) for a, b in zip(thumb, previous, strict=True))
                change = total / (len(thumb) * 255)
                text += "; " + (
                    NEW_SCENE
                    if change > 0.15
                    else "small change"
                    if change > 0.02
                    else "no visible change"
                )
            else:
                text += "; first frame"
            previous = thumb
        events.append({"t": t, "description": text + "."})
    return {"events": events}


def sop(*, title: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps in transcript order: a new step at each new scene on screen (or every few
    segments when nothing says so), quoting the transcript."""
    steps: list[dict[str, Any]] = []
    chunks: list[list[dict[str, Any]]] = []
    for segment in segments:
        starts_scene = NEW_SCENE in str(segment.get("text", ""))
        if not chunks or starts_scene or len(chunks[-1]) >= 6:
            chunks.append([])
        chunks[-1].append(segment)
    for chunk in chunks:
        steps.append(
            {
                "number": len(steps) + 1,
                "title": f"{TAG} Step {len(steps) + 1}",
                "actions": [str(s.get("text", ""))[:300] for s in chunk],
                "tools": [],
                "start": float(chunk[0].get("start", 0)),
                "end": max(float(s.get("end", s.get("start", 0))) for s in chunk),
            }
        )
    if not steps:
        steps = [
            {
                "number": 1,
                "title": f"{TAG} Watch the video",
                "actions": [f"{TAG} The transcript is empty."],
                "tools": [],
                "start": 0.0,
                "end": 0.0,
            }
        ]
    return {
        "title": f"{TAG} {title}",
        "purpose": f"{TAG} Procedure assembled from the transcript without an AI model.",
        "prerequisites": [],
        "steps": steps,
    }
