"""The queue's admin, a module per model and concern: ``jobs`` (the job list and page),
``workers`` (the worker records), ``actions`` (what staff do to jobs), ``filters`` and
``lists`` (a list that stays quick with millions of rows)."""

from jobs.admin import jobs, workers  # noqa: F401 - each registers its admin
