"""Production settings pass Django's deployment checks; development settings do not."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.conftest import ROOT


def deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_check_deploy():
    result = deploy_check(
        DEBUG="false",
        HTTPS="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="jobs.example.com",
    )
    assert result.returncode == 0, result.stderr


def test_the_development_secret_key_fails_check_deploy():
    result = deploy_check(DEBUG="false", HTTPS="true", ALLOWED_HOSTS="jobs.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
