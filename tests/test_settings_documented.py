"""The README's configuration table is the settings the code reads, with the code's defaults.

The code's side: the environment variables ``config/settings.py`` reads (its ``DEV_DEFAULTS``,
the apps' ``conf.DEFAULTS`` it reads the environment with, and any other ``env(...)`` /
``os.environ`` read found in its source), and the settings the apps' code reads
(``settings.X``, ``getattr(settings, "X")``). A setting read but not documented, documented but
not read, or documented with another default than the code's fails; so does an app reading a
setting with a default of its own instead of through its ``conf.py`` (a default written twice).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import global_settings, settings

from config import settings as project_settings

ROOT = Path(__file__).resolve().parents[1]
APPS = ("jobs", "credits", "briefs", "api")
# Settings whose README default is a description, not a value the code could show.
DESCRIBED_DEFAULTS = {"SECRET_KEY", "OPENAI_BASE_URL"}
EMPTY_WORDS = {"empty", "unset", "*(none)*", "*(empty)*"}
NOT_APP_SETTINGS = {"BASE_DIR"}


# --- the README ----------------------------------------------------------------------------------


def documented(readme: str) -> dict[str, str]:
    """Variable -> its Default cell, from the table under "## Configuration"."""
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not line.startswith("|") or set(cells[0]) <= {"-", " "}:
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        if not names:  # the header row
            continue
        defaults = [d.strip() for d in cells[1].split(" / ")] if len(names) > 1 else [cells[1]]
        if len(defaults) != len(names):
            defaults = [cells[1]] * len(names)
        rows.update(zip(names, defaults, strict=True))
    return rows


# --- the code ------------------------------------------------------------------------------------


def shown(value: Any) -> str:
    """A default as the README writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value).replace(f"{project_settings.BASE_DIR}/", "")


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def environment_reads(source: str) -> dict[str, Any]:
    """Variables read by name in a settings module: ``env("X")``, ``env.int("X", default=…)``,
    ``os.environ["X"]``, ``os.environ.get("X")``, ``os.getenv("X")`` -> the default written
    there (None if none)."""
    reads: dict[str, Any] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(name := _literal(node.slice), str)
        ):
            reads[name] = None
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = ast.unparse(node.func)
        if not (
            func == "env" or func.startswith("env.") or func in ("os.getenv", "os.environ.get")
        ):
            continue
        name = _literal(node.args[0])
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            continue  # env.db_url_config(url), env.get_value(name, …) of the registries
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        if default is None and len(node.args) > 1 and func != "env":
            default = node.args[1]
        reads[name] = _literal(default)
    return reads


def code_defaults() -> dict[str, Any]:
    """Every variable config/settings.py reads, with its default."""
    source = (ROOT / "config" / "settings.py").read_text()
    found = environment_reads(source)
    found.update(
        {name: default for name, (_cast, default) in project_settings.DEV_DEFAULTS.items()}
    )
    found.update(project_settings.APP_DEFAULTS)
    return found


def app_setting_reads(paths: Iterable[Path]) -> tuple[set[str], list[str]]:
    """Settings the apps' code reads by name, and the places that give one a default of their
    own (``getattr(settings, "X", default)``: the default belongs in the app's conf.py)."""
    names: set[str] = set()
    own_defaults: list[str] = []
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "settings"
                and node.attr.isupper()
            ):
                names.add(node.attr)
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) == "getattr"
                and len(node.args) >= 2
                and ast.unparse(node.args[0]) == "settings"
                and isinstance(name := _literal(node.args[1]), str)
            ):
                names.add(name)
                if len(node.args) > 2:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                    own_defaults.append(f"{where}:{node.lineno} ({name})")
    return names, own_defaults


