"""Owners answering online (DESIGN.md §4 "Answering online" and ``survey_invitations``): personal links, the
plain HTML form posted back to its own URL, a replaced answer counting once, altered, revoked and closed links."""

import csv
import re
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from online.models import SurveyInvitation
from online.services import invitation_revoke, invitation_url, invitations_issue
from owners.models import Owner, Project
from owners.stages import stage_as_of
from satisfaction.selectors import metric_rows
from surveys.models import Channel, Response
from surveys.services import response_submit, survey_close, survey_create

GOOD = {"overall": "5", "repurchase": "4", "recommend": "2", "design": "3", "engineering": "0", "sales": ""}


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))


@pytest.fixture
def lake(db):
    return Project.objects.create(code="LAKE", name="湖畔")


@pytest.fixture
def hill(db):
    return Project.objects.create(code="HILL", name="山景")


@pytest.fixture
def owners(lake, hill):
    return [
        Owner.objects.create(project=lake, unit="1-101", name="张三", phone="13812345678", move_in_date=date(2025, 3, 1)),
        Owner.objects.create(project=lake, unit="1-102", name="李四", move_in_date=date(2020, 6, 1)),
        Owner.objects.create(project=hill, unit="2-201", name="王五"),
    ]


def path_of(invitation) -> str:
    return f"/o/{invitation.token}/"


def csrf_client() -> tuple[Client, str]:
    return Client(enforce_csrf_checks=True), ""


def post_answer(path: str, data: dict, client: Client | None = None):
    """Open the link, read the CSRF token from the page, post the form back to the same URL (as a phone does)."""
    client = client or Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(path, {"csrfmiddlewaretoken": token, **data})


def headline_n(survey) -> int:
    call_command("compute_metrics", survey=survey.code, verbosity=0)
    [row] = [r for r in metric_rows(survey=survey) if r["port"] is None and r["project"] is None and r["stage"] is None]
    return row["n"]


# --- survey_invitations ---------------------------------------------------------------------------------------------


def read_rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_survey_invitations_writes_one_row_per_owner_who_has_not_answered(tmp_path, monkeypatch, survey, owners):
    monkeypatch.setenv("SITE_URL", "https://csm.example.com")
    response_submit(survey=survey, owner=owners[1], questionnaire_no="P-1", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4}, channel=Channel.PHONE)
    out = tmp_path / "links.csv"
    call_command("survey_invitations", survey=survey.code, output=str(out), verbosity=0)
    rows = read_rows(out)
    assert list(rows[0]) == ["project_code", "unit", "owner_name", "url"]
    assert sorted((r["project_code"], r["unit"], r["owner_name"]) for r in rows) == [
        ("HILL", "2-201", "王五"), ("LAKE", "1-101", "张三"),
    ]
    for row in rows:
        owner = Owner.objects.get(project__code=row["project_code"], unit=row["unit"], name=row["owner_name"])
        invitation = SurveyInvitation.objects.get(survey=survey, owner=owner)
        assert row["url"] == f"https://csm.example.com/o/{invitation.token}/"
        assert len(invitation.token) >= 32
    assert len({r["url"] for r in rows}) == 2


def test_survey_invitations_reuses_an_owners_live_link_and_narrows_to_a_project(tmp_path, survey, owners):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    call_command("survey_invitations", survey=survey.code, output=str(first), verbosity=0)
    call_command("survey_invitations", survey=survey.code, project="LAKE", output=str(second), verbosity=0)
    everyone = {r["unit"]: r["url"] for r in read_rows(first)}
    lake_only = {r["unit"]: r["url"] for r in read_rows(second)}
    assert set(lake_only) == {"1-101", "1-102"}
    assert all(url.startswith("http://127.0.0.1:8000/o/") for url in everyone.values())
    assert lake_only == {unit: everyone[unit] for unit in lake_only}
    assert SurveyInvitation.objects.filter(survey=survey).count() == 3


