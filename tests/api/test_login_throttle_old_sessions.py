"""Sessions logged in through Django's ModelBackend (before the throttle) stay logged in, and
listing that backend costs no second password check."""

from django.contrib.auth import BACKEND_SESSION_KEY

from tests.conftest import ApiClient
from users.models import User


def test_session_from_model_backend_still_valid(alice):
    c = ApiClient()
    c.client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert c.client.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    assert c.get("/api/auth/me/").status_code == 200


def test_wrong_password_checked_once(alice, monkeypatch):
    checks: list[str] = []
    original = User.check_password

    def counting(self, raw_password):
        checks.append(raw_password)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting)
    c = ApiClient()
    resp = c.post("/api/auth/login/", {"username": "alice", "password": "wrong-wrong-wrong"})
    assert resp.status_code == 401
    assert checks == ["wrong-wrong-wrong"]
