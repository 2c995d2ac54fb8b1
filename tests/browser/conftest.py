"""Playwright driving Debian's Chromium (never a downloaded browser) against pytest-django's
live server. Skipped with a reason when /usr/bin/chromium is missing
(``scripts/install-system-deps`` installs it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password-1"
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{CHROMIUM} is missing: run scripts/install-system-deps "
                        "(installs Debian's chromium)"
                    )
                )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API runs an event loop in this thread,
    which Django's async-safety check mistakes for async code: allow sync ORM calls meanwhile,
    for these tests only."""
    from playwright.sync_api import expect, sync_playwright

    # generous waits: the machine is shared, and a worker process takes a while to start
    expect.set_options(timeout=30_000)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        patch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture(autouse=True)
def exact_totals(settings):
    """The dashboard counts finished jobs afresh on every refresh during these tests."""
    settings.JOBS_DASHBOARD_TOTALS_TTL = 0


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 1000}
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin_user(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def logged_in(page, admin_user):
    """A page logged in as a superuser through the admin's login form."""
    page.goto("/admin/login/?next=/test-worker/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/test-worker/")
    return page


@pytest.fixture
def screenshots_dir() -> Path:
    """Where screenshots go: docs/screenshots when SCREENSHOTS_DIR says so, else var/."""
    path = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
