"""Callbacks staff can work: filters and paging, the logged phone reveal, recording in place, rules kept by staff,
准业主 callbacks counted from the contract."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from feedback.models import Callback, CallbackAnchor, CallbackRule
from feedback.selectors import OwnerSpec, RuleSpec, callback_due_items, callback_due_list
from feedback.views import CALLBACKS_PER_PAGE
from owners.models import Owner, PhoneAccessLog, Project

PRE_HANDOVER = RuleSpec(id=9, name="签约后6个月", months=6, window_days=10, anchor=CallbackAnchor.CONTRACT)
RUN_IN = RuleSpec(id=1, name="3个月", months=3, window_days=15)


# --- the rule (pure) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 6, 30), False),  # due 2026-07-11 − 11 days
        (date(2026, 7, 1), True),  # the window's first day (due − 10)
        (date(2026, 7, 21), True),  # its last day (due + 10)
        (date(2026, 7, 22), False),
    ],
)
def test_a_pre_handover_rule_counts_from_the_contract_with_both_window_bounds(today, due):
    owner = OwnerSpec(5, move_in_date=None, contract_date=date(2026, 1, 11))
    items = callback_due_items(owners=[owner], rules=[PRE_HANDOVER], today=today)
    assert bool(items) is due
    if due:
        assert items[0].due_on == date(2026, 7, 11)


def test_a_pre_handover_rule_stops_once_the_owner_has_moved_in_and_run_in_rules_ignore_prospective_owners():
    today = date(2026, 7, 11)
    moved = OwnerSpec(5, move_in_date=date(2026, 7, 11), contract_date=date(2026, 1, 11))
    later = OwnerSpec(6, move_in_date=date(2026, 7, 12), contract_date=date(2026, 1, 11))  # handover tomorrow
    assert [i.owner_id for i in callback_due_items(owners=[moved, later], rules=[PRE_HANDOVER], today=today)] == [6]
    no_contract = OwnerSpec(7, move_in_date=None, contract_date=None)
    assert callback_due_items(owners=[no_contract], rules=[PRE_HANDOVER, RUN_IN], today=today) == []
    # A run-in rule never counts from the contract.
    assert callback_due_items(owners=[later], rules=[RUN_IN], today=today) == []


# --- with the database -----------------------------------------------------------------------------------------


@pytest.fixture
def projects(db):
    return (
        Project.objects.create(code="P1", name="翠湖花园", unit_count=100),
        Project.objects.create(code="P2", name="江南府", unit_count=100),
    )


@pytest.fixture
def today():
    return timezone.localdate()


def _owner(project, unit, *, move_in=None, contract=None, phone="13812345678"):
    return Owner.objects.create(
        project=project, unit=unit, name=f"业主{unit}", phone=phone, move_in_date=move_in, contract_date=contract
    )


def test_the_due_list_filters_by_project_stage_and_due_window(projects, today):
    p1, p2 = projects
    overdue = _owner(p1, "1-101", move_in=today - timedelta(days=100))  # 3 months ± 15: due ~8 days ago
    soon = _owner(p2, "2-101", move_in=today - timedelta(days=88))  # due in ~3 days
    pre_rule = CallbackRule.objects.create(name="签约后6个月", anchor="contract", months_after_move_in=6, window_days=15)
    prospective = _owner(p2, "2-102", contract=today - timedelta(days=182))
    rows = callback_due_list(today=today)
    assert {row.owner for row in rows} == {overdue, soon, prospective}
    assert [row.owner for row in callback_due_list(today=today, project=p1)] == [overdue]
    assert [row.owner for row in callback_due_list(today=today, stage="prospective")] == [prospective]
    assert [row.rule for row in callback_due_list(today=today, stage="prospective")] == [pre_rule]
    upcoming = callback_due_list(today=today, due_from=today)
    # Independent reading: exactly the rows whose due date is today or later.
    assert {row.owner for row in upcoming} == {row.owner for row in rows if row.item.due_on >= today}
    assert overdue not in {row.owner for row in upcoming}


def test_the_page_pages_and_keeps_its_filters(client, staff, projects, today):
    p1, p2 = projects
    for i in range(CALLBACKS_PER_PAGE + 5):
        _owner(p1, f"1-{i:03d}", move_in=today - timedelta(days=92))
    _owner(p2, "2-001", move_in=today - timedelta(days=92))
    client.force_login(staff)
    first = client.get("/feedback/callbacks/", {"project": p1.pk}).content.decode()
    assert first.count("data-owner=") == CALLBACKS_PER_PAGE
    due = first.split('id="callback-due"')[1].split('id="callback-recent"')[0]
    assert f"project={p1.pk}&amp;page=2" in due and "江南府" not in due
    second = client.get("/feedback/callbacks/", {"project": p1.pk, "page": 2}).content.decode()
    assert second.count("data-owner=") == 5
    bad = client.get("/feedback/callbacks/", {"project": "nope", "window": "whenever"})
    assert bad.status_code == 200 and bad.content.decode().count("data-owner=") == CALLBACKS_PER_PAGE


def test_show_phone_reveals_one_number_and_logs_it_with_and_without_js(client, staff, projects, today):
    owner = _owner(projects[0], "1-101", move_in=today - timedelta(days=92), phone="13812345678")
    other = _owner(projects[0], "1-102", move_in=today - timedelta(days=92), phone="13900001111")
    client.force_login(staff)
    url = f"/feedback/callbacks/owners/{owner.pk}/phone/"
    assert client.get(url).status_code == 405
    cell = client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert 'href="tel:13812345678"' in cell and "13900001111" not in cell
    log = PhoneAccessLog.objects.get()
    assert (log.user, log.owner, log.where.startswith("回访计划")) == (staff, owner, True)
    page = client.post(f"/feedback/callbacks/owners/{other.pk}/phone/", {"rule": 1}).content.decode()
    assert 'id="callback-form"' in page and "13900001111" in page
    assert PhoneAccessLog.objects.filter(owner=other).count() == 1


def test_someone_without_the_permission_gets_no_number_and_leaves_no_log(client, staff, projects, today):
    from django.contrib.auth.models import Permission

    owner = _owner(projects[0], "1-101", move_in=today - timedelta(days=92))
    staff.groups.first().permissions.remove(Permission.objects.get(codename="view_full_phone"))
    staff.user_permissions.clear()
    client.force_login(staff)
    cell = client.post(f"/feedback/callbacks/owners/{owner.pk}/phone/", headers={"HX-Request": "true"}).content.decode()
    assert "13812345678" not in cell and "138****5678" in cell
    assert PhoneAccessLog.objects.count() == 0


def test_a_head_may_not_reveal_from_the_callback_page(client, property_head, projects, today):
    owner = _owner(projects[0], "1-101", move_in=today - timedelta(days=92))
    client.force_login(property_head)
    assert client.post(f"/feedback/callbacks/owners/{owner.pk}/phone/").status_code == 403
    assert PhoneAccessLog.objects.count() == 0


def test_the_outcome_is_recorded_in_place_and_the_row_leaves_the_list(client, staff, projects, today):
    owner = _owner(projects[0], "1-101", move_in=today - timedelta(days=92))
    rule = CallbackRule.objects.get(anchor="move_in", months_after_move_in=3)
    client.force_login(staff)
    url = f"/feedback/callbacks/owners/{owner.pk}/"
    form = {"rule": rule.pk, "called_on": today.isoformat(), "next": f"/feedback/callbacks/?project={projects[0].pk}"}
    missing = client.post(url, {**form, "notes": "占线"}, headers={"HX-Request": "true"})
    assert "请选择回访结果" in missing.content.decode()
    assert missing["HX-Retarget"] == f"#callback-msg-{owner.pk}-{rule.pk}"
    assert Callback.objects.count() == 0
    done = client.post(url, {**form, "outcome": "reached", "notes": "已沟通"}, headers={"HX-Request": "true"})
    assert "data-callback-done" in done.content.decode()
    callback = Callback.objects.get()
    assert (callback.outcome, callback.rule, callback.called_by, callback.notes) == ("reached", rule, staff, "已沟通")
    assert owner not in {row.owner for row in callback_due_list(today=today)}
    # Without JS the same form goes back to the filtered list; a foreign "next" is ignored.
    other = _owner(projects[0], "1-102", move_in=today - timedelta(days=92))
    back = client.post(f"/feedback/callbacks/owners/{other.pk}/", {**form, "outcome": "not_reached"})
    assert back.status_code == 302 and back["Location"] == form["next"]
    evil = client.post(f"/feedback/callbacks/owners/{other.pk}/", {**form, "outcome": "not_reached", "next": "https://evil.example/"})
    assert evil["Location"] == "/feedback/callbacks/"


def test_staff_keep_the_callback_rules_and_others_may_not(client, staff, property_head, db):
    client.force_login(staff)
    created = client.post(
        "/feedback/callbacks/rules/",
        {"name": "交付前回访", "anchor": "contract", "months_after_move_in": 6, "window_days": 20, "is_active": "on"},
    )
    assert created.status_code == 302
    rule = CallbackRule.objects.get(name="交付前回访")
    assert (rule.anchor, rule.months_after_move_in, rule.window_days, rule.is_active) == ("contract", 6, 20, True)
    duplicate = client.post(
        "/feedback/callbacks/rules/", {"name": "重复", "anchor": "move_in", "months_after_move_in": 3, "window_days": 15}
    )
    assert duplicate.status_code == 400 and "已有相同起算日和月数的回访规则" in duplicate.content.decode()
    out_of_range = client.post(
        "/feedback/callbacks/rules/", {"name": "太宽", "anchor": "move_in", "months_after_move_in": 9, "window_days": 400}
    )
    assert "窗口须在 0 到 90 天之间" in out_of_range.content.decode() and 'value="太宽"' in out_of_range.content.decode()
    edited = client.post(
        "/feedback/callbacks/rules/",
        {"id": rule.pk, "name": "交付前回访", "anchor": "contract", "months_after_move_in": 6, "window_days": 10},
    )
    assert edited.status_code == 302
    rule.refresh_from_db()
    assert (rule.window_days, rule.is_active) == (10, False)
    assert CallbackRule.objects.count() == 4
    client.force_login(property_head)
    assert client.get("/feedback/callbacks/rules/").status_code == 403
