"""API tokens: a new one per login, kept only as a hash, one per client, with an expiry, ended by logout and by a
password change. The contract stays: ``POST /api/v1/auth/token/`` → ``{"token": …}``, sent as ``Authorization: Token …``."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def obtain(username: str = "staff", password: str = PASSWORD, **extra) -> dict:
    answer = Client().post("/api/v1/auth/token/", {"username": username, "password": password, **extra})
    assert answer.status_code == 200, answer.content
    return answer.json()


def calls_with(token: str, path: str = "/api/v1/projects/") -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get(path).status_code


def test_every_login_gets_a_new_token_that_works_and_says_when_it_expires(staff, settings):
    first, second = obtain(client="report-script"), obtain(client="excel-addin")
    assert first["token"] != second["token"] and len(first["token"]) >= 40
    assert calls_with(first["token"]) == 200 and calls_with(second["token"]) == 200
    expires = timezone.datetime.fromisoformat(first["expires_at"])
    assert timedelta(0) < expires - timezone.now() <= timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def test_the_token_is_kept_only_as_a_hash(staff):
    token = obtain()["token"]
    tables = connection.introspection.table_names()
    assert "authtoken_token" not in tables  # DRF's plain-text token table is gone
    with connection.cursor() as cursor:
        for table in [t for t in tables if "token" in t]:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            for row in cursor.fetchall():
                assert token not in " ".join(str(value) for value in row), table


def test_a_client_asking_again_replaces_its_own_token_only(staff):
    old = obtain(client="nightly-export")["token"]
    other = obtain(client="dashboard-kiosk")["token"]
    new = obtain(client="nightly-export")["token"]
    assert calls_with(old) == 401
    assert calls_with(new) == 200 and calls_with(other) == 200


def test_an_expired_token_is_refused(staff, settings):
    from core.models import ApiToken

    token = obtain()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert calls_with(token) == 401
    assert not ApiToken.objects.exists()  # dropped when seen


def test_api_logout_ends_the_token_it_was_sent_with(staff):
    token, other = obtain(client="a")["token"], obtain(client="b")["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert calls_with(token) == 401 and calls_with(other) == 200


def test_logging_out_of_the_site_ends_every_token_of_that_user(staff, manager):
    token = obtain()["token"]
    theirs = obtain("manager")["token"]
    browser = Client()
    browser.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    browser.post("/accounts/logout/")
    assert calls_with(token) == 401
    assert calls_with(theirs) == 200


def test_a_password_change_ends_every_token(staff):
    token = obtain()["token"]
    staff.set_password("Harbour-lantern-47")
    staff.save(update_fields=["password"])
    assert calls_with(token) == 401
    assert calls_with(obtain(password="Harbour-lantern-47")["token"]) == 200


def test_a_deactivated_user_s_token_is_refused(staff):
    token = obtain()["token"]
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    assert calls_with(token) == 401


def test_a_wrong_password_gets_no_token(staff):
    answer = Client().post("/api/v1/auth/token/", {"username": "staff", "password": "wrong-password-1"})
    assert answer.status_code == 400 and "token" not in answer.json()
