"""Fixtures of the fault suite: real worker processes on PostgreSQL, side-effect tables, and the
figures line each scenario reports at the end of the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import tests.faults.handlers  # registers the fault job types in this process too
from jobs.models import Worker as WorkerRow
from tests.conftest import WorkerProcess, wait_for
from tests.faults import outcome

HANDLER_MODULES = "tests.handlers,tests.faults.handlers"
LEASE_SECONDS = 3


@pytest.fixture
def fault_db(postgres_only, transactional_db) -> Iterator[None]:
    """A PostgreSQL test database that worker processes see, with empty side-effect tables."""
    tests.faults.handlers.create_effect_tables()
    yield


@pytest.fixture
def fleet(fault_db, start_worker) -> Callable[..., WorkerProcess]:
    """Start a named worker process with the fault job types and a short lease."""

    def start(worker_id: str, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        environment = {
            "JOBS_HANDLER_MODULES": HANDLER_MODULES,
            "JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
            "CONN_MAX_AGE": "60",
        } | (env or {})
        return start_worker("--worker-id", worker_id, *args, env=environment)

    return start


def wait_registered(*worker_ids: str, timeout: float = 60) -> None:
    """Wait until every named worker wrote its row: it is connected and about to claim."""

    def registered() -> bool:
        return WorkerRow.objects.filter(pk__in=worker_ids).count() == len(worker_ids)

    registered.__doc__ = f"workers {', '.join(worker_ids)} registered"
    wait_for(registered, timeout=timeout)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not outcome.REPORTED:
        return
    terminalreporter.section("fault suite figures")
    for figures in outcome.REPORTED:
        terminalreporter.write_line(figures.line())
    outcome.RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    outcome.RESULTS_FILE.write_text(outcome.table(outcome.REPORTED))
    terminalreporter.write_line(f"table written to {outcome.RESULTS_FILE}")
