"""System checks of the API's settings: bad values are named at start-up, not found at 3 a.m."""

from __future__ import annotations

import pytest

from api.checks import check_api_settings


def ids(settings_overrides, settings) -> list[str]:
    for name, value in settings_overrides.items():
        setattr(settings, name, value)
    return [str(message.id) for message in check_api_settings()]


def test_defaults_pass(settings):
    settings.WEBHOOK_SECRET = settings.METRICS_TOKEN = None
    assert ids({}, settings) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"WEBHOOK_SECRET": "short"}, ["api.W001"]),
        ({"METRICS_TOKEN": "short"}, ["api.W002"]),
        ({"MAX_JOBS_PER_USER": -1}, ["api.E001"]),
        ({"API_CRON_MAX_JOBS": 0}, ["api.E002"]),
        ({"API_HEALTH_THRESHOLDS": {"backlog_per_slot": "many"}}, ["api.E003"]),
        ({"API_HEALTH_THRESHOLDS": {"no_such_threshold": 1}}, ["api.E003"]),
        ({"API_HEALTH_THRESHOLDS": "backlog_per_slot"}, ["api.E003"]),
        ({"API_HEALTH_THRESHOLDS": {"backlog_per_slot": "20"}}, []),  # as read from the env
    ],
)
def test_bad_values_are_reported(settings, overrides, expected):
    settings.WEBHOOK_SECRET = settings.METRICS_TOKEN = None
    assert ids(overrides, settings) == expected
