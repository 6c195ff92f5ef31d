"""FC25_PUBLIC_URL alone (plus a real SECRET_KEY) makes `manage.py check --deploy` clean.

Settings are computed at import, so each case runs Django in a subprocess with its env."""

import json
import os
import subprocess
import sys
from pathlib import Path

from fc25_denoise.env import LOOPBACK_HOSTS

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3Zr-9vQ_pL2xW8mN4tY7uB1cE6fH0jA5sD3gK9qR2wX8zV4nM7bT1yU6iO0pL5e"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FC25_", "DJANGO_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "SECRET_KEY": SECRET,
        "FC25_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "fc25_denoise.settings",
    }
    env.pop("DEBUG", None)
    env |= extra
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_clean_with_public_url(tmp_path):
    env = _env(tmp_path, FC25_PUBLIC_URL="https://voice.example.org")
    result = _run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_it(tmp_path):
    result = _run(_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check in ("W004", "W008", "W012", "W016"):
        assert f"security.{check}" in result.stderr


_SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({k: getattr(s, k, None) for k in (
    "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER")}))
"""


def _settings(env: dict[str, str]) -> dict:
    result = _run(env, "-c", _SHOW)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_public_url_derives_the_settings(tmp_path):
    s = _settings(_env(tmp_path, FC25_PUBLIC_URL="https://voice.example.org/"))
    assert "voice.example.org" in s["ALLOWED_HOSTS"]
    assert "localhost" in s["ALLOWED_HOSTS"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://voice.example.org"]
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_individual_settings_extend_and_override(tmp_path):
    env = _env(
        tmp_path,
        FC25_PUBLIC_URL="https://voice.example.org:8443",
        ALLOWED_HOSTS="internal.lan",
        CSRF_TRUSTED_ORIGINS="https://other.example.org",
        FC25_SECURE_COOKIES="0",
        FC25_HSTS_SUBDOMAINS="1",
    )
    s = _settings(env)
    assert s["ALLOWED_HOSTS"] == ["internal.lan", "voice.example.org", *LOOPBACK_HOSTS]
    assert s["CSRF_TRUSTED_ORIGINS"] == [
        "https://other.example.org",
        "https://voice.example.org:8443",
    ]
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


def test_plain_http_public_url_turns_nothing_secure_on(tmp_path):
    s = _settings(_env(tmp_path, FC25_PUBLIC_URL="http://voice.lan:8000"))
    assert "voice.lan" in s["ALLOWED_HOSTS"]
    assert s["SECURE_SSL_REDIRECT"] is False and s["SECURE_HSTS_SECONDS"] == 0
    assert s["SESSION_COOKIE_SECURE"] is False and s["SECURE_PROXY_SSL_HEADER"] is None


def test_bad_public_url_fails_loudly(tmp_path):
    for bad in ("voice.example.org", "ftp://voice.example.org", "https://voice.example.org/app"):
        result = _run(_env(tmp_path, FC25_PUBLIC_URL=bad), "-c", _SHOW)
        assert result.returncode != 0
        assert "FC25_PUBLIC_URL" in result.stderr
