"""Every structured-output schema the app sends follows OpenAI's strict-mode rules, and one
Pydantic model serves the request, the check of the answer and the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from briefs import schemas

BRIEFS = Path(schemas.__file__).parent

# Strict mode: at most 5000 properties in all, 10 levels of nesting, 1000 enum values.
MAX_PROPERTIES, MAX_DEPTH, MAX_ENUM = 5000, 10, 1000


def strict_problems(schema: dict[str, Any]) -> list[str]:
    """Where ``schema`` breaks OpenAI's strict structured-output rules."""
    problems: list[str] = []
    counted = {"properties": 0}

    def walk(node: Any, where: str, depth: int) -> None:
        if not isinstance(node, dict):
            problems.append(f"{where}: not a schema object")
            return
        for key in node:
            if key not in schemas.SUPPORTED_KEYWORDS:
                problems.append(f"{where}: unsupported keyword {key!r}")
        if depth > MAX_DEPTH:
            problems.append(f"{where}: nested deeper than {MAX_DEPTH}")
        if "$ref" in node:
            problems.append(f"{where}: $ref left in (the fake server and reviewers read inline)")
        kind = node.get("type")
        if "enum" in node and len(node["enum"]) > MAX_ENUM:
            problems.append(f"{where}: more than {MAX_ENUM} enum values")
        if kind is None and "anyOf" not in node and "enum" not in node and "const" not in node:
            problems.append(f"{where}: no type")
        if kind == "object":
            properties = node.get("properties")
            if not isinstance(properties, dict) or not properties:
                problems.append(f"{where}: an object without properties")
                properties = {}
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: additionalProperties is not false")
            if sorted(node.get("required", [])) != sorted(properties):
                problems.append(f"{where}: not every property is required")
            counted["properties"] += len(properties)
            for name, sub in properties.items():
                walk(sub, f"{where}.{name}", depth + 1)
        if kind == "array":
            if "items" not in node:
                problems.append(f"{where}: an array without items")
            else:
                walk(node["items"], f"{where}[]", depth + 1)
        for index, option in enumerate(node.get("anyOf", [])):
            walk(option, f"{where}|{index}", depth + 1)

    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("root: must be an object, not anyOf")
    walk(schema, "root", 1)
    if counted["properties"] > MAX_PROPERTIES:
        problems.append(f"more than {MAX_PROPERTIES} properties")
    return problems


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_every_schema_follows_the_strict_rules(name):
    fmt = schemas.openai_format(schemas.MODELS[name], name=name)
    assert fmt["strict"] is True and fmt["type"] == "json_schema" and fmt["name"] == name
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name)
    assert strict_problems(fmt["schema"]) == []


def test_the_checker_catches_what_strict_mode_refuses():
    loose = {
        "type": "object",
        "properties": {"a": {"type": "string", "default": "x"}, "b": {"type": "object"}},
        "required": ["a"],
    }
    problems = strict_problems(loose)
    assert "root: additionalProperties is not false" in problems
    assert "root: not every property is required" in problems
    assert "root.a: unsupported keyword 'default'" in problems
    assert "root.b: an object without properties" in problems


def test_every_structured_call_of_the_app_uses_a_registered_model():
    """The steps pass ``schema=schemas.X`` and ``schema_name="…"``: each pair is a model in
    ``schemas.MODELS`` under that name, so the test above covers what the app sends."""
    sources = [path.read_text() for path in BRIEFS.rglob("*.py")]
    calls = [
        match
        for source in sources
        for match in re.findall(
            r"schema=schemas\.(\w+),\s*schema_name=\"(\w+)\"", source, flags=re.S
        )
    ]
    assert len(calls) >= len(schemas.MODELS)
    for attribute, name in calls:
        assert getattr(schemas, attribute) is schemas.MODELS[name], (attribute, name)


def test_answers_are_checked_with_the_same_model():
    good = {"reply": "Thank you!", "tone": "warm"}
    assert schemas.parse(good, schemas.ReviewReply, name="review_reply") == good
    with pytest.raises(schemas.SchemaMismatch, match=r"at \.extra"):
        schemas.parse(good | {"extra": 1}, schemas.ReviewReply, name="review_reply")
    with pytest.raises(schemas.SchemaMismatch, match=r"at \.score"):
        schemas.parse(
            {"sentiment": "mixed", "score": "0.5", "aspects": [], "summary": ""},
            schemas.Sentiment,
            name="sentiment",
        )
    with pytest.raises(schemas.SchemaMismatch, match=r"steps"):
        schemas.parse(
            {"title": "t", "purpose": "p", "prerequisites": [], "steps": []},
            schemas.SOPData,
            name="sop",
        )


def test_the_api_documents_the_sop_with_the_same_model(client):
    spec = client.get("/api/openapi.json").json()
    sop = spec["components"]["schemas"]["SOPOut"]["properties"]["data"]
    assert {"$ref": "#/components/schemas/SOPData"} in sop["anyOf"]
    steps = spec["components"]["schemas"]["SOPData"]["properties"]["steps"]
    assert steps["minItems"] == 1
