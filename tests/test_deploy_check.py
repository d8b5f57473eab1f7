"""Production settings pass Django's deploy checks; pages carry the strict CSP and our templates need no inline code."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE": "1",
    "ALLOWED_HOSTS": "csm.example.com",
    "CELERY_BROKER_URL": "",
    "EMAIL_HOST": "smtp.example.com",
}


def clean_environ() -> dict:
    # conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never has it (async.E001).
    return {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean_environ(), **env}, capture_output=True,
        text=True, timeout=120,
    )


def test_check_deploy_passes_at_warning_level_under_production_settings():
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_with_the_development_secret_key():
    # The check must be able to fail: without a real key it does.
    env = {**clean_environ(), **PRODUCTION_ENV}
    env.pop("SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_settings_set_the_security_headers_and_cookies():
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF, s.DEBUG)"
    )
    env = {**clean_environ(), **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True", "True", "31536000", "DENY", "True", "False"], result.stderr


@pytest.mark.django_db
def test_pages_and_the_login_page_carry_the_strict_csp(client, staff):
    for path in ["/accounts/login/", "/accounts/password_reset/"]:
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
    client.force_login(staff)
    for path in ["/", "/api/docs/", "/api/v1/"]:
        answer = client.get(path)
        assert "unsafe-inline" not in answer["Content-Security-Policy"], path
        assert answer["X-Frame-Options"] == "DENY" and answer["X-Content-Type-Options"] == "nosniff"


TEMPLATE_DIRS = [ROOT / "templates", *[p / "templates" for p in ROOT.iterdir() if (p / "templates").is_dir() and p.name != ".venv"]]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE_ATTR = re.compile(r"\sstyle\s*=\s*[\"']", re.IGNORECASE)
INLINE_STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


def our_templates():
    for directory in TEMPLATE_DIRS:
        yield from sorted(p for p in directory.rglob("*") if p.suffix in {".html", ".txt", ".xml"} and p.is_file())


def test_our_templates_have_no_inline_script_style_or_event_handler():
    found = []
    for path in our_templates():
        text = path.read_text(encoding="utf-8")
        for name, pattern in [("inline <script>", INLINE_SCRIPT), ("style=", INLINE_STYLE_ATTR),
                              ("<style>", INLINE_STYLE_BLOCK), ("on…= handler", INLINE_HANDLER)]:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert found == []


def test_the_template_scan_finds_what_it_looks_for():
    sample = '<script>alert(1)</script><div style="x" onclick="y"></div><style>a{}</style><script src="/s.js"></script>'
    assert len(INLINE_SCRIPT.findall(sample)) == 1
    assert INLINE_STYLE_ATTR.search(sample) and INLINE_HANDLER.search(sample) and INLINE_STYLE_BLOCK.search(sample)
    assert sum(1 for _ in our_templates()) > 10


def test_check_deploy_refuses_an_sms_backend_that_prints_owners_links():
    env = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64), "SMS_BACKEND": "console"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "csm.E002" in result.stdout + result.stderr
