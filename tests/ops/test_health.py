"""/healthz answers without the database; /readyz reports each check and 503 on a failure."""

from typing import Any

import pytest
from django.test import Client

from fc25_denoise import health


def test_healthz_needs_no_database() -> None:
    # No db fixture: any query would fail the test (pytest-django blocks database access).
    resp = Client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_all_checks_pass(settings: Any) -> None:
    settings.DENOISE_MODEL = "identity"
    resp = Client().get("/readyz")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "channel_layer", "storage", "model"}
    assert all(check == {"ok": True} for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_503_names_the_failed_check(settings: Any) -> None:
    settings.DENOISE_MODEL = "no-such-model"
    resp = Client().get("/readyz")
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert checks["model"]["ok"] is False
    assert "no-such-model" in checks["model"]["error"]
    assert checks["database"] == {"ok": True}


@pytest.mark.django_db
def test_readyz_slow_check_times_out(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    async def hang() -> None:
        await asyncio.sleep(10)

    settings.DENOISE_MODEL = "identity"
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.1)
    monkeypatch.setitem(health.CHECKS, "storage", hang)
    resp = Client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["storage"] == {"ok": False, "error": "no answer within 0.1 s"}


def test_health_routes_skip_the_https_redirect(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/", secure=False).status_code == 301
