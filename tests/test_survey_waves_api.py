"""Waves through the API: brand-service staff create, change, close and reopen them; everyone with a role reads
waves, series and questionnaires; responses filter by project, stage, channel, score range and comment text."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from surveys.models import Questionnaire, Survey
from surveys.services import ItemDef, questionnaire_copy, questionnaire_save, response_submit, survey_create
from tests.api_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_world()


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_staff_create_a_wave_with_series_period_targets_and_weighting(staff, world):
    answer = as_user(staff).post("/api/v1/surveys/", {
        "code": "handover-2026", "name": "交付触点 2026", "series": "handover", "questionnaire": "headline",
        "starts_on": "2026-05-01", "ends_on": "2026-05-31", "target_projects": ["lake"], "target_stages": ["run_in"],
        "weighting": "population",
    }, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["series"], body["source"], body["questionnaire"], body["questionnaire_version"]) == (
        "handover", "touchpoint", "headline", 1)
    assert (body["target_projects"], body["target_stages"], body["weighting"], body["is_closed"]) == (
        ["lake"], ["run_in"], "population", False)
    survey = Survey.objects.get(code="handover-2026")
    assert survey.questions.count() == 3 and survey.ends_on == date(2026, 5, 31)


def test_a_bad_wave_is_a_400_in_plain_words(staff, world):
    answer = as_user(staff).post("/api/v1/surveys/", {"code": "x", "name": "X", "series": "repair", "source": "group"},
                                 format="json")
    assert answer.status_code == 400 and "不一致" in str(answer.json())


def test_staff_change_close_and_reopen_a_wave_and_a_closed_wave_refuses_an_api_response(staff, world):
    client = as_user(staff)
    survey = world.survey
    changed = client.patch(f"/api/v1/surveys/{survey.pk}/", {"name": "2026 年度（改）", "ends_on": "2026-05-15"},
                           format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["questionnaire_version"]) == ("2026 年度（改）", 1)
    refused = client.patch(f"/api/v1/surveys/{survey.pk}/", {"questionnaire": "headline"}, format="json")
    assert refused.status_code == 400 and "已有答卷" in str(refused.json())

    closed = client.post(f"/api/v1/surveys/{survey.pk}/close/")
    assert closed.status_code == 200 and closed.json()["is_closed"] and closed.json()["closed_by"] == "staff"
    owner = world.owners[0]
    payload = {"survey": survey.code, "owner": owner.pk, "questionnaire_no": "Q0001", "surveyed_on": "2026-03-12",
               "scores": {"overall": 1, "repurchase": 1, "recommend": 1}}
    answer = client.post("/api/v1/responses/", payload, format="json")
    assert answer.status_code == 400 and "已关闭" in str(answer.json())
    assert client.get("/api/v1/surveys/?closed=true").json()["results"][0]["code"] == survey.code

    assert client.post(f"/api/v1/surveys/{survey.pk}/reopen/").json()["is_closed"] is False
    assert client.post("/api/v1/responses/", payload, format="json").status_code == 200


def test_a_head_reads_waves_and_questionnaires_but_cannot_change_them(property_head, world):
    client = as_user(property_head)
    assert client.get("/api/v1/surveys/").status_code == 200
    assert client.post(f"/api/v1/surveys/{world.survey.pk}/close/").status_code == 403
    standard = client.get("/api/v1/questionnaires/?code=standard").json()["results"][0]
    assert (standard["version"], standard["frozen"], len(standard["items"])) == (1, True, 24)
    assert [s["code"] for s in client.get("/api/v1/survey-series/").json()][:3] == ["company", "group", "touchpoint"]


def test_responses_filter_by_channel_score_range_and_comment_text(manager, staff, world):
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="tp", name="触点")
    mine = questionnaire_save(questionnaire=mine, name="触点", items=[
        *mine.items.order_by("position"), ItemDef("suggestion", "建议", "comment"),
    ])
    survey = survey_create(code="tp-2026", name="触点", series="repair", questionnaire=mine)
    for index, owner in enumerate(world.owners):
        response_submit(survey=survey, owner=owner, questionnaire_no=f"T{index}", surveyed_on=date(2026, 3, 10),
                        scores={"overall": 1 + index % 5, "repurchase": 4, "recommend": 4},
                        channel="online" if index % 2 else "phone",
                        comments={"suggestion": "电梯太慢" if index < 2 else "很好"})
    client = as_user(manager)

    def numbers(query):
        answer = client.get(f"/api/v1/responses/?survey=tp-2026&{query}")
        assert answer.status_code == 200, answer.content
        return sorted(row["questionnaire_no"] for row in answer.json()["results"])

    assert numbers("item=overall&min_score=1&max_score=2") == ["T0", "T1", "T5"]
    assert numbers("item=overall&min_score=4") == ["T3", "T4"]
    assert numbers("channel=online&comment=电梯") == ["T1"]
    assert client.get("/api/v1/responses/?survey=tp-2026&item=nope&min_score=1").status_code == 400
    row = client.get("/api/v1/responses/?survey=tp-2026&questionnaire_no=T0").json()["results"][0]
    assert row["comments"] == {"suggestion": "电梯太慢"} and row["scores"] == {"overall": 1, "repurchase": 4,
                                                                           "recommend": 4}


def test_a_score_range_without_a_survey_filters_every_wave_that_asks_the_item(manager, world):
    from rest_framework.test import APIClient

    from surveys.answers import decode_answers
    from surveys.models import Response
    from surveys.selectors import survey_answer_codes

    client = APIClient()
    client.force_authenticate(manager)
    answer = client.get("/api/v1/responses/", {"min_score": 4, "max_score": 5, "page_size": 500})
    assert answer.status_code == 200
    expected = sorted(
        r.pk for r in Response.objects.select_related("survey")
        if (decode_answers(survey_answer_codes(survey=r.survey), r.answers).get("overall") or 0) in (4, 5)
    )
    assert expected and sorted(row["id"] for row in answer.json()["results"]) == expected
