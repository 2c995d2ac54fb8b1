"""The admin's brief form: assets are uploaded files (checked like the API's uploads) and a list
to remove from, never raw JSON."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from briefs import services
from briefs.exceptions import BriefError
from briefs.models import Brief


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data if item]
        return [one(data, initial)] if data else []


KIND_CHOICES = [("", "From the file name"), *[(k, k.capitalize()) for k in services.ASSET_KINDS]]


class BriefForm(forms.ModelForm):
    uploads = MultipleFileField(
        required=False,
        label="Upload assets",
        help_text="Video, audio, image or text files; the same checks and size limit as the API.",
    )
    upload_kind = forms.ChoiceField(choices=KIND_CHOICES, required=False, label="Kind")
    remove_assets = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Remove assets"
    )

    class Meta:
        model = Brief
        fields = ("title", "owner", "media_type", "query", "description")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assets = self.instance.assets if isinstance(self.instance.assets, list) else []
        self.fields["remove_assets"].choices = [  # type: ignore[attr-defined]
            (str(index), f"{asset.get('kind', '?')}: {asset.get('name') or asset.get('url')}")
            for index, asset in enumerate(assets)
            if isinstance(asset, dict)
        ]
        if not assets:
            del self.fields["remove_assets"]

    def clean_uploads(self) -> list[Any]:
        files = self.cleaned_data.get("uploads") or []
        kind = self.data.get(self.add_prefix("upload_kind")) or None
        problems = []
        for upload in files:
            try:
                services.asset_check_upload(file=upload, kind=kind)
            except services.UploadRefused as exc:
                problems.append(f"{upload.name}: {exc}")
        if problems:
            raise forms.ValidationError(problems)
        removing = self.data.getlist(self.add_prefix("remove_assets"))  # type: ignore[attr-defined]
        kept = len(self.instance.assets or []) - len(removing)
        if kept + len(files) > services.MAX_ASSETS:
            raise forms.ValidationError(f"A brief takes at most {services.MAX_ASSETS} assets.")
        return files

    def clean(self) -> dict[str, Any]:
        """Store the uploads once everything else is valid, for the brief's owner: a file the
        store refuses (content, quota) becomes a form error and nothing is kept."""
        cleaned = super().clean() or {}
        owner = cleaned.get("owner") or getattr(self.instance, "owner", None)
        files = cleaned.get("uploads") or []
        if self.errors or not files or owner is None:
            return cleaned
        kind = cleaned.get("upload_kind") or None
        stored: list[dict[str, Any]] = []
        for upload in files:
            try:
                stored.append(services.asset_store_upload(owner=owner, file=upload, kind=kind))
            except (ValidationError, BriefError) as exc:
                services.uploads_discard(stored)
                messages = getattr(exc, "messages", None) or [str(exc)]
                self.add_error("uploads", f"{upload.name}: {' '.join(messages)}")
                return cleaned
        self.stored = stored
        return cleaned

    def new_assets(self, brief: Brief) -> list[dict[str, Any]]:
        """The brief's assets after the changes: removed ones left out, uploads added."""
        removed = {int(i) for i in self.cleaned_data.get("remove_assets") or []}
        assets = [a for i, a in enumerate(brief.assets or []) if i not in removed]
        return assets + getattr(self, "stored", [])
