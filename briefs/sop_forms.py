"""The admin's SOP editor: the SOP's head (title, purpose, prerequisites) and one form per step
(title, actions, tools, times), with steps added, removed (DELETE) and reordered (ORDER).

The forms only turn text into the SOP's data; :func:`briefs.sops.sop_validate` (the SOP schema)
decides whether it is valid, so the editor, extraction and the API share one definition.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from briefs.exports import clock

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


class TimeField(forms.Field):
    """Seconds into the video, typed as ``75``, ``1:15`` or ``0:01:15``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 7, "placeholder": "mm:ss"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int | float):
            whole = clock(value)
            return whole if value == int(value) else f"{whole}{str(value % 1)[1:5]}"
        return value

    def to_python(self, value: Any) -> float | None:  # type: ignore[override]
        text = str(value if value is not None else "").strip()[:32]
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            match = _TIME.match(text)
            if not match:
                raise ValidationError("Use seconds (75) or minutes:seconds (1:15).") from None
            hours, minutes, secs = match.groups()
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        if not 0 <= seconds < 10**7:
            raise ValidationError("A time must be 0 or more seconds into the video.")
        return seconds


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class SOPHeadForm(forms.Form):
    title = forms.CharField(max_length=300)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 80}), required=False)
    prerequisites = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
        help_text="One per line.",
    )


class StepForm(forms.Form):
    title = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 40}))
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 50}),
        required=False,
        help_text="One action per line.",
    )
    tools = forms.CharField(
        required=False, help_text="Comma-separated.", widget=forms.TextInput(attrs={"size": 24})
    )
    start = TimeField()
    end = TimeField()


StepFormSet = forms.formset_factory(
    StepForm, extra=1, can_order=True, can_delete=True, max_num=200, validate_max=True
)


def initial_from(data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = data if isinstance(data, dict) else {}
    head = {
        "title": data.get("title", ""),
        "purpose": data.get("purpose", ""),
        "prerequisites": "\n".join(str(p) for p in data.get("prerequisites") or []),
    }
    steps = [
        {
            "title": step.get("title", ""),
            "actions": "\n".join(str(a) for a in step.get("actions") or []),
            "tools": ", ".join(str(t) for t in step.get("tools") or []),
            "start": step.get("start", 0),
            "end": step.get("end", 0),
        }
        for step in data.get("steps") or []
        if isinstance(step, dict)
    ]
    return head, steps


def data_from(head: SOPHeadForm, steps: Any) -> dict[str, Any]:
    """The SOP's data from valid forms: deleted and blank extra steps left out, in ORDER."""
    kept = [
        form.cleaned_data
        for form in steps.ordered_forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    return {
        "title": head.cleaned_data["title"].strip(),
        "purpose": head.cleaned_data["purpose"].strip(),
        "prerequisites": lines(head.cleaned_data["prerequisites"]),
        "steps": [
            {
                "number": index,
                "title": step["title"].strip(),
                "actions": lines(step["actions"]),
                "tools": [t.strip() for t in step["tools"].split(",") if t.strip()],
                "start": step["start"],
                "end": step["end"],
            }
            for index, step in enumerate(kept, start=1)
        ],
    }
