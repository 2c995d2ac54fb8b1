"""The app's settings with the queue alone: no credits, briefs or api, so no hook receivers.

The drain of `ours` (the whole app, receivers connected for paid and brief job types) against
this one shows what the hooks cost a job type nobody listens for (the target: nothing)."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in {"credits", "briefs", "api"}]  # noqa: F405
ROOT_URLCONF = "bench.queue_only_settings"  # a worker serves no pages
urlpatterns: list = []