def app_sources() -> list[Path]:
    return [
        path
        for app in APPS
        if (ROOT / app).is_dir()
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


# --- the comparison ------------------------------------------------------------------------------


def problems(readme: Mapping[str, str], code: Mapping[str, Any], app_reads: set[str]) -> list[str]:
    found = []
    for name in sorted(set(code) - set(readme)):
        found.append(f"{name} is read by config/settings.py but not in the README table")
    for name in sorted(set(readme) - set(code)):
        found.append(f"{name} is in the README table but config/settings.py never reads it")
    for name in sorted(app_reads - set(code) - NOT_APP_SETTINGS):
        if not hasattr(global_settings, name):
            found.append(f"{name} is read by an app but neither in the README nor in settings")
    for name in sorted(set(readme) & set(code)):
        cell, default = readme[name], code[name]
        values = re.findall(r"`([^`]*)`", cell)
        if cell.lower() in EMPTY_WORDS:
            if default not in (None, "", [], {}):
                found.append(f"{name}: the README says {cell}, the code's default is {default!r}")
        elif len(values) == 1 and cell.strip() == f"`{values[0]}`":
            if values[0] != shown(default):
                found.append(
                    f"{name}: the README's default is {values[0]!r}, the code's {shown(default)!r}"
                )
        elif name not in DESCRIBED_DEFAULTS:
            found.append(f"{name}: write its default as `value` or *(empty)* ({cell!r})")
    return found


def readme_text() -> str:
    return (ROOT / "README.md").read_text()


# --- the tests -----------------------------------------------------------------------------------


def test_readme_table_matches_the_code():
    app_reads, own_defaults = app_setting_reads(app_sources())
    assert problems(documented(readme_text()), code_defaults(), app_reads) == []
    assert own_defaults == [], "defaults written outside the apps' conf.py"


def test_settings_hold_every_app_default():
    for name in project_settings.APP_DEFAULTS:
        assert hasattr(settings, name), name


def test_an_omitted_row_fails():
    readme = readme_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `PROMPTS_DIR` |"))
    found = problems(documented(readme.replace(row + "\n", "")), code_defaults(), set())
    assert found == ["PROMPTS_DIR is read by config/settings.py but not in the README table"]


def test_a_row_nothing_reads_fails():
    readme = readme_text().replace(
        "| `LOG_LEVEL` |", "| `JOBS_NOT_A_SETTING` | `1` | Nothing. |\n| `LOG_LEVEL` |"
    )
    found = problems(documented(readme), code_defaults(), set())
    assert found == [
        "JOBS_NOT_A_SETTING is in the README table but config/settings.py never reads it"
    ]


def test_a_wrong_default_fails():
    readme = readme_text().replace(
        "| `JOBS_LEASE_SECONDS` | `30` |", "| `JOBS_LEASE_SECONDS` | `60` |"
    )
    found = problems(documented(readme), code_defaults(), set())
    assert found == ["JOBS_LEASE_SECONDS: the README's default is '60', the code's '30'"]
    readme = readme_text().replace(
        "| `FFMPEG_BINARY` / `FFPROBE_BINARY` | `ffmpeg` / `ffprobe` |",
        "| `FFMPEG_BINARY` / `FFPROBE_BINARY` | `ffmpeg` / `avprobe` |",
    )
    found = problems(documented(readme), code_defaults(), set())
    assert found == ["FFPROBE_BINARY: the README's default is 'avprobe', the code's 'ffprobe'"]


def test_a_setting_read_elsewhere_fails(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "from django.conf import settings\n"
        "a = settings.JOBS_SECRET_KNOB\n"
        "b = getattr(settings, 'JOBS_LEASE_SECONDS', 30)\n"
        "c = settings.DEBUG\n"
    )
    reads, own_defaults = app_setting_reads([module])
    assert reads == {"JOBS_SECRET_KNOB", "JOBS_LEASE_SECONDS", "DEBUG"}
    assert own_defaults == ["module.py:3 (JOBS_LEASE_SECONDS)"]
    found = problems(documented(readme_text()), code_defaults(), reads)
    assert found == ["JOBS_SECRET_KNOB is read by an app but neither in the README nor in settings"]


def test_environment_reads_in_settings_source():
    source = (
        "import os\n"
        "A = env('ALPHA')\n"
        "B = env.int('BETA', default=5)\n"
        "C = os.environ['GAMMA']\n"
        "D = os.getenv('DELTA', 'x')\n"
        "E = env.db_url_config(url)\n"
    )
    assert environment_reads(source) == {"ALPHA": None, "BETA": 5, "GAMMA": None, "DELTA": "x"}
