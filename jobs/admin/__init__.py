"""The queue's admin, a module per model and concern: ``jobs`` (the job list and page),
``workers`` (the worker records), ``actions`` (what staff do to jobs), ``filters`` and
``lists`` (a list that stays quick with millions of rows). ``credits`` is only lodged here
until the credits app has its own admin."""

from jobs.admin import credits, jobs, workers  # noqa: F401 - each registers its admin
