"""Every structured answer we ask a model for, as one Pydantic model each.

One model serves three purposes (one source for each fact):

- the OpenAI call: :func:`openai_format` makes the ``text.format`` of a Responses request from
  the model, following the strict structured-output rules (every property required, no
  additional properties, only the keywords strict mode supports);
- checking the answer: :func:`parse` validates the model's JSON with the same model, so an
  answer that does not fit never reaches the database;
- the API: ``api/schemas.py`` uses these models as response types (django-ninja is pydantic).

The offline provider's results go through :func:`parse` too, so they fit the same models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Seconds = Annotated[float, Field(ge=0)]
Feeling = Literal["positive", "neutral", "negative", "mixed"]


class Strict(BaseModel):
    """Base of every structured answer: unknown keys and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SOPStep(Strict):
    number: int
    title: str
    actions: list[str]
    tools: list[str]
    start: Seconds
    end: Seconds


class SOPData(Strict):
    """A standard operating procedure made from a video's transcript."""

    title: str
    purpose: str
    prerequisites: list[str]
    steps: list[SOPStep] = Field(min_length=1)


class ScreenEvent(Strict):
    t: Seconds
    description: str


class ScreenEvents(Strict):
    """What changes on screen in a batch of frames."""

    events: list[ScreenEvent]


class Analysis(Strict):
    """What a brief asks for."""

    summary: str
    intent: str
    audience: str
    key_points: list[str]
    deliverables: list[str]
    risks: list[str]


class Scene(Strict):
    number: int
    description: str
    visuals: str
    narration: str
    duration_seconds: Seconds


class Storyboard(Strict):
    scenes: list[Scene] = Field(min_length=1)


class TextAnalysis(Strict):
    summary: str
    tone: str
    reading_level: str
    keywords: list[str]
    suggestions: list[str]


class AssetReview(Strict):
    description: str
    usable: bool
    notes: list[str]


class Render(Strict):
    """The written delivery of a brief."""

    title: str
    body_markdown: str
    next_steps: list[str]


class ReviewReply(Strict):
    reply: str
    tone: str


class Aspect(Strict):
    aspect: str
    sentiment: Feeling


class Sentiment(Strict):
    sentiment: Feeling
    score: float = Field(ge=-1, le=1)
    aspects: list[Aspect]
    summary: str


class PromptAnalysis(Strict):
    clarity: int = Field(ge=1, le=10)
    issues: list[str]
    improved_prompt: str
    explanation: str


#: Every structured answer the app asks for, by the name its requests carry.
MODELS: dict[str, type[Strict]] = {
    "sop": SOPData,
    "screen_events": ScreenEvents,
    "brief_analysis": Analysis,
    "storyboard": Storyboard,
    "text_analysis": TextAnalysis,
    "asset_review": AssetReview,
    "render": Render,
    "review_reply": ReviewReply,
    "sentiment": Sentiment,
    "prompt_analysis": PromptAnalysis,
}

# The names the steps used for the hand-written schemas; they now name the models.
SOP_SCHEMA = SOPData
SCREEN_EVENTS_SCHEMA = ScreenEvents
ANALYSIS_SCHEMA = Analysis
STORYBOARD_SCHEMA = Storyboard
TEXT_ANALYSIS_SCHEMA = TextAnalysis
ASSET_REVIEW_SCHEMA = AssetReview
RENDER_SCHEMA = Render
REVIEW_REPLY_SCHEMA = ReviewReply
SENTIMENT_SCHEMA = Sentiment
PROMPT_ANALYSIS_SCHEMA = PromptAnalysis


# --- the request's schema --------------------------------------------------------------------

# What strict mode accepts besides type/properties/required/additionalProperties/items/enum
# (https://platform.openai.com/docs/guides/structured-outputs#supported-schemas).
SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "description",
        "$defs",
        "$ref",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON Schema of ``model``: references inlined, titles and defaults dropped,
    every object closed (``additionalProperties: false``) with every property required."""
    raw = model.model_json_schema()
    definitions = raw.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            merged = {**definitions[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged)
        out = {
            key: walk(value)
            for key, value in node.items()
            if key not in ("title", "default", "$defs")
        }
        if "properties" in node:
            out["properties"] = {name: walk(sub) for name, sub in node["properties"].items()}
        if out.get("type") == "object":
            out["required"] = list(out.get("properties", {}))
            out["additionalProperties"] = False
        return out

    return walk(raw)


def openai_format(model: type[BaseModel], *, name: str) -> dict[str, Any]:
    """The ``text.format`` of a Responses request asking for an answer that fits ``model``."""
    return {"type": "json_schema", "name": name, "schema": json_schema(model), "strict": True}


# --- checking answers ------------------------------------------------------------------------


class SchemaMismatch(ValueError):
    """A model's answer does not fit the schema we asked for."""


def parse(data: str | bytes | Any, model: type[BaseModel], *, name: str) -> dict[str, Any]:
    """``data`` (JSON text, or JSON-able Python data) checked against ``model``; returns it as
    plain JSON data. Raises :class:`SchemaMismatch` saying where it does not fit."""
    text = data if isinstance(data, str | bytes) else json.dumps(data)
    try:
        value = model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.get("loc", ())
        )
        if first.get("type") == "json_invalid":
            raise SchemaMismatch(f"The model's answer for {name} is not JSON.") from None
        raise SchemaMismatch(
            f"The model's answer does not fit the {name} schema at {where or 'the top level'}: "
            f"{str(first.get('msg', ''))[:300]}"
        ) from None
    return storable(value.model_dump(mode="json"))


def validate(data: Any, model: type[BaseModel], *, name: str) -> dict[str, Any]:
    """Return ``data`` if it fits ``model``; raise :class:`SchemaMismatch` saying where not."""
    parse(data, model, name=name)
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
