"""Sign-in limits: per client address (X-Forwarded-For believed only from TRUSTED_PROXIES, so a
client cannot name a fresh address per guess) and per account (guesses spread over many
addresses still stop), for the API login and the admin login alike."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from workspaces.models import User

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/auth/login"


def _try(email: str, password: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", **headers)


def test_a_forged_forwarded_for_header_does_not_buy_more_guesses(workspace):
    answers = [_try(f"guess{i}@example.com", "wrong-password", f"198.51.100.{i}").status_code for i in range(11)]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429, answers  # the header is not believed: one address, one budget


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(workspace, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's REMOTE_ADDR, as a local proxy
    for i in range(10):
        assert _try(f"guess{i}@example.com", "wrong-password", "203.0.113.5").status_code == 401
    assert _try("guess@example.com", "wrong-password", "203.0.113.5").status_code == 429
    # A client's own X-Forwarded-For, passed on by the proxy, changes nothing: the proxy's entry counts.
    assert _try("guess@example.com", "wrong-password", "192.0.2.77, 203.0.113.5").status_code == 429
    other = _try("owner@example.com", "pw-owner-123", "198.51.100.9")
    assert other.status_code == 200, other.content


def test_guesses_at_one_account_stop_whatever_the_address(workspace, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for i in range(10):
        assert _try("owner@example.com", "wrong-password", f"203.0.113.{i}").status_code == 401
    locked = _try("owner@example.com", "pw-owner-123", "198.51.100.200")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 60, locked.content
    assert "account" in locked.json()["error"]["message"]
    # Other accounts are not affected.
    User.objects.create_user("other@example.com", "pw-other-1234")
    assert _try("other@example.com", "pw-other-1234", "198.51.100.200").status_code == 200


def _admin_login(email: str, password: str) -> Client:
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    return client


def test_the_admin_login_is_limited_and_shares_the_accounts_count(workspace):
    User.objects.create_user("staff@example.com", "pw-staff-1234", is_staff=True, is_superuser=True)
    assert "_auth_user_id" in _admin_login("staff@example.com", "pw-staff-1234").session  # it works

    for _ in range(5):
        assert _try("staff@example.com", "wrong-password").status_code == 401
    for _ in range(5):
        assert "_auth_user_id" not in _admin_login("staff@example.com", "wrong-password").session
    # Ten failures in all, through either door: the right password no longer gets in, anywhere.
    assert "_auth_user_id" not in _admin_login("staff@example.com", "pw-staff-1234").session
    assert _try("staff@example.com", "pw-staff-1234").status_code == 429
