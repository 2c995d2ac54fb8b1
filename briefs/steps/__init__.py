"""What each job type of the briefs app does, a module per flow:

- :mod:`briefs.steps.pipeline`: a brief's pipeline (analysis … render);
- :mod:`briefs.steps.sop`: video → slim copy → transcript → SOP;
- :mod:`briefs.steps.reviews`: review replies, sentiment, prompt analysis.

Each step registers itself with ``@register(...)`` (its payload validator from
:mod:`briefs.validators` and its ``cost=`` in credits) where it is defined; importing this
package (``BriefsConfig.ready()``) registers them all. Every AI call goes through
``briefs/ai.py``.
"""

from __future__ import annotations

from briefs.steps import pipeline, reviews, sop

__all__ = ["pipeline", "reviews", "sop"]
