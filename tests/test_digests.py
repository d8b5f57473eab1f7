"""The monthly digest: with the clock frozen, the right mail goes to the right people once per period and never
twice; opted-out, inactive and other roles get nothing; a failed send is retried, not recorded as sent."""

import io
import shutil
import subprocess
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from core.notifications import notification_set
from core.templatetags.csm import pct
from departments.ports import PORTS, port_label
from feedback.models import Feedback, FeedbackSeverity
from followup.models import Ticket, TicketStatus
from followup.services import tickets_escalate, tickets_sync_feedback
from improvement_plans.models import ImprovementPlan, PlanStatus
from owners.models import Project
from reports import digests
from reports.digests import DIGEST_KIND, digest_period, digests_send
from reports.models import DigestSent
from satisfaction.models import MetricSnapshot
from tests.conftest import make_user
from tests.dashboard_fixtures import surveys_for_module
from tests.support import IN_CI

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEC_1 = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def packs(monkeypatch):
    """Rendering a real pack takes seconds: most tests count the renders instead (one test below renders it)."""
    calls = []

    def fake_pack(*, user, survey, now=None, only_port=None):
        calls.append((user.username, survey.code))
        return b"%PDF-1.7 fake pack for " + user.username.encode()

    monkeypatch.setattr(digests, "report_pack_pdf", fake_pack)
    return calls


@pytest.fixture
def world(built, db):
    """Two managers (one opted out, one inactive), the property head, an engineering head without e-mail, a staff
    member; a plan waiting for approval; follow-up tickets of severe complaints: two overdue (property,
    engineering), a fresh one and one called back."""
    people = {
        "boss": make_user("boss", groups=["management"], email="boss@example.com"),
        "quiet": make_user("quiet", groups=["management"], email="quiet@example.com"),
        "gone": make_user("gone", groups=["management"], email="gone@example.com", is_active=False),
        "head": make_user("head", groups=["department_head"], department="property", head=True,
                          email="head@example.com"),
        "nomail": make_user("nomail", groups=["department_head"], department="engineering", head=True),
        "staff": make_user("staffer", groups=["brand_service"], department="brand_service", email="staff@example.com"),
    }
    notification_set(user=people["quiet"], kind=DIGEST_KIND, enabled=False)
    ImprovementPlan.objects.create(year=2026, port="property", status=PlanStatus.SUBMITTED,
                                   submitted_by=people["head"])
    # Feedback records become follow-up tickets (the follow-up app's own sync, at the time each came in); the beat's
    # escalation has run once by 1 December: the two past their SLA went to the department head.
    project = Project.objects.get(code="SUN")
    for port, received, text in (("property", date(2026, 11, 2), "电梯困人未处理"),
                                 ("engineering", date(2026, 11, 3), "外墙渗水未处理"),
                                 ("property", date(2026, 11, 30), "刚受理的投诉"),
                                 ("property", date(2026, 11, 4), "已回访的投诉")):
        feedback = Feedback.objects.create(kind="complaint", project=project, port=port, received_on=received,
                                           severity=FeedbackSeverity.SEVERE, description=text)
        opened = datetime.combine(received, time(9), tzinfo=SHANGHAI)
        tickets_sync_feedback(feedback_ids=[feedback.pk], now=opened)
    # Called back: the SLA clock stopped, so it is not overdue however old.
    Ticket.objects.filter(summary__contains="已回访的投诉").update(status=TicketStatus.CALLED_BACK)
    tickets_escalate(now=DEC_1)
    return people


def whole(survey, port=""):
    return MetricSnapshot.objects.get(survey=survey, port=port, project__isnull=True, stage="")


def test_the_period_is_the_month_before_the_day_it_is_sent():
    assert digest_period(date(2026, 12, 1)) == "2026-11"
    assert digest_period(date(2026, 12, 31)) == "2026-11"
    assert digest_period(date(2027, 1, 1)) == "2026-12"


