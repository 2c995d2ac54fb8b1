"""The queue's admin, a module per model and concern: ``jobs`` (the job list and page),
``workers`` (the worker records), ``actions`` (what staff do to jobs), ``filters`` and
``lists`` (a list that stays quick with millions of rows); ``queues`` (pause, limits, holds),
``schedules`` (periodic jobs) and ``bulk`` (bulk actions by filter) for operators."""

from jobs.admin import jobs, queues, schedules, workers  # noqa: F401 - each registers its admin
