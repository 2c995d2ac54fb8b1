"""The filter of the bulk page, read from its own form or from the admin job list's query."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from jobs import registry
from jobs.bulk import JobFilter
from jobs.models import Job

# The admin job list's parameters, as its filters and search write them.
ADMIN_PARAMS = {
    "status__exact": "status",
    "q": "error",
    "created_at__gte": "since",
    "created_at__lt": "until",
}
ACTION_PERMISSIONS = {
    "retry": "jobs.requeue_job",
    "cancel": "jobs.cancel_job",
    "delete": "jobs.delete_job",
}


class BulkFilterForm(forms.Form):
    queue = forms.CharField(required=False, max_length=100)
    type = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "any"), *Job.Status.choices])
    error = forms.CharField(required=False, max_length=200, label="Error contains")
    since = forms.DateTimeField(required=False, label="Created from")
    until = forms.DateTimeField(required=False, label="Created before")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "any"), *((n, n) for n in registry.names())]
        self.fields["type"].choices = choices  # type: ignore[attr-defined]

    @classmethod
    def from_query(cls, query: QueryDict) -> BulkFilterForm:
        data = {ADMIN_PARAMS.get(key, key): value for key, value in query.items()}
        return cls({key: data.get(key, "") for key in cls.base_fields})

    def job_filter(self) -> JobFilter:
        data = self.cleaned_data
        return JobFilter(
            queue=data.get("queue") or "",
            type=data.get("type") or "",
            status=data.get("status") or "",
            error=data.get("error") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