def test_management_and_heads_get_their_own_digest_once_with_the_pack_attached(world, packs):
    survey = MetricSnapshot.objects.filter(survey__code="2026-annual").first().survey
    assert digests_send(now=DEC_1) == 2

    by_address = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_address) == ["boss@example.com", "head@example.com"]

    boss = by_address["boss@example.com"]
    assert "2026-11" in boss.subject and survey.name in boss.subject
    assert f"总体满意度：{pct(whole(survey).satisfaction_rate)}" in boss.body
    assert f"忠诚度：{pct(whole(survey).loyalty_rate)}" in boss.body
    for port in PORTS:
        assert f"{port_label(port)}：{pct(whole(survey, port).satisfaction_rate)}" in boss.body
    assert "2026 物业管理" in boss.body  # the plan waiting for approval
    # Both overdue tickets (escalated to the heads), earliest due first; not the fresh one nor the called-back one.
    overdue = [line for line in boss.body.splitlines() if "· 已升级至部门负责人 ·" in line]
    assert len(overdue) == 2 and "电梯困人未处理" in overdue[0] and "外墙渗水未处理" in overdue[1]
    due = Ticket.objects.get(summary__contains="电梯困人未处理").due_at
    assert overdue[0].startswith(f"- 期限 {timezone.localtime(due):%Y-%m-%d %H:%M} · 阳光花园 · 物业管理 · 新建 ·")
    assert "刚受理的投诉" not in boss.body and "已回访的投诉" not in boss.body
    name, content, mimetype = boss.attachments[0]
    assert name == "report-pack-2026-annual.pdf" and mimetype == "application/pdf" and content.startswith(b"%PDF")

    head = by_address["head@example.com"]
    assert f"物业管理：{pct(whole(survey, 'property').satisfaction_rate)}" in head.body
    assert all(port_label(port) not in head.body for port in PORTS if port != "property")
    assert "待您审批" not in head.body
    assert head.body.count("· 已升级至部门负责人 ·") == 1 and "电梯困人未处理" in head.body
    assert head.attachments[0][1] == b"%PDF-1.7 fake pack for head"

    assert set(DigestSent.objects.values_list("user__username", "period")) == {("boss", "2026-11"), ("head", "2026-11")}
    assert sorted(packs) == [("boss", "2026-annual"), ("head", "2026-annual")]


def test_running_again_in_the_same_month_sends_nothing_and_the_next_month_sends_again(world, packs):
    digests_send(now=DEC_1)
    assert len(mail.outbox) == 2
    assert digests_send(now=DEC_1) == 0
    assert digests_send(now=datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI)) == 0
    assert len(mail.outbox) == 2 and len(packs) == 2

    # 1 January in Shanghai (still 31 December in UTC): December's digest.
    assert digests_send(now=datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)) == 2
    assert len(mail.outbox) == 4
    assert sorted(DigestSent.objects.values_list("period", flat=True)) == ["2026-11", "2026-11", "2026-12", "2026-12"]


def test_a_user_turning_the_digest_back_on_gets_the_period_they_have_not_had(world, packs):
    digests_send(now=DEC_1)
    notification_set(user=world["quiet"], kind=DIGEST_KIND, enabled=True)
    assert digests_send(now=datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)) == 1
    assert mail.outbox[-1].to == ["quiet@example.com"]


def test_opted_out_inactive_mailless_and_other_roles_get_nothing(world, packs):
    digests_send(now=DEC_1)
    sent_to = {address for message in mail.outbox for address in message.to}
    assert sent_to.isdisjoint({"quiet@example.com", "gone@example.com", "staff@example.com"})
    assert not DigestSent.objects.filter(user__username__in=["quiet", "gone", "nomail", "staffer"]).exists()


def test_a_failed_send_is_not_recorded_and_the_next_run_sends_it(world, packs, monkeypatch):
    real_send = mail.EmailMessage.send

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(mail.EmailMessage, "send", refuse)
    with pytest.raises(ConnectionRefusedError):
        digests_send(now=DEC_1)
    assert not DigestSent.objects.exists() and mail.outbox == []

    monkeypatch.setattr(mail.EmailMessage, "send", real_send)
    assert digests_send(now=DEC_1) == 2


def test_the_database_refuses_a_second_record_for_the_same_user_and_period(world):
    DigestSent.objects.create(user=world["boss"], period="2026-11", role="management", sent_at=DEC_1)
    with pytest.raises(IntegrityError):
        DigestSent.objects.create(user=world["boss"], period="2026-11", role="management", sent_at=DEC_1)


