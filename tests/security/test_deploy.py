"""Production settings (config/settings_production.py) pass `manage.py check --deploy` with no
issue, and refuse to start without the secrets a deployment must set (docs/operations.md)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIALS_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "waymark.example.com",
    }
    env.pop("DEBUG", None)  # a developer's DEBUG=1 must not leak into the production check
    for name in drop:
        env.pop(name, None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    # --fail-level WARNING: every deploy check Django has is a warning, so any issue fails here.
    result = _run("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_dev_settings_would_not_pass_it():
    # The check above can fail: the development settings (DEBUG off, but no HTTPS, HSTS or
    # secure cookies) are reported.
    result = _run("check", "--deploy", "--fail-level", "WARNING", "--settings", "config.settings")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # SECURE_HSTS_SECONDS not set


def test_production_refuses_to_start_without_its_secrets():
    for name in ("SECRET_KEY", "CREDENTIALS_KEYS", "ALLOWED_HOSTS"):
        result = _run("check", drop=(name,))
        assert result.returncode != 0, name
        assert name in result.stderr, (name, result.stderr[-500:])
