"""Prompts are versioned files in ``prompts/`` (``<name>_v<N>.md``). The version that made a
result is stored with it, so a changed prompt is a new file, never an edit of an old one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from briefs import conf

#: The version of each prompt in use. A new version: add the file, change the number here.
CURRENT = {
    "transcription": 1,
    "sop_parser": 1,
    "analysis": 1,
    "storyboard": 1,
    "text_analysis": 1,
    "asset_review": 1,
    "render": 1,
    "review_reply": 1,
    "sentiment": 1,
    "prompt_analysis": 1,
}


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str  # e.g. "sop_parser_v1"
    text: str


def prompts_dir() -> Path:
    return conf.prompts_dir()


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def get(name: str) -> Prompt:
    """The current version of prompt ``name``."""
    version = f"{name}_v{CURRENT[name]}"
    path = prompts_dir() / f"{version}.md"
    return Prompt(name=name, version=version, text=_read(path))
