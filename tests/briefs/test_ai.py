"""briefs.ai against the fake OpenAI server over real HTTP: retries, permanent errors, usage."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from briefs import ai, prompts, schemas
from briefs.models import AICall
from jobs.exceptions import PermanentError
from jobs.models import Job
from jobs.services import enqueue

pytestmark = pytest.mark.django_db  # every call writes a usage row

REVIEW = {"review_text": "The food was great but the service was slow.", "tone": "warm"}


def sentiment(text: str = "I love it") -> ai.AIResult:
    return ai.structured(
        ctx=None,
        prompt=prompts.get("sentiment"),
        content=text,
        schema=schemas.SENTIMENT_SCHEMA,
        schema_name="sentiment",
        offline=lambda: pytest.fail("the offline provider must not run when a key is set"),
    )


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def test_provider_follows_the_key(settings):
    settings.OPENAI_API_KEY = ""
    assert ai.provider() == "offline"
    settings.OPENAI_API_KEY = "sk-anything"
    assert ai.provider() == "openai"


def test_structured_answer_is_checked_and_labelled(fake_openai):
    result = sentiment()
    assert result.provider == "openai" and result.model == "gpt-5.4-mini"
    assert result.data["sentiment"] in ("positive", "neutral", "negative", "mixed")
    request = fake_openai.requests[-1]
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == f"Bearer {fake_openai.env()['OPENAI_API_KEY']}"
    assert request.json["text"]["format"] == {
        "type": "json_schema",
        "name": "sentiment",
        "schema": schemas.json_schema(schemas.Sentiment),
        "strict": True,
    }
    # Users' texts are not kept by OpenAI; sentiment is a classification: low effort.
    assert request.json["store"] is False
    assert request.json["reasoning"] == {"effort": "low"}
    assert result.usage["input_tokens"] > 0
    assert result.usage["reasoning_tokens"] == 64 and result.usage["output_tokens"] > 64
    row = AICall.objects.get()
    assert (row.model, row.kind, row.provider) == ("gpt-5.4-mini", "text", "openai")
    assert row.request_id.startswith("req_fake_") and not row.retried
    assert row.cost == result.cost > 0


def test_store_and_reasoning_effort_follow_the_settings(fake_openai, settings):
    settings.OPENAI_STORE = True
    settings.OPENAI_REASONING_EFFORT = "sentiment=high"
    sentiment()
    assert fake_openai.requests[-1].json["store"] is True
    assert fake_openai.requests[-1].json["reasoning"] == {"effort": "high"}
    settings.OPENAI_REASONING_EFFORT = "off"
    sentiment()
    assert "reasoning" not in fake_openai.requests[-1].json
    # Models that do not reason are never sent the parameter.
    settings.OPENAI_REASONING_EFFORT = "medium"
    settings.OPENAI_MODEL = "gpt-4.1"
    sentiment()
    assert "reasoning" not in fake_openai.requests[-1].json


def test_rate_limit_is_retried_after_retry_after(fake_openai):
    fake_openai.fail_next(2, status=429, retry_after=1)
    result = sentiment()
    assert result.data["sentiment"]
    calls = [r for r in fake_openai.requests if r.path == "/v1/responses"]
    assert len(calls) == 3
    # The SDK waited at least the Retry-After second before each retry (a lower bound only).
    assert calls[1].time - calls[0].time >= 0.9
    assert calls[2].time - calls[1].time >= 0.9
    # One usage row for the call, marked retried.
    assert AICall.objects.get().retried is True


def test_server_errors_are_retried(fake_openai):
    fake_openai.fail_next(2, status=503)
    assert sentiment().data
    assert fake_openai.count("/v1/responses") == 3


def test_rate_limit_that_persists_is_retryable_for_the_queue(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 1
    fake_openai.fail_next(5, status=429, retry_after=0.01)
    with pytest.raises(ai.AIUnavailable, match="Rate limited"):
        sentiment()
    assert fake_openai.count("/v1/responses") == 2


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "invalid_json_schema", "rejected sentiment"),
        (400, "content_policy_violation", "content filter blocked"),
        (401, None, "Check OPENAI_API_KEY"),
    ],
)
def test_errors_retrying_cannot_fix_are_permanent(fake_openai, status, code, expected):
    fake_openai.fail_next(1, status=status, code=code, message="nope")
    with pytest.raises(PermanentError, match=expected):
        sentiment()
    assert fake_openai.count("/v1/responses") == 1


def test_malformed_body_is_retryable(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 0
    fake_openai.malformed_next(1)
    with pytest.raises(ai.AIUnavailable, match="not valid JSON"):
        sentiment()
    assert sentiment().data  # the next answer is fine


def test_slow_server_times_out_as_retryable(fake_openai, settings):
    settings.OPENAI_TIMEOUT = 0.3
    settings.OPENAI_MAX_RETRIES = 0
    fake_openai.slow_next(1, seconds=1.5)
    with pytest.raises(ai.AIUnavailable, match="in time"):
        sentiment()


def test_answer_that_does_not_fit_the_schema_is_permanent(fake_openai):
    fake_openai.answer_next({"sentiment": "ecstatic", "score": 3})
    with pytest.raises(PermanentError, match="does not fit the sentiment schema"):
        sentiment()
    fake_openai.answer_next("this is not json")
    with pytest.raises(PermanentError, match="not JSON"):
        sentiment()


@pytest.mark.django_db(transaction=True)
def test_job_retries_after_persistent_server_errors_then_succeeds(fake_openai, settings, user):
    settings.OPENAI_MAX_RETRIES = 0
    settings.JOBS_RETRY_BACKOFF_BASE = 60  # the retry waits until staff say "run now"
    settings.JOBS_RETRY_BACKOFF_MAX = 120
    fake_openai.fail_next(1, status=500)
    job = enqueue("ai_generation", REVIEW, owner=user)
    run_worker()
    job.refresh_from_db()
    # The first attempt failed in a way retrying can fix: the queue scheduled a retry.
    assert job.status == Job.Status.QUEUED and job.attempts == 1
    assert "(500)" in job.error
    job.run_now()
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2
    assert list(job.attempt_history.values_list("outcome", flat=True)) == ["failed", "succeeded"]
    assert job.result["reply"] and job.result["provider"] == "openai"
    # Only the call that answered is a usage row (the 500 was not billed).
    assert AICall.objects.filter(job=job).count() == 1


@pytest.mark.django_db(transaction=True)
def test_job_fails_at_once_on_a_bad_request_with_a_readable_reason(fake_openai, user):
    fake_openai.fail_next(1, status=400, message="Invalid schema for response_format 'x'")
    job = enqueue("sentiment_analysis", {"text": "meh"}, owner=user)
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.attempts == 1
    assert "rejected sentiment" in job.error and "Invalid schema" in job.error
    assert "Traceback" not in job.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("job_type", "payload", "keys"),
    [
        ("ai_generation", REVIEW | {"business_name": "Luigi's", "rating": 3}, {"reply", "tone"}),
        ("sentiment_analysis", {"text": "Lovely staff, cold soup."}, {"sentiment", "score"}),
        ("prompt_analysis", {"prompt": "write something"}, {"improved_prompt", "clarity"}),
    ],
)
def test_review_steps_through_the_api(fake_openai, user, job_type, payload, keys):
    job = enqueue(job_type, payload, owner=user)
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert keys <= job.result.keys()
    assert job.result["prompt_version"].endswith("_v1")
    call = AICall.objects.get(job=job)
    assert call.user == user and call.job_type == job_type and call.output_tokens > 0
    assert job.progress == 100
    sent = fake_openai.requests[-1].json
    assert payload.get("review_text", payload.get("text", payload.get("prompt"))) in str(sent)


@pytest.mark.django_db(transaction=True)
def test_review_steps_offline_are_deterministic_and_labelled(user):
    first = enqueue("sentiment_analysis", {"text": "Great food, rude staff."}, owner=user)
    second = enqueue("sentiment_analysis", {"text": "Great food, rude staff."}, owner=user)
    run_worker()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.result == second.result
    assert first.result["provider"] == "offline" and first.result["sentiment"] == "mixed"


def test_keys_in_error_messages_are_redacted(fake_openai):
    key = fake_openai.env()["OPENAI_API_KEY"]
    fake_openai.fail_next(1, status=401, message=f"Incorrect API key provided: {key} or sk-ab***yz")
    with pytest.raises(PermanentError) as info:
        sentiment()
    assert key not in str(info.value) and "sk-ab" not in str(info.value)
    assert "Incorrect API key provided" in str(info.value)


def test_dropped_connections_are_retried_then_retryable_for_the_queue(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 1
    fake_openai.drop_next(1)
    assert sentiment().data  # the SDK retried the dropped request
    assert fake_openai.count("/v1/responses") == 2
    fake_openai.drop_next(2)
    with pytest.raises(ai.AIUnavailable, match="Could not reach the AI server"):
        sentiment()


def _response(**fields):
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 0,
        "model": "gpt-5.4-mini",
        "status": "completed",
        "output": [],
        "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
    } | fields


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            _response(
                output=[
                    {
                        "type": "message",
                        "id": "m",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                    }
                ]
            ),
            "The model refused sentiment: I can't help with that.",
        ),
        (
            _response(status="incomplete", incomplete_details={"reason": "content_filter"}),
            "The content filter stopped the answer for sentiment.",
        ),
        (
            _response(status="incomplete", incomplete_details={"reason": "max_output_tokens"}),
            "was cut off (max_output_tokens)",
        ),
    ],
)
def test_refusals_and_cut_off_answers_are_permanent(fake_openai, body, expected):
    fake_openai.raw_next(body)
    with pytest.raises(PermanentError, match=re.escape(expected)):
        sentiment()
