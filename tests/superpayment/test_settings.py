"""Production mode refuses unsafe settings; development keeps a generated secret in .var/."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.processes import ROOT

GOOD_SECRET = "p" * 30 + "-Q8v2kL0rT5xN7mZ3cB9wH4jY6fA1sD"
PRODUCTION = {
    "DJANGO_ENV": "production",
    "DEBUG": "0",
    "SECRET_KEY": GOOD_SECRET,
    "ALLOWED_HOSTS": "pay.example.com",
    "DATABASE_URL": "postgresql://app@db.internal:5432/superpayment",
    "REDIS_URL": "redis://cache.internal:6379/0",
}
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
    "s.SECURE_HSTS_SECONDS, s.DEBUG)"
)


def _load_settings(overrides: dict[str, str | None], tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    env["SUPERPAYMENT_VAR_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "superpayment.settings"
    for key, value in {**PRODUCTION, **overrides}.items():
        if value is not None:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", SHOW], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_production_with_safe_settings_turns_on_transport_security(tmp_path):
    result = _load_settings({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "False"]


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DEBUG": "1"}, "DEBUG is on"),
        ({"SECRET_KEY": None}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY is missing, a development key"),
        ({"SECRET_KEY": "short"}, "shorter than 50 characters"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is empty"),
        ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
    ],
)
def test_production_refuses_unsafe_defaults(overrides, complaint, tmp_path):
    result = _load_settings(overrides, tmp_path)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert complaint in result.stderr
    assert not (tmp_path / "secret_key").exists()  # production never invents a secret


def test_development_generates_a_secret_once_and_keeps_it(tmp_path):
    overrides = {"DJANGO_ENV": "development", "SECRET_KEY": None, "DEBUG": None}
    first = _load_settings(overrides, tmp_path)
    assert first.returncode == 0, first.stderr
    secret_file = tmp_path / "secret_key"
    secret = secret_file.read_text()
    assert len(secret) > 50
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert _load_settings(overrides, tmp_path).returncode == 0
    assert secret_file.read_text() == secret


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"BILLING_COMPANY_COUNTRY": "XX"}, "has no VAT rate"),
        ({"BILLING_COMPANY_VAT_ID": "DE136695977"}, "not a valid DE VAT number"),
        ({"BILLING_BANK_IBAN": "DE89370400440532013000"}, "both BILLING_BANK_IBAN"),
    ],
)
def test_bad_billing_settings_stop_the_process_at_start(overrides, complaint, tmp_path):
    result = _load_settings(overrides, tmp_path)
    assert result.returncode != 0
    assert "Billing settings:" in result.stderr and complaint in result.stderr
