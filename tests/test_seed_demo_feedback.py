"""The demo research-base data (seed_demo_feedback): plausible, reproducible, idempotent, and the evidence shows it."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from scipy import stats

from demo.feedback import (
    BENCHMARK,
    BENCHMARK_ROWS,
    DEMO_TODAY,
    PERIOD_START,
    REFERENCE_PREFIX,
    DemoOwnerRef,
    demo_callback_dataset,
    demo_feedback_dataset,
)
from demo.surveys import PROJECTS
from feedback.models import Callback, ExternalBenchmark, Feedback, FeedbackKind, FeedbackStatus
from owners.models import Owner, Project


def _owners(per_project: int = 40) -> dict[str, list[DemoOwnerRef]]:
    """Synthetic owners for every demo project: move-ins spread over the 15 months after delivery."""
    owners = {}
    for spec in PROJECTS:
        owners[spec.code] = [
            DemoOwnerRef(f"{i // 4 + 1}-1-{i % 4 + 1:02d}01", f"业主{i}", spec.delivered_on + timedelta(days=11 * i))
            for i in range(per_project)
        ]
    return owners


def test_the_feedback_data_set_is_the_same_on_every_call():
    assert demo_feedback_dataset(owners=_owners()) == demo_feedback_dataset(owners=_owners())
    assert demo_callback_dataset(owners=_owners(), rule_months=[3, 6, 12]) == demo_callback_dataset(
        owners=_owners(), rule_months=[3, 6, 12]
    )


def test_the_feedback_data_set_is_plausible_without_a_database():
    records = demo_feedback_dataset(owners=_owners())
    units = {p.code: p.owners for p in PROJECTS}
    delivered = {p.code: p.delivered_on for p in PROJECTS}
    assert 800 <= len(records) <= 1500
    assert len({r.reference for r in records}) == len(records) and all(r.reference.startswith(REFERENCE_PREFIX) for r in records)
    ports = Counter(r.port for r in records)
    assert ports.most_common(2)[0][0] in ("property", "engineering") and ports["property"] + ports["engineering"] > 0.75 * len(records)
    assert set(Counter(r.kind for r in records)) >= {"complaint", "repair", "suggestion", "opinion", "acceptance"}
    statuses = Counter(r.status for r in records)
    assert statuses[FeedbackStatus.CLOSED] > 0.8 * len(records) and statuses[FeedbackStatus.OPEN] and statuses[FeedbackStatus.IN_PROGRESS]
    for r in records:
        assert PERIOD_START <= r.received_on <= DEMO_TODAY
        assert (r.status == FeedbackStatus.CLOSED) == (r.closed_on is not None)
        assert r.closed_on is None or r.received_on <= r.closed_on <= DEMO_TODAY
        if r.kind == FeedbackKind.ACCEPTANCE:
            assert r.received_on < delivered[r.project] and not r.owner_unit, "模拟验收 comes before the keys"
        else:
            assert r.received_on > delivered[r.project]
    complaints = Counter(r.project for r in records if r.port == "property" and r.kind == FeedbackKind.COMPLAINT)
    per_100 = {code: complaints[code] * 100 / units[code] for code in units}
    assert max(per_100, key=per_100.get) == "GZ-TH01" and per_100["GZ-TH01"] > 2 * sorted(per_100.values())[-2]


def test_callbacks_fall_due_under_the_rules_before_the_demo_today():
    callbacks = demo_callback_dataset(owners=_owners(), rule_months=[3, 6, 12])
    assert len(callbacks) == 12
    assert Counter(c.outcome for c in callbacks) == {"reached": 9, "not_reached": 2, "refused": 1}
    for c in callbacks:
        assert c.called_on <= DEMO_TODAY and abs((c.called_on - c.due_on).days) <= 4
        assert (c.scores is not None) == (c.outcome == "reached")


@pytest.mark.django_db
def test_seed_demo_feedback_writes_records_callbacks_and_a_report_once(capsys):
    owners = _owners(per_project=30)
    for spec in PROJECTS[:3]:  # no unit count: the command fills in the demo's
        project = Project.objects.create(code=spec.code, name=spec.name, city=spec.city)
        Owner.objects.bulk_create(
            Owner(project=project, unit=o.unit, name=o.name, phone="13800138000", move_in_date=o.move_in_date)
            for o in owners[spec.code]
        )
    call_command("seed_demo_feedback", "--if-empty")
    assert "demo feedback loaded" in capsys.readouterr().out
    present = {code: owners[code] for code in [p.code for p in PROJECTS[:3]]}
    expected = demo_feedback_dataset(owners=present)
    assert Feedback.objects.filter(reference__startswith=REFERENCE_PREFIX).count() == len(expected)
    assert Feedback.history.filter(reference__startswith=REFERENCE_PREFIX).count() == len(expected)
    stored = {f.reference: f for f in Feedback.objects.filter(reference__startswith=REFERENCE_PREFIX).select_related("project", "owner")}
    for record in expected[:50]:
        feedback = stored[record.reference]
        assert (feedback.project.code, feedback.kind, feedback.port, feedback.received_on, feedback.closed_on) == (
            record.project, record.kind, record.port, record.received_on, record.closed_on
        )
        assert (feedback.owner.unit if feedback.owner else "") == record.owner_unit
    assert dict(Project.objects.values_list("code", "unit_count")) == {p.code: p.owners for p in PROJECTS[:3]}
    callbacks = Callback.objects.order_by("called_on", "id")
    assert callbacks.count() == 12 and callbacks.filter(response__isnull=False).count() == 9
    assert Feedback.objects.filter(kind=FeedbackKind.CALLBACK).count() >= 1
    benchmark = ExternalBenchmark.objects.get()
    assert (benchmark.name, benchmark.report_on) == (BENCHMARK["name"], BENCHMARK["report_on"])
    assert benchmark.rows.count() == len(BENCHMARK_ROWS) and benchmark.rows.get(port="").loyalty_rate == pytest.approx(0.612)

    total = Feedback.objects.count()
    call_command("seed_demo_feedback", "--if-empty")
    assert "not loaded" in capsys.readouterr().out
    assert Feedback.objects.count() == total and Callback.objects.count() == 12
    with pytest.raises(CommandError):
        call_command("seed_demo_feedback")


@pytest.mark.django_db
def test_without_demo_projects_nothing_is_written(capsys):
    call_command("seed_demo_feedback", "--if-empty")
    assert "no demo projects" in capsys.readouterr().out
    assert Feedback.objects.count() == ExternalBenchmark.objects.count() == 0


@pytest.mark.django_db
def test_with_the_survey_demo_the_property_evidence_shows_complaints_falling_as_satisfaction_rises(client):
    call_command("seed_demo")
    call_command("seed_demo_feedback")
    client.force_login(User.objects.get(username="head_property"))
    answer = client.get("/feedback/ports/property/")
    assert answer.status_code == 200
    evidence = answer.context["evidence"]
    assert evidence.complaints > 100 and evidence.repairs > 100 and evidence.closed > 0.8 * evidence.total
    rows = {p.code: p for p in evidence.projects}
    assert set(rows) == {p.code for p in PROJECTS}
    assert max(rows.values(), key=lambda p: p.complaints_per_100).code == "GZ-TH01"
    assert min(rows.values(), key=lambda p: p.satisfaction_rate).code == "GZ-TH01"
    # Independently: Pearson's r of complaints per 100 households with the 2026 property satisfaction rate.
    expected_r = stats.pearsonr([p.complaints_per_100 for p in rows.values()], [p.satisfaction_rate for p in rows.values()])[0]
    assert evidence.correlation == pytest.approx(expected_r) and evidence.correlation < -0.7
    html = answer.content.decode()
    assert "天河云著" in html and f'id="port-complaints">{evidence.complaints}<' in html
    assert "集团2026年度第三方满意度调查" in html
    assert answer.context["survey"].code == "2026-annual"
    # The head of property does not see engineering's feedback.
    assert client.get("/feedback/ports/engineering/").status_code == 403
    staff_client = client.__class__()
    staff_client.force_login(User.objects.get(username="staff"))
    engineering = staff_client.get("/feedback/ports/engineering/").context["evidence"]
    assert engineering.volume_by_kind["acceptance"] > 50
    assert max(engineering.projects, key=lambda p: p.complaints_per_100).code == "SZ-BA01"
    assert Feedback.objects.filter(status=FeedbackStatus.CLOSED, closed_on__gt=date(2026, 10, 31)).count() == 0
