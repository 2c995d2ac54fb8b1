from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Field


def password_file(value: str) -> Path:
    path = Path(value)
    if not value.strip() or "\x00" in value:
        raise argparse.ArgumentTypeError("give a file path")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{value!r} exists and is not a file")
    return path


class Command(BaseCommand):
    help = (
        "Create the first admin account with a random password, printed once (if none exists). "
        "With --password-file the password is also written there (readable by you only); "
        "--show-login prints how to log in (make run does it last)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password-file", type=password_file, default=None)
        parser.add_argument(
            "--show-login", action="store_true", help="Create nothing; say how to log in."
        )
        parser.add_argument("--url", default="", help="The admin's address, for --show-login.")

    def handle(
        self,
        *args: Any,
        username: str,
        password_file: Path | None,
        show_login: bool,
        url: str,
        **options: Any,
    ) -> None:
        User = get_user_model()
        field = User._meta.get_field(User.USERNAME_FIELD)
        assert isinstance(field, Field)
        try:
            field.clean(username, None)
        except ValidationError as exc:
            raise CommandError(f"Invalid username {username!r}: {' '.join(exc.messages)}") from None
        admins = list(
            User.objects.filter(is_superuser=True)
            .order_by("pk")
            .values_list(User.USERNAME_FIELD, flat=True)[:3]
        )
        if show_login:
            self._show_login(admins, password_file, url)
            return
        if admins:
            self.stdout.write(
                f"An admin account exists already ({', '.join(admins)}); log in with it. "
                f"Forgot its password? Set a new one with: "
                f"python manage.py changepassword {admins[0]}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Created admin account {username!r} with password: {password}")
        )
        if password_file is not None:
            _write_private(password_file, f"{username}\n{password}\n")
            self.stdout.write(f"The password is also in {password_file} (readable by you only).")
        else:
            self.stdout.write("This password is shown once. Change it in the admin.")

    def _show_login(self, admins: list[str], password_file: Path | None, url: str) -> None:
        where = f"Open {url} and log in" if url else "Log in"
        saved = (
            password_file.read_text().split() if password_file and password_file.is_file() else []
        )
        if len(saved) == 2 and saved[0] in admins:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{where} as {saved[0]!r} with password {saved[1]} (from {password_file}; "
                    "if you changed it since, use yours)."
                )
            )
        elif admins:
            self.stdout.write(
                f"{where} as {admins[0]!r}. Forgot the password? "
                f"python manage.py changepassword {admins[0]}"
            )
        else:
            self.stdout.write("No admin account yet: python manage.py createadmin")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
