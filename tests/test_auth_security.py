"""Authentication hardening: lockout per user and address, sessions that end, and the access log."""

import logging

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


def login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_lockout_limit_is_small_and_lasts(settings):
    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() >= 15 * 60
    assert "axes.backends.AxesStandaloneBackend" == settings.AUTHENTICATION_BACKENDS[0]
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_repeated_failures_lock_the_user_out_from_that_address_even_with_the_right_password(staff):
    client = Client()
    for _ in range(LIMIT - 1):
        answer = login(client, "staff", "wrong-password-1")
        assert answer.status_code == 200  # the form again, with its error
    locked = login(client, "staff", "wrong-password-1")
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode()
    right = login(client, "staff", PASSWORD)
    assert right.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_lockout_is_per_user_and_address(staff, manager):
    attacker = Client()
    for _ in range(LIMIT):
        login(attacker, "staff", "wrong-password-1", ip="10.0.0.66")
    assert login(attacker, "staff", PASSWORD, ip="10.0.0.66").status_code == 429
    # The same user from another address, and another user from the attacker's address, still log in.
    elsewhere = Client()
    assert login(elsewhere, "staff", PASSWORD, ip="10.0.0.2").status_code == 302
    assert int(elsewhere.session[SESSION_KEY]) == staff.pk
    neighbour = Client()
    assert login(neighbour, "manager", PASSWORD, ip="10.0.0.66").status_code == 302


def test_failures_spread_over_many_addresses_lock_the_account_everywhere(staff, manager, settings):
    # 80 wrong passwords from 20 addresses, four each: under the per-address limit every time.
    for n in range(80):
        answer = login(Client(), "staff", "wrong-password-1", ip=f"10.20.{n % 20}.1")
        assert answer.status_code in (200, 429)
    locked = login(Client(), "staff", PASSWORD, ip="10.20.99.1")
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode()  # the same lockout page
    token = Client().post("/api/v1/auth/token/", {"username": "staff", "password": PASSWORD}, REMOTE_ADDR="10.20.98.1")
    assert token.status_code == 429
    # Only that account: others log in from the same addresses.
    assert login(Client(), "manager", PASSWORD, ip="10.20.3.1").status_code == 302
    assert settings.AXES_ACCOUNT_FAILURE_LIMIT < 80


def test_the_account_lock_counts_failures_across_addresses_up_to_its_own_limit(staff, settings):
    limit = settings.AXES_ACCOUNT_FAILURE_LIMIT
    assert settings.AXES_FAILURE_LIMIT < limit <= 50
    per_address = settings.AXES_FAILURE_LIMIT - 1
    for n in range(limit - 1):
        login(Client(), "staff", "wrong-password-1", ip=f"10.21.{n // per_address}.1")
    # One short of the account's limit, the owner still logs in from their own address.
    assert login(Client(), "staff", PASSWORD, ip="10.21.200.1").status_code == 302


def test_a_success_before_the_limit_resets_the_count(staff):
    client = Client()
    for _ in range(LIMIT - 1):
        login(client, "staff", "wrong-password-1")
    assert login(client, "staff", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(LIMIT - 1):
        login(client, "staff", "wrong-password-1")
    assert login(client, "staff", PASSWORD).status_code == 302


def test_the_token_endpoint_is_locked_out_too(staff):
    client = Client()
    for _ in range(LIMIT):
        client.post("/api/v1/auth/token/", {"username": "staff", "password": "wrong-password-1"}, REMOTE_ADDR="10.0.0.9")
    answer = client.post("/api/v1/auth/token/", {"username": "staff", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert answer.status_code == 429
    assert "token" not in answer.content.decode()


def test_behind_a_trusted_proxy_the_lockout_follows_the_forwarded_client(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client()
    for _ in range(LIMIT):
        client.post("/accounts/login/", {"username": "staff", "password": "x-wrong-1"}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    other = Client()
    answer = other.post("/accounts/login/", {"username": "staff", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert answer.status_code == 302


def test_logout_is_a_post_that_really_ends_the_session(client, staff):
    assert login(client, "staff", PASSWORD).status_code == 302
    session_key = client.session.session_key
    assert Session.objects.filter(session_key=session_key).exists()
    assert client.get("/accounts/logout/").status_code == 405  # a link or an image cannot log anyone out
    assert client.get("/").status_code == 200
    answer = client.post("/accounts/logout/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get("/").status_code == 302
    # Replaying the old cookie does not bring the session back.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert replay.get("/").status_code == 302


def test_sessions_have_an_explicit_lifetime_and_safe_cookies():
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")


def test_a_login_session_expires_after_the_configured_age(client, staff):
    login(client, "staff", PASSWORD)
    assert 0 < client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE
    assert client.session.get_expire_at_browser_close()


def test_password_validators_refuse_short_common_and_numeric_passwords(staff):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ["short1!", "password123", "12345678901"]:
        with pytest.raises(ValidationError):
            validate_password(weak, user=staff)
    validate_password("Harbour-lantern-47", user=staff)


def test_login_success_failure_and_refusals_are_logged(client, staff, property_head, caplog):
    caplog.set_level(logging.INFO, logger="csm.access")
    login(client, "staff", "wrong-password-1", ip="10.1.2.3")
    login(client, "staff", PASSWORD, ip="10.1.2.3")
    client.post("/accounts/logout/")
    client.force_login(property_head)
    client.get("/api/v1/owners/")
    anonymous = Client()
    anonymous.get("/api/v1/projects/")
    lines = [r.getMessage() for r in caplog.records if r.name == "csm.access"]
    assert "login failed username=staff ip=10.1.2.3" in lines
    assert "login succeeded user=staff ip=10.1.2.3" in lines
    assert any(line.startswith("logout user=staff") for line in lines)
    assert any("status=403 user=property_head method=GET path=/api/v1/owners/" in line for line in lines)
    assert any("status=401 user=- method=GET path=/api/v1/projects/" in line for line in lines)
    assert not any(PASSWORD in line for line in lines)


def test_a_lockout_is_logged(staff, caplog):
    caplog.set_level(logging.INFO, logger="csm.access")
    client = Client()
    for _ in range(LIMIT + 1):
        login(client, "staff", "wrong-password-1", ip="10.4.4.4")
    lines = [r.getMessage() for r in caplog.records if r.name == "csm.access"]
    assert "login locked out username=staff ip=10.4.4.4" in lines
    assert any("status=429" in line for line in lines)


def test_the_password_reset_pages_answer_anonymously_in_chinese(client, staff, mailoutbox):
    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200 and "重置密码" in page.content.decode()
    staff.email = "staff@example.com"
    staff.save(update_fields=["email"])
    sent = client.post("/accounts/password_reset/", {"email": "staff@example.com"})
    assert sent.status_code == 302
    done = client.get(sent["Location"])
    assert done.status_code == 200 and "邮件" in done.content.decode()
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link[link.index("/accounts/reset/"):]
    form = client.get(path, follow=True)
    assert form.status_code == 200 and "新密码" in form.content.decode()
    url = form.redirect_chain[-1][0] if form.redirect_chain else path
    changed = client.post(url, {"new_password1": "Harbour-lantern-47", "new_password2": "Harbour-lantern-47"})
    assert changed.status_code == 302
    complete = client.get(changed["Location"])
    assert complete.status_code == 200 and "已重置" in complete.content.decode()
    staff.refresh_from_db()
    assert staff.check_password("Harbour-lantern-47")
