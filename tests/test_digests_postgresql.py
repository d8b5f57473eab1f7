"""Two digest runs at once on PostgreSQL (two beats by mistake, or the command beside the beat): each reader still
gets one mail, because the second run's claim waits on the first's unique row and then finds it taken."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from reports import digests
from reports.models import DigestSent
from tests.conftest import make_user
from tests.dashboard_fixtures import build_survey

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEC_1 = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_two_runs_racing_send_each_reader_one_mail(monkeypatch):
    assert connection.vendor == "postgresql"
    build_survey("2026-annual", year=2026, seed=3, projects=(("SUN", "阳光花园", 40),))
    for name in ("boss", "chief"):
        make_user(name, groups=["management"], email=f"{name}@example.com")
    both_counted = threading.Barrier(2, timeout=60)

    def fake_pack(*, user, survey, now=None, only_port=None):
        both_counted.wait()  # both runs have read "nobody had it yet" before either claims anybody
        return b"%PDF-1.7 fake"

    monkeypatch.setattr(digests, "report_pack_pdf", fake_pack)
    results, errors = [], []

    def run():
        try:
            results.append(digests.digests_send(now=DEC_1))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(results) in ([0, 2], [1, 1])
    assert sorted(message.to[0] for message in mail.outbox) == ["boss@example.com", "chief@example.com"]
    assert DigestSent.objects.count() == 2
