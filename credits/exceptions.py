from __future__ import annotations

from jobs.exceptions import EnqueueRefused


class InsufficientCredits(EnqueueRefused):
    """The owner cannot pay for the job: nothing was enqueued (or requeued)."""

    http_status = 402
    code = "insufficient_credits"

    def __init__(self, *, needed: int, balance: int, job_type: str) -> None:
        super().__init__(
            f"Not enough credits for {job_type!r}: it costs {needed}, the balance is {balance}."
        )
        self.needed = needed
        self.balance = balance
        self.job_type = job_type
