"""The dashboard's "enqueue test work" form: any registered job type, checked like
``manage.py enqueue`` checks it, so a typo gets a clear message instead of a broken job."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from jobs import registry
from jobs.models import Job

MAX_COUNT = 1000
#: The largest id a bigint primary key can hold.
MAX_ID = 2**63 - 1


def parse_id(text: str) -> int | None:
    """An object id typed in a URL or a search box ("123", "#123"), or None. Only ASCII
    digits count: ``"²".isdigit()`` is true, but ``int("²")`` fails."""
    text = text.strip().lstrip("#")
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


class JobAdminForm(forms.ModelForm):
    """The admin's form of a queued job: the same limits ``enqueue()`` puts on a job, so a
    value enqueue would refuse is refused here with a clear message instead of being saved."""

    class Meta:
        model = Job
        fields = ("queue", "priority", "run_at", "max_attempts", "timeout")

    def clean_max_attempts(self) -> Any:
        value = self.cleaned_data.get("max_attempts")
        if value is not None and value < 1:
            raise forms.ValidationError(
                f"A job needs at least 1 attempt, not {value} (enqueue refuses fewer)."
            )
        return value

    def clean_timeout(self) -> Any:
        value = self.cleaned_data.get("timeout")
        if value is not None and not (0 < value < float("inf")):
            raise forms.ValidationError(
                f"The timeout must be a positive number of seconds, not {value:g}."
            )
        return value


class EnqueueForm(forms.Form):
    type = forms.ChoiceField(choices=())
    payload = forms.CharField(
        initial='{"seconds": 5}',
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text='A JSON object, for example {"seconds": 5} for sleep.',
    )
    count = forms.IntegerField(min_value=1, max_value=MAX_COUNT, initial=1)
    queue = forms.CharField(max_length=100, required=False, help_text="Empty: the type's queue.")
    priority = forms.IntegerField(initial=0, min_value=-1000, max_value=1000)
    delay = forms.FloatField(required=False, min_value=0, max_value=86_400, help_text="Seconds.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type_field = self.fields["type"]
        assert isinstance(type_field, forms.ChoiceField)
        type_field.choices = [(t.name, t.name) for t in registry.all_types()]
        if "sleep" in registry.names():
            self.fields["type"].initial = "sleep"

    def clean_payload(self) -> dict[str, Any]:
        text = self.cleaned_data["payload"].strip() or "{}"
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise forms.ValidationError("The payload is nested too deeply.") from None
        if not isinstance(payload, dict):
            raise forms.ValidationError('The payload must be a JSON object, like {"seconds": 5}.')
        return payload
