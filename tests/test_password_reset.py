"""Password reset in production: mail goes out by SMTP from the environment, the reset link never lands in a log,
and a flood of requests sends a few mails, answering the same page either way (no account enumeration)."""

import logging
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from tests.test_deploy_check import PRODUCTION_ENV, ROOT, clean_environ

pytestmark = pytest.mark.django_db


def settings_in_a_fresh_process(env: dict, *names: str) -> list[str]:
    code = f"from django.conf import settings as s; print('|'.join(str(getattr(s, n)) for n in {names!r}))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, timeout=60, capture_output=True,
        text=True, env={**clean_environ(), "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_mail_is_sent_by_smtp_as_the_environment_says():
    env = {
        "EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "465", "EMAIL_HOST_USER": "csm", "EMAIL_HOST_PASSWORD": "pw",
        "EMAIL_USE_SSL": "1", "DEFAULT_FROM_EMAIL": "满意度 <csm@example.com>",
    }
    values = settings_in_a_fresh_process(
        env, "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_SSL",
        "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL", "SERVER_EMAIL",
    )
    assert values == [
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "465", "csm", "pw", "True", "False",
        "满意度 <csm@example.com>", "满意度 <csm@example.com>",
    ]
    # Port 587 and STARTTLS are the default once a host is named.
    assert settings_in_a_fresh_process({"EMAIL_HOST": "smtp.example.com"}, "EMAIL_PORT", "EMAIL_USE_TLS") == ["587", "True"]


def test_check_deploy_fails_while_mail_would_go_to_the_console_and_passes_with_smtp():
    base = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    for backend in ["console", "filebased", "locmem"]:
        env = {**clean_environ(), **base, "EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"}
        result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, backend
        assert "csm.E001" in result.stdout + result.stderr
    env = {**clean_environ(), **base}
    env.pop("EMAIL_HOST", None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "csm.E001" in result.stdout + result.stderr  # no host: the console default
    env["EMAIL_HOST"] = "smtp.example.com"
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_production_env_example_names_every_mail_setting():
    example = (ROOT / "deploy" / "production.env.example").read_text()
    for name in ["EMAIL_HOST=", "EMAIL_PORT=", "EMAIL_HOST_USER=", "EMAIL_HOST_PASSWORD=", "EMAIL_USE_TLS=",
                 "DEFAULT_FROM_EMAIL="]:
        assert name in example, name
    readme = (ROOT / "README.md").read_text()
    for name in ["`EMAIL_HOST`", "`EMAIL_PORT`", "`EMAIL_HOST_USER`", "`EMAIL_HOST_PASSWORD`", "`EMAIL_USE_TLS`",
                 "`DEFAULT_FROM_EMAIL`"]:
        assert name in readme, name


def test_a_reset_link_is_scrubbed_from_every_log_line(caplog):
    from core.logging import scrub

    link = "https://csm.example.com/accounts/reset/MTI/cv3kqz-8f0b4d1e2a3c4b5a6978695a4b3c2d1e/"
    assert scrub(f"GET {link} 200") == "GET https://csm.example.com/accounts/reset/MTI/[redacted]/ 200"
    # The form Django redirects to after taking the token into the session carries no secret.
    assert scrub("/accounts/reset/MTI/set-password/") == "/accounts/reset/MTI/set-password/"
    caplog.set_level(logging.INFO)
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s"', {"h": "10.0.0.1", "r": f"GET {link[26:]} HTTP/1.1"})
    logging.getLogger("csm.test").warning("mail body: %s", link)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "cv3kqz" not in text and text.count("[redacted]") == 2


@pytest.fixture
def with_email(staff, manager):
    staff.email = "staff@example.com"
    staff.save(update_fields=["email"])
    manager.email = "manager@example.com"
    manager.save(update_fields=["email"])
    return staff


def ask(client: Client, email: str, ip: str):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=ip)


def test_thirty_requests_for_one_account_send_three_mails_and_every_answer_is_the_same(with_email, mailoutbox, settings):
    answers = [ask(Client(), "staff@example.com", f"10.7.0.{n}") for n in range(30)]
    assert len(mailoutbox) == settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT == 3
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/accounts/password_reset/done/")}
    # Another account is not held back by that flood.
    ask(Client(), "manager@example.com", "10.7.1.1")
    assert len(mailoutbox) == 4


def test_one_address_asking_for_many_accounts_is_held_back_and_unknown_addresses_answer_the_same(
    with_email, mailoutbox, settings
):
    limit = settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    client = Client()
    unknown = ask(client, "nobody@example.com", "10.8.0.1")
    for n in range(limit):
        ask(client, f"probe{n}@example.com", "10.8.0.1")
    held = ask(client, "manager@example.com", "10.8.0.1")
    assert len(mailoutbox) == 0
    assert (unknown.status_code, unknown["Location"]) == (held.status_code, held["Location"])
    assert ask(Client(), "manager@example.com", "10.8.0.2").status_code == 302 and len(mailoutbox) == 1


def test_a_held_back_reset_is_logged_without_the_address_in_clear(with_email, caplog, settings):
    caplog.set_level(logging.INFO, logger="csm.access")
    for n in range(settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT + 1):
        ask(Client(), "staff@example.com", f"10.9.0.{n}")
    lines = [r.getMessage() for r in caplog.records if r.name == "csm.access"]
    held = [line for line in lines if line.startswith("password reset held back")]
    assert len(held) == 1 and "ip=10.9.0.3" in held[0] and "staff@example.com" not in held[0]