def test_the_beat_task_uses_the_frozen_clock(world, packs, monkeypatch):
    from reports import tasks

    monkeypatch.setattr(tasks.timezone, "now", lambda: DEC_1)
    assert tasks.send_monthly_digests.apply().get() == 2
    assert tasks.send_monthly_digests.apply().get() == 0
    assert set(DigestSent.objects.values_list("period", flat=True)) == {"2026-11"}


def test_the_beat_schedule_runs_the_digest_daily():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["monthly-digests"]
    assert entry["task"] == "reports.tasks.send_monthly_digests"
    assert entry["schedule"].hour == {8} and entry["schedule"].minute == {0}


def test_the_digest_can_be_switched_off_on_the_notification_page(world, client):
    client.force_login(world["boss"])
    assert "月度满意度摘要" in client.get("/accounts/notifications/").content.decode()


@pytest.mark.skipif(not shutil.which("pdftotext") and not IN_CI, reason="poppler-utils is not installed")
def test_a_heads_attached_pack_is_a_real_pdf_of_their_ports(world, tmp_path):
    digests_send(now=DEC_1)
    head = next(message for message in mail.outbox if message.to == ["head@example.com"])
    path = tmp_path / "pack.pdf"
    path.write_bytes(head.attachments[0][1])
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "物业管理" in text and all(port_label(port) not in text for port in PORTS if port != "property")


def test_the_command_sends_what_is_due_and_says_how_many(world, packs, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(timezone, "now", lambda: DEC_1)
    out = io.StringIO()
    call_command("send_monthly_digests", stdout=out)
    call_command("send_monthly_digests", stdout=out)
    assert out.getvalue().splitlines() == ["monthly digest 2026-11: 2 sent", "monthly digest 2026-11: 0 sent"]


def test_the_admin_lists_what_was_sent_and_deleting_a_row_sends_it_again(world, packs, admin_client):
    digests_send(now=DEC_1)
    page = admin_client.get("/admin/reports/digestsent/").content.decode()
    assert "2026-11" in page and "boss" in page and "head" in page
    DigestSent.objects.filter(user=world["head"]).delete()
    assert digests_send(now=DEC_1) == 1 and mail.outbox[-1].to == ["head@example.com"]


def test_a_weighted_wave_shows_its_weighted_figures_labelled_in_the_mail(world, packs, monkeypatch):
    # A real weighted wave (the roster's stage mix differs from the sample's; metrics through the service).
    from satisfaction.selectors import metric_rows
    from tests.test_weighting_db import build

    survey = build()
    monkeypatch.setattr(digests, "survey_latest", lambda: survey)
    digests_send(now=DEC_1)
    head = next(message for message in mail.outbox if message.to == ["head@example.com"])
    lines = {line[2:].split("：")[0]: line for line in head.body.splitlines() if line.startswith("- ")}
    headline, prop = whole(survey), whole(survey, "property")
    rows = {(r["port"] or "") : r for r in metric_rows(survey=survey) if r["project"] is r["stage"] is None}

    def said(rate, low, high, n_eff):
        return f"；加权 {pct(rate)}（95% 区间 {pct(low)} – {pct(high)}，n_eff = {n_eff:.1f}）"

    assert lines["总体满意度"].endswith(said(rows[""]["weighted_rate"], *rows[""]["weighted_ci"], rows[""]["n_eff"]))
    assert lines["忠诚度"].endswith(said(headline.weighted_loyalty_rate, headline.weighted_loyalty_ci_low,
                                         headline.weighted_loyalty_ci_high, headline.loyalty_n_eff))
    assert lines["物业管理"].endswith(said(prop.weighted_rate, prop.weighted_ci_low, prop.weighted_ci_high, prop.n_eff))
    assert rows["property"]["n_eff"] == prop.n_eff and headline.weighted_rate != headline.satisfaction_rate
    assert f"{pct(headline.satisfaction_rate)}（95% 区间" in lines["总体满意度"]  # the plain figure leads


def test_an_unweighted_wave_says_nothing_weighted(world, packs):
    digests_send(now=DEC_1)
    assert mail.outbox and not any("加权" in message.body for message in mail.outbox)
