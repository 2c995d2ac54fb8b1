"""Errors of the briefs app."""

from __future__ import annotations


class BriefError(ValueError):
    """A brief cannot do what was asked (start a pipeline, make an SOP); the message says why."""


class QuotaExceeded(BriefError):
    """An upload would take its owner over their storage quota (``BRIEFS_UPLOAD_QUOTA_BYTES``)."""
