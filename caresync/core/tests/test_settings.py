"""Settings come from the environment; production refuses unsafe configurations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caresync.settings import env_bool, env_list, env_str

ROOT = Path(__file__).resolve().parents[3]


def run_manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ENV"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_secret_can_come_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("EXAMPLE_SECRET", raising=False)
    monkeypatch.setenv("EXAMPLE_SECRET_FILE", str(secret))
    assert env_str("EXAMPLE_SECRET") == "from-a-file"


def test_typed_helpers_parse_and_reject(monkeypatch):
    monkeypatch.setenv("EXAMPLE_FLAG", "yes")
    monkeypatch.setenv("EXAMPLE_LIST", "a.test, b.test,,")
    assert env_bool("EXAMPLE_FLAG", False) is True
    assert env_list("EXAMPLE_LIST", []) == ["a.test", "b.test"]
    monkeypatch.setenv("EXAMPLE_FLAG", "maybe")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        env_bool("EXAMPLE_FLAG", False)


def test_production_refuses_to_start_without_required_variables():
    result = run_manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL" in result.stderr


def test_production_deploy_check_reports_no_warnings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="x" * 20 + "-production-test-key-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="caresync.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_unknown_environment_name_is_refused():
    result = run_manage("check", DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


def test_passwords_are_hashed_with_argon2_outside_tests():
    from caresync import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_readme_documents_every_environment_variable():
    import re

    source = (ROOT / "caresync" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert read - documented == set(), "variables missing from the README table"
    assert documented - read == set(), "README documents variables settings.py never reads"
