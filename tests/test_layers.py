"""The apps form layers (jobs <- credits <- briefs <- api): a lower app's migrations never
depend on a higher one's, so the queue can be installed in any project on its own."""

from __future__ import annotations

import pytest
from django.db.migrations.loader import MigrationLoader

LAYERS = ["jobs", "credits", "briefs", "api"]


@pytest.mark.parametrize("app", LAYERS)
def test_migrations_depend_only_on_lower_layers(app):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    offending = [
        f"{name} -> {dependency}"
        for (label, name), migration in loader.disk_migrations.items()
        if label == app
        for dependency in migration.dependencies
        if dependency[0] in above
    ]
    assert offending == [], f"{app} migrations depend on apps above it: {offending}"


def test_no_jobs_migration_depends_on_another_app_of_ours():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = set(LAYERS) - {"jobs"}
    for (label, name), migration in loader.disk_migrations.items():
        if label == "jobs":
            assert not {dep[0] for dep in migration.dependencies} & ours, name
            assert not {dep[0] for dep in migration.run_before} & ours, name