def test_answered_owners_leave_the_invitation_list(tmp_path, survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    assert post_answer(path_of(invitation), GOOD).status_code == 302
    out = tmp_path / "links.csv"
    call_command("survey_invitations", survey=survey.code, output=str(out), verbosity=0)
    assert sorted(r["unit"] for r in read_rows(out)) == ["1-102", "2-201"]


def test_a_revoked_link_is_followed_by_a_new_one(survey, owners):
    [old] = invitations_issue(survey=survey, owners=[owners[0]])
    invitation_revoke(invitation=old)
    [new] = invitations_issue(survey=survey, owners=[owners[0]])
    assert new.token != old.token
    assert invitation_url(new, base="https://x.example/") == f"https://x.example/o/{new.token}/"


def test_tokens_are_unguessable_and_unique(survey, owners):
    tokens = [i.token for i in invitations_issue(survey=survey, owners=owners)]
    assert len(set(tokens)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32,}", t) for t in tokens)


# --- the answering page -----------------------------------------------------------------------------------------------


def test_the_link_opens_the_owners_questionnaire_without_login_and_marks_it_opened(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    page = Client().get(path_of(invitation))
    html = page.content.decode()
    assert page.status_code == 200
    for code in ("overall", "repurchase", "recommend", "property_maintenance"):
        assert f'name="{code}"' in html
    assert "必答" in html and "个人信息" in html and "保存多久" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert "13812345678" not in html
    invitation.refresh_from_db()
    assert invitation.opened_at is not None and invitation.answered_at is None


def test_a_good_post_stores_an_online_response_dated_today_with_the_stage_of_today(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    answer = post_answer(path_of(invitation), {**GOOD, "comment": ""})
    assert answer.status_code == 302 and answer["Location"] == f"/o/{invitation.token}/thanks/"
    response = Response.objects.get(survey=survey, owner=owners[0])
    today = timezone.localdate()
    assert response.channel == "online"
    assert response.surveyed_on == today
    assert response.stage == stage_as_of(owners[0].move_in_date, today)
    scores = dict(zip([q.code for q in survey.questions.order_by("position")], response.answers, strict=False))
    assert (scores["overall"], scores["repurchase"], scores["recommend"], scores["design"]) == ("5", "4", "2", "3")
    assert scores["engineering"] == "-" and scores["sales"] == "-"
    invitation.refresh_from_db()
    assert invitation.response_id == response.pk and invitation.answered_at and invitation.privacy_accepted_at
    thanks = Client().get(answer["Location"])
    assert thanks.status_code == 200 and "谢谢" in thanks.content.decode()


def test_a_replaced_post_counts_once_and_keeps_history(survey, owners, django_capture_on_commit_callbacks):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    client = Client(enforce_csrf_checks=True)
    post_answer(path_of(invitation), GOOD, client)
    assert headline_n(survey) == 1
    page = client.get(path_of(invitation)).content.decode()
    # The form shows the stored answer: 5 on overall is checked.
    assert re.search(r'<input[^>]*name="overall"[^>]*value="5"[^>]*checked', page) or re.search(
        r'<input[^>]*value="5"[^>]*name="overall"[^>]*checked', page)
    post_answer(path_of(invitation), {**GOOD, "overall": "2"}, client)
    assert Response.objects.filter(survey=survey).count() == 1
    response = Response.objects.get(survey=survey)
    assert response.answers[0] == "2"
    assert response.history.count() == 2
    rows = {(r["port"], r["project"], r["stage"]): r for r in (call_command("compute_metrics", survey=survey.code,
                                                                            verbosity=0) or metric_rows(survey=survey))}
    headline = rows[(None, None, None)]
    assert headline["n"] == 1 and headline["satisfied"] == 0


def test_an_altered_or_unknown_token_answers_404(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    altered = invitation.token[:-1] + ("A" if invitation.token[-1] != "A" else "B")
    client = Client()
    assert client.get(f"/o/{altered}/").status_code == 404
    assert client.post(f"/o/{altered}/", GOOD).status_code == 404
    assert client.get("/o/x/").status_code == 404
    assert client.get(f"/o/{'a' * 200}/").status_code == 404
    assert not Response.objects.exists()


def test_a_revoked_token_answers_404_and_stores_nothing(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    invitation_revoke(invitation=invitation)
    client = Client()
    assert client.get(path_of(invitation)).status_code == 404
    assert client.post(path_of(invitation), GOOD).status_code == 404
    assert client.get(f"{path_of(invitation)}thanks/").status_code == 404
    assert not Response.objects.exists()


def test_the_link_of_an_owner_anonymised_since_answers_404(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    Owner.objects.filter(pk=owners[0].pk).update(anonymised_at=timezone.now())
    assert Client().get(path_of(invitation)).status_code == 404


def test_a_missing_required_item_reshows_the_form_with_the_error_and_what_was_typed(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    answer = post_answer(path_of(invitation), {**GOOD, "repurchase": "0"})
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "必答题，请选择 1–5 分" in html
    assert re.search(r'<input[^>]*name="overall"[^>]*value="5"[^>]*checked', html)
    assert re.search(r'<input[^>]*name="design"[^>]*value="3"[^>]*checked', html)
    assert not Response.objects.exists()


def test_a_closed_wave_answers_a_plain_closed_page_and_stores_nothing(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    client = Client()
    client.get(path_of(invitation))
    survey_close(survey=survey)
    page = client.get(path_of(invitation))
    assert page.status_code == 200 and "已结束" in page.content.decode() and 'name="overall"' not in page.content.decode()
    posted = client.post(path_of(invitation), GOOD)
    assert posted.status_code == 200 and "已关闭" in posted.content.decode()
    assert not Response.objects.exists()


def test_a_closed_wave_keeps_the_stored_answer_unchanged(survey, owners):
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    post_answer(path_of(invitation), GOOD)
    survey_close(survey=survey)
    Client().post(path_of(invitation), {**GOOD, "overall": "1"})
    assert Response.objects.get(survey=survey).answers[0] == "5"


def test_a_token_answers_for_its_own_owner_and_wave_only(survey, owners):
    other_wave = survey_create(code="2026-repair", name="维修回访", source="touchpoint", questionnaire="headline")
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    post_answer(path_of(invitation), {**GOOD, "owner": owners[1].pk, "survey": other_wave.code, "survey_id": other_wave.pk})
    assert list(Response.objects.values_list("survey_id", "owner_id")) == [(survey.pk, owners[0].pk)]


def test_an_open_comment_is_posted_as_comment(db, owners):
    from surveys.services import ItemDef, questionnaire_create

    questionnaire = questionnaire_create(code="short", name="简短问卷", items=[
        ItemDef("overall", "总体满意度", "headline", required=True),
        ItemDef("remarks", "其他意见", "comment"),
    ])
    wave = survey_create(code="short-1", name="简短", questionnaire=questionnaire)
    [invitation] = invitations_issue(survey=wave, owners=[owners[0]])
    html = Client().get(path_of(invitation)).content.decode()
    assert 'name="comment"' in html
    refused = post_answer(path_of(invitation), {"overall": "", "comment": "电梯经常坏"})
    assert "必答题" in refused.content.decode() and "电梯经常坏" in refused.content.decode()
    post_answer(path_of(invitation), {"overall": "4", "comment": "物业很好"})
    response = Response.objects.get(survey=wave)
    assert response.answers == "4" and response.comments.get().text == "物业很好"


def test_posts_are_rate_limited_per_token(settings, survey, owners):
    settings.ONLINE_POSTS_PER_TOKEN = 2
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    client = Client()
    statuses = [client.post(path_of(invitation), {**GOOD, "overall": str(n)}).status_code for n in (5, 4, 3)]
    assert statuses == [302, 302, 429]
    assert Response.objects.get(survey=survey).answers[0] == "4"


def test_posts_are_rate_limited_per_address(settings, survey, owners):
    settings.ONLINE_POSTS_PER_ADDRESS = 2
    invitations = invitations_issue(survey=survey, owners=owners)
    statuses = [Client().post(path_of(i), GOOD, REMOTE_ADDR="10.0.0.9").status_code for i in invitations]
    assert statuses == [302, 302, 429]
    assert Response.objects.count() == 2
    assert Client().post(path_of(invitations[2]), GOOD, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_the_answer_moves_the_survey_numbers_like_any_other_response(survey, owners, django_capture_on_commit_callbacks):
    phone_owner = owners[1]
    response_submit(survey=survey, owner=phone_owner, questionnaire_no="P-1", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 5, "repurchase": 5, "recommend": 5}, channel=Channel.PHONE)
    assert headline_n(survey) == 1
    [invitation] = invitations_issue(survey=survey, owners=[owners[0]])
    with django_capture_on_commit_callbacks(execute=True):
        post_answer(path_of(invitation), GOOD)
    assert headline_n(survey) == 2


def test_old_dates_do_not_leak_into_the_stage(survey, lake):
    # Moved in 364 days ago: 磨合期 today; tomorrow's anniversary logic is the stage rule's, used as is.
    today = timezone.localdate()
    owner = Owner.objects.create(project=lake, unit="9-9", name="赵六", move_in_date=today - timedelta(days=364))
    [invitation] = invitations_issue(survey=survey, owners=[owner])
    post_answer(path_of(invitation), GOOD)
    assert Response.objects.get(owner=owner).stage == "run_in"


def test_survey_invitations_refuses_an_unknown_survey_or_project_and_a_closed_wave(tmp_path, survey, owners):
    from django.core.management.base import CommandError

    out = str(tmp_path / "x.csv")
    with pytest.raises(CommandError, match="unknown survey"):
        call_command("survey_invitations", survey="nope", output=out)
    with pytest.raises(CommandError, match="unknown project"):
        call_command("survey_invitations", survey=survey.code, project="NOPE", output=out)
    survey_close(survey=survey)
    with pytest.raises(CommandError, match="closed"):
        call_command("survey_invitations", survey=survey.code, output=out)
    assert not SurveyInvitation.objects.exists()


def test_the_wave_targets_decide_whom_to_invite_and_anonymised_owners_never_are(tmp_path, lake, hill, owners):
    from owners.stages import Stage

    wave = survey_create(code="veterans", name="老业主回访", starts_on=date(2026, 1, 1), target_projects=[lake],
                         target_stages=[Stage.VETERAN])
    Owner.objects.create(project=lake, unit="1-104", name="业主#99", move_in_date=date(2015, 1, 1),
                         anonymised_at=timezone.now())
    out = tmp_path / "links.csv"
    call_command("survey_invitations", survey=wave.code, output=str(out), verbosity=0)
    # Of the lake's owners only 李四 (moved in 2020) is a veteran on 2026-01-01; the hill is not targeted.
    assert [(r["unit"], r["owner_name"]) for r in read_rows(out)] == [("1-102", "李四")]
