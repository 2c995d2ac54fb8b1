"""The dashboard's "enqueue test work" form: any registered job type, checked like
``manage.py enqueue`` checks it, so a typo gets a clear message instead of a broken job."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from jobs import registry

MAX_COUNT = 1000


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
        if not isinstance(payload, dict):
            raise forms.ValidationError('The payload must be a JSON object, like {"seconds": 5}.')
        return payload
