"""Production settings (config/settings_production.py) pass `manage.py check --deploy` with no
issue, and refuse to start without the secrets a deployment must set (docs/operations.md)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
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


def _secret_key_of(secret_file: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["SECRET_KEY_FILE"] = str(secret_file)
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; django.setup(); print(settings.SECRET_KEY)"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_without_secret_key_each_installation_makes_and_keeps_its_own(tmp_path):
    first = _secret_key_of(tmp_path / "one" / "secret_key")
    assert len(first) >= 50
    assert _secret_key_of(tmp_path / "one" / "secret_key") == first  # every process of it agrees
    assert (tmp_path / "one" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert _secret_key_of(tmp_path / "two" / "secret_key") != first  # another installation differs


def test_no_secret_key_is_written_in_the_repository():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # Compose refuses to start without one (${VAR:?message}); it never falls back to a value here.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", compose["x-app"]["environment"]["SECRET_KEY"])
    for name in ("config/settings.py", "config/settings_production.py", ".env.example", "docker-compose.yml"):
        text = (ROOT / name).read_text()
        for literal in (r"""SECRET_KEY\s*[:=]\s*["'](?!\$\{)[^"']{8,}["']""",  # SECRET_KEY = "…", not "${…}"
                        r"""SECRET_KEY["']?,\s*default=["'][^"']+""",  # env.str("SECRET_KEY", default="…")
                        r"(?m)^#?\s*SECRET_KEY=\S{8,}",  # .env style
                        r"\$\{SECRET_KEY:-"):  # compose fallback
            assert not re.search(literal, text), f"{name} carries a default SECRET_KEY ({literal})"


def test_the_web_process_believes_forwarded_headers_only_from_trusted_proxies():
    """uvicorn rewrites the client address from X-Forwarded-For when the peer is in its
    FORWARDED_ALLOW_IPS, which defaults to 127.0.0.1: unless the Procfile (make run) and compose
    give it TRUSTED_PROXIES, a local client could forge the address the limits count."""
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert re.search(r'FORWARDED_ALLOW_IPS="\$\{TRUSTED_PROXIES:-\}" uvicorn ', procfile["web"])
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web_env = compose["services"]["web"]["environment"]
    assert web_env["FORWARDED_ALLOW_IPS"] == "${TRUSTED_PROXIES:-}"
