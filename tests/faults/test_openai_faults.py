"""The AI server misbehaves while real workers run AI job types against it: 429 with
``Retry-After``, 500, answers slower than ``OPENAI_TIMEOUT``, bodies that are not JSON, and
400s that no retry can fix.

Every failure the server hands out is accounted for: the SDK retries it (``OPENAI_MAX_RETRIES``,
honouring ``Retry-After``) or the attempt fails with a readable reason and the queue retries the
job; a 400 fails its job at once. At the end every job succeeded exactly once or failed with the
400's reason, and nothing is left running."""

from __future__ import annotations

import itertools
import json
import signal
from collections import Counter, defaultdict

from jobs.models import Job, JobAttempt
from jobs.services import enqueue
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered
from tests.support.fake_openai import FakeOpenAI, Recorded

SDK_RETRIES = 1  # OPENAI_MAX_RETRIES of the workers
TIMEOUT = 3.0  # OPENAI_TIMEOUT of the workers: room for a loaded machine
RETRY_AFTER = 1.0
INJECTED = {"429": 10, "500": 10, "slow": 4, "malformed": 8, "400": 3}

#: The readable reason of a failed attempt, by what the server answered.
REASONS = {
    "429": "Rate limited by the AI server",
    "500": "(500): Fake failure 500",
    "slow": f"did not answer {{}} in time ({TIMEOUT:g}s)",
    "malformed": "is not valid JSON",
    "400": "(400): Fake failure 400",
}

STEPS = [
    ("sentiment_analysis", lambda marker: {"text": f"{marker}: the soup was cold."}),
    ("ai_generation", lambda marker: {"review_text": f"{marker}: great service!"}),
    ("prompt_analysis", lambda marker: {"prompt": f"{marker}: write a poem about queues"}),
]


def reason_kind(error: str) -> str:
    for kind, text in REASONS.items():
        if text.split("{}")[-1] in error:
            return kind
    return f"unreadable: {error[:200]}"


def job_of(request: Recorded, markers: dict[str, int]) -> int | None:
    body = json.dumps(request.json)
    return next((job_id for marker, job_id in markers.items() if marker in body), None)


def test_ai_server_faults_are_retried_and_every_job_ends_correctly(fleet):
    server = FakeOpenAI().start()
    try:
        env = server.env() | {
            "OPENAI_MAX_RETRIES": str(SDK_RETRIES),
            "OPENAI_TIMEOUT": str(TIMEOUT),
            # This scenario counts failed attempts; holding the queue on 429 has its own test.
            "OPENAI_HOLD_QUEUE_ON_429": "false",
        }
        workers = [fleet(name, "--concurrency", "4", env=env) for name in ("ai-1", "ai-2")]
        wait_registered("ai-1", "ai-2")

        # The rules answer the first requests, in this order, whichever job sends them.
        server.fail_next(INJECTED["429"], status=429, retry_after=RETRY_AFTER)
        server.fail_next(INJECTED["500"], status=500)
        server.slow_next(INJECTED["slow"], seconds=TIMEOUT + 3)
        server.malformed_next(INJECTED["malformed"])
        server.fail_next(INJECTED["400"], status=400)
        markers: dict[str, int] = {}
        for index in range(60):
            marker = f"case-{index:04d}"
            step, payload = STEPS[index % len(STEPS)]
            job = enqueue("fault_ai", {"type": step, "payload": payload(marker)})
            markers[marker] = job.pk
        job_ids = list(markers.values())

        def finished() -> bool:
            """every AI job finished"""
            unfinished = Job.objects.exclude(status__in=Job.FINISHED_STATUSES)
            return not unfinished.filter(pk__in=job_ids).exists()

        wait_for(finished, timeout=150, interval=0.2)
        for worker in workers:
            worker.signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(60) == 0, worker.output()[-3000:]
        requests = [r for r in server.requests if r.path == "/v1/responses"]
    finally:
        server.stop()

    answered = Counter(r.answered for r in requests if r.answered)
    assert answered == INJECTED, "every scripted failure was handed out"

    # What each failure should have cost: an SDK retry, or (on the SDK's last try, and always for
    # a body that is not JSON or a 400) the attempt.
    expected: dict[int, Counter[str]] = defaultdict(Counter)
    by_job: dict[int, list[Recorded]] = defaultdict(list)
    for request in requests:
        job_id = job_of(request, markers)
        assert job_id is not None, f"a request of no job: {request.json}"
        by_job[job_id].append(request)
        tries = int(request.headers.get("x-stainless-retry-count", "0"))
        if request.answered in ("malformed", "400") or (request.answered and tries == SDK_RETRIES):
            expected[job_id][request.answered] += 1
    failed_attempts: dict[int, Counter[str]] = defaultdict(Counter)
    for job_id, error in JobAttempt.objects.filter(
        job_id__in=job_ids, outcome=JobAttempt.Outcome.FAILED
    ).values_list("job_id", "error"):
        failed_attempts[job_id][reason_kind(error)] += 1
    assert dict(failed_attempts) == dict(expected)

    # The SDK waited at least Retry-After before retrying a 429 (a lower bound only).
    for job_requests in by_job.values():
        for request, following in itertools.pairwise(job_requests):
            sdk_retry = following.headers.get("x-stainless-retry-count") == "1"
            if request.answered == "429" and sdk_retry:
                assert following.time - request.time >= RETRY_AFTER * 0.95

    jobs = {job.pk: job for job in Job.objects.filter(pk__in=job_ids)}
    failed = [job for job in jobs.values() if job.status == Job.Status.FAILED]
    assert len(failed) == INJECTED["400"]
    for job in failed:
        assert REASONS["400"] in job.error and "Traceback" not in job.error
        assert failed_attempts[job.pk]["400"] == 1
    for job in jobs.values():
        assert job.attempts == sum(failed_attempts[job.pk].values()) + (
            job.status == Job.Status.SUCCEEDED
        )
        assert job.attempts <= job.max_attempts
    succeeded = [job for job in jobs.values() if job.status == Job.Status.SUCCEEDED]
    retried = [job for job in succeeded if job.attempts > 1]
    assert retried, "some jobs succeeded only after the queue retried them"

    recovery = max(
        (job.finished_at - last).total_seconds()
        for job in jobs.values()
        for last in [
            JobAttempt.objects.filter(job=job, outcome=JobAttempt.Outcome.FAILED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        ]
        if last is not None and job.status == Job.Status.SUCCEEDED
    )
    sdk_retries = sum(1 for r in requests if r.headers.get("x-stainless-retry-count") != "0")
    injected = ", ".join(f"{count}x {kind}" for kind, count in INJECTED.items())
    figures = outcome.check(
        "AI server faults (429 Retry-After, 500, slow, not JSON, 400), 2 workers",
        job_ids,
        recovery_seconds=recovery,
        notes=(
            f"injected {injected}; {sdk_retries} SDK retries, "
            f"{sum(sum(c.values()) for c in failed_attempts.values())} failed attempts, "
            f"{len(retried)} jobs retried by the queue; OPENAI_MAX_RETRIES {SDK_RETRIES}, "
            f"timeout {TIMEOUT:g}s; recovery: a job's last failed attempt to its success (max)"
        ),
    )
    assert figures.problems == []
