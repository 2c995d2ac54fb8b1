"""JSON schemas of every structured answer we ask a model for.

They follow OpenAI's strict structured-output rules (every property required, no additional
properties) and are checked again on our side with :func:`validate`, so an answer that does not
fit never reaches the database.
"""

from __future__ import annotations

from typing import Any

import jsonschema


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_STR = {"type": "string"}
_NUM = {"type": "number"}
_STRS = {"type": "array", "items": _STR}

SOP_SCHEMA = _obj(
    {
        "title": _STR,
        "purpose": _STR,
        "prerequisites": _STRS,
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": _obj(
                {
                    "number": {"type": "integer"},
                    "title": _STR,
                    "actions": _STRS,
                    "tools": _STRS,
                    "start": {**_NUM, "minimum": 0},
                    "end": {**_NUM, "minimum": 0},
                }
            ),
        },
    }
)

SCREEN_EVENTS_SCHEMA = _obj(
    {
        "events": {
            "type": "array",
            "items": _obj({"t": {**_NUM, "minimum": 0}, "description": _STR}),
        }
    }
)

ANALYSIS_SCHEMA = _obj(
    {
        "summary": _STR,
        "intent": _STR,
        "audience": _STR,
        "key_points": _STRS,
        "deliverables": _STRS,
        "risks": _STRS,
    }
)

STORYBOARD_SCHEMA = _obj(
    {
        "scenes": {
            "type": "array",
            "minItems": 1,
            "items": _obj(
                {
                    "number": {"type": "integer"},
                    "description": _STR,
                    "visuals": _STR,
                    "narration": _STR,
                    "duration_seconds": {**_NUM, "minimum": 0},
                }
            ),
        }
    }
)

TEXT_ANALYSIS_SCHEMA = _obj(
    {
        "summary": _STR,
        "tone": _STR,
        "reading_level": _STR,
        "keywords": _STRS,
        "suggestions": _STRS,
    }
)

ASSET_REVIEW_SCHEMA = _obj({"description": _STR, "usable": {"type": "boolean"}, "notes": _STRS})

RENDER_SCHEMA = _obj({"title": _STR, "body_markdown": _STR, "next_steps": _STRS})

REVIEW_REPLY_SCHEMA = _obj({"reply": _STR, "tone": _STR})

SENTIMENT_SCHEMA = _obj(
    {
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative", "mixed"]},
        "score": {"type": "number", "minimum": -1, "maximum": 1},
        "aspects": {
            "type": "array",
            "items": _obj(
                {
                    "aspect": _STR,
                    "sentiment": {
                        "type": "string",
                        "enum": ["positive", "neutral", "negative", "mixed"],
                    },
                }
            ),
        },
        "summary": _STR,
    }
)

PROMPT_ANALYSIS_SCHEMA = _obj(
    {
        "clarity": {"type": "integer", "minimum": 1, "maximum": 10},
        "issues": _STRS,
        "improved_prompt": _STR,
        "explanation": _STR,
    }
)


class SchemaMismatch(ValueError):
    """A model's answer does not fit the schema we asked for."""


def validate(data: Any, schema: dict[str, Any], *, name: str) -> dict[str, Any]:
    """Return ``data`` if it fits ``schema``; raise :class:`SchemaMismatch` saying where not."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.absolute_path
        )
        raise SchemaMismatch(
            f"The model's answer does not fit the {name} schema at {where or 'the top level'}: "
            f"{first.message[:300]}"
        )
    return data


def storable(data: Any) -> Any:
    """``data`` with every string made storable in any database: NUL characters (which
    PostgreSQL refuses in text and JSON) dropped, lone surrogates replaced."""
    if isinstance(data, str):
        return data.replace("\x00", "").encode("utf-8", "replace").decode()
    if isinstance(data, list):
        return [storable(item) for item in data]
    if isinstance(data, dict):
        return {storable(key): storable(value) for key, value in data.items()}
    return data
