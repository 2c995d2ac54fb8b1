"""SOPs and transcripts as files people hand out: Markdown, print-ready HTML and PDF for an SOP;
WebVTT, SRT (subtitles for the video) and plain text for a transcript.

:data:`SOP_FORMATS` and :data:`TRANSCRIPT_FORMATS` are the one list of formats the API and the
admin offer; :func:`export_sop` and :func:`export_transcript` make the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.text import slugify

from briefs.models import SOP, SOPVersion, Transcript


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    filename: str


SOP_FORMATS = {
    "md": ("text/markdown; charset=utf-8", "Markdown"),
    "html": ("text/html; charset=utf-8", "HTML (print-ready)"),
    "pdf": ("application/pdf", "PDF"),
}
TRANSCRIPT_FORMATS = {
    "vtt": ("text/vtt; charset=utf-8", "WebVTT subtitles"),
    "srt": ("application/x-subrip; charset=utf-8", "SRT subtitles"),
    "txt": ("text/plain; charset=utf-8", "Plain text"),
}


class UnknownFormat(ValueError):
    pass


def clock(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes = f"{rest // 60:02d}:{rest % 60:02d}"
    return f"{hours}:{minutes}" if hours else minutes


def readable_steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps with plain lists and a ``when`` ("00:12–00:30"), tolerant of odd stored data."""
    steps = []
    for index, step in enumerate(data.get("steps") or [], start=1):
        if not isinstance(step, dict):
            continue
        start = _seconds(step.get("start"))
        end = max(_seconds(step.get("end"), start), start)
        steps.append(
            {
                "number": index,
                "title": str(step.get("title") or f"Step {index}"),
                "actions": [str(a) for a in step.get("actions") or [] if str(a).strip()],
                "tools": [str(t) for t in step.get("tools") or [] if str(t).strip()],
                "start": start,
                "end": end,
                "when": f"{clock(start)}–{clock(end)}",
            }
        )
    return steps


def sop_view(data: Any) -> dict[str, Any]:
    data = data if isinstance(data, dict) else {}
    return {
        "title": str(data.get("title") or "Untitled SOP"),
        "purpose": str(data.get("purpose") or ""),
        "prerequisites": [str(p) for p in data.get("prerequisites") or [] if str(p).strip()],
        "steps": readable_steps(data),
    }


def sop_markdown(data: Any) -> str:
    sop = sop_view(data)
    lines = [f"# {_md(sop['title'])}", ""]
    if sop["purpose"]:
        lines += ["## Purpose", "", _md(sop["purpose"]), ""]
    if sop["prerequisites"]:
        lines += ["## Before you start", ""] + [f"- {_md(p)}" for p in sop["prerequisites"]]
        lines.append("")
    lines += ["## Steps", ""]
    for step in sop["steps"]:
        lines.append(f"{step['number']}. **{_md(step['title'])}** ({step['when']})")
        lines += [f"   - {_md(action)}" for action in step["actions"]]
        if step["tools"]:
            lines.append(f"   - Tools: {_md(', '.join(step['tools']))}")
    return "\n".join(lines).rstrip() + "\n"


def sop_html(sop: SOP, version: SOPVersion, *, state_label: str) -> str:
    return render_to_string(
        "briefs/sop_print.html",
        {
            "sop": sop_view(version.data),
            "version": version,
            "brief_title": sop.brief.title,
            "state_label": state_label,
        },
    )


def sop_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, needed only for PDFs

    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


def export_sop(sop: SOP, version: SOPVersion, fmt: str, *, state_label: str) -> Export:
    if fmt not in SOP_FORMATS:
        raise UnknownFormat(f"format must be one of {', '.join(SOP_FORMATS)}.")
    name = f"{slugify(sop_view(version.data)['title']) or 'sop'}-v{version.number}.{fmt}"
    if fmt == "md":
        content = sop_markdown(version.data).encode()
    else:
        html = sop_html(sop, version, state_label=state_label)
        content = html.encode() if fmt == "html" else sop_pdf(html)
    return Export(content, SOP_FORMATS[fmt][0], name)


def export_transcript(transcript: Transcript, fmt: str) -> Export:
    if fmt not in TRANSCRIPT_FORMATS:
        raise UnknownFormat(f"format must be one of {', '.join(TRANSCRIPT_FORMATS)}.")
    segments = cues(transcript.segments)
    if fmt == "vtt":
        body = "WEBVTT\n\n" + "\n".join(
            f"{_stamp(s, '.')} --> {_stamp(e, '.')}\n{text}\n" for s, e, text in segments
        )
    elif fmt == "srt":
        body = "\n".join(
            f"{n}\n{_stamp(s, ',')} --> {_stamp(e, ',')}\n{text}\n"
            for n, (s, e, text) in enumerate(segments, start=1)
        )
    else:
        body = "\n".join(f"[{clock(s)}] {text}" for s, _, text in segments) + "\n"
    name = f"{slugify(transcript.brief.title) or 'transcript'}-transcript-{transcript.pk}.{fmt}"
    return Export(body.encode(), TRANSCRIPT_FORMATS[fmt][0], name)


def cues(segments: Any) -> list[tuple[float, float, str]]:
    """(start, end, text) per segment, sorted, each ending after it starts; on-screen events
    marked so subtitles tell them from speech; nothing that would break a cue ("-->", blank
    lines)."""
    out = []
    for segment in segments if isinstance(segments, list) else []:
        if not isinstance(segment, dict):
            continue
        text = " ".join(str(segment.get("text", "")).split()).replace("-->", "→")
        if not text:
            continue
        if segment.get("kind") == "screen":
            text = f"[On screen] {text}"
        start = _seconds(segment.get("start"))
        end = max(_seconds(segment.get("end"), start), start + 0.5)
        out.append((start, end, text))
    return sorted(out, key=lambda cue: cue[0])


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _seconds(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 and number == number and number != float("inf") else default


_MD_SPECIAL = re.compile(r"([\\`*_<>])")


_MD_LINE_START = re.compile(r"^([#>+=-])")
_MD_NUMBERED = re.compile(r"^(\d+)([.)])")


def _md(text: str) -> str:
    """One line of plain text, with the characters that would turn it into emphasis, code or
    HTML escaped, and a start that would make a heading, quote or list."""
    escaped = _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    escaped = _MD_LINE_START.sub(r"\\\1", escaped)
    return _MD_NUMBERED.sub(r"\1\\\2", escaped)
