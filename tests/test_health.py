"""Health (/healthz: the process answers) and readiness (/readyz: database and broker answer) checks."""

import socket

import pytest
from django.db import OperationalError

from config.celery import app as celery_app
from tests.support import REDIS_URL


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_login_and_without_the_database(client):
    # No django_db mark: any query here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_without_login_and_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from core import views

    class Broken:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", Broken())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error: OperationalError"


@pytest.fixture
def broker_url(settings, monkeypatch):
    """Point the Celery app at a broker URL for one test (as a production process would be)."""

    def use(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        monkeypatch.setattr(celery_app.conf, "broker_url", url)
        celery_app.pool.force_close_all()

    yield use
    celery_app.pool.force_close_all()
    # A closed pool refuses every later producer, and even an eager task acquires one: later tests start afresh.
    from kombu import pools

    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_down(client, broker_url):
    broker_url(f"redis://127.0.0.1:{closed_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("error:")


@pytest.mark.integration
@pytest.mark.django_db
def test_readyz_is_ok_against_the_real_postgresql_and_redis(client, broker_url):
    broker_url(REDIS_URL)
    response = client.get("/readyz")
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response.status_code == 200


def test_health_checks_are_not_redirected_to_https_so_a_plain_http_probe_works(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz")
    assert response.status_code == 200
