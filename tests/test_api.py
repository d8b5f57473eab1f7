"""The REST API /api/v1/: token and session auth, pagination, filtering, writes through services, the metric rows."""

from datetime import date

import pytest
from rest_framework.test import APIClient
from statsmodels.stats.proportion import proportion_confint

from owners.models import Owner
from surveys.answers import decode_answers
from surveys.models import Question, Response
from tests.api_world import fresh, shared_world
from tests.conftest import PASSWORD
from tests.metrics_support import WEIGHTED_KEYS
from tests.support import SAMPLE_XLSX

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def module_world(request, django_db_setup, django_db_blocker):
    yield from shared_world(request, django_db_blocker)


@pytest.fixture
def world(module_world, db):
    return fresh(module_world)


@pytest.fixture
def api():
    return APIClient()


def as_user(user) -> APIClient:
    # A session, not force_authenticate: the request must pass the site's login middleware like a real one.
    client = APIClient()
    client.force_login(user)
    return client


def test_a_token_is_obtained_with_username_and_password_and_authenticates_api_calls(staff, world):
    client = APIClient()
    answer = client.post("/api/v1/auth/token/", {"username": "staff", "password": PASSWORD}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    projects = client.get("/api/v1/projects/")
    assert projects.status_code == 200
    assert [row["code"] for row in projects.json()["results"]] == ["hill", "lake"]


def test_a_wrong_password_gets_no_token(staff):
    answer = APIClient().post("/api/v1/auth/token/", {"username": "staff", "password": "wrong-password"}, format="json")
    assert answer.status_code == 400
    assert "token" not in answer.json()


def test_a_bad_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert client.get("/api/v1/projects/").status_code == 401


def test_a_session_login_authenticates_the_api(client, staff, world):
    client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    assert client.get("/api/v1/surveys/").json()["count"] == 1


def test_lists_are_paginated_with_rows_under_results(staff, world):
    page = as_user(staff).get("/api/v1/owners/?page_size=4").json()
    assert page["count"] == 6
    assert len(page["results"]) == 4
    assert page["next"].endswith("page=2&page_size=4")
    second = as_user(staff).get(page["next"]).json()
    assert len(second["results"]) == 2
    ids = [row["id"] for row in page["results"] + second["results"]]
    assert sorted(ids) == sorted(owner.pk for owner in world.owners)


def test_owners_are_filtered_by_project_code(staff, world):
    rows = as_user(staff).get("/api/v1/owners/?project=lake").json()["results"]
    assert {row["project"] for row in rows} == {"lake"}
    assert len(rows) == Owner.objects.filter(project__code="lake").count()


def test_questions_are_filtered_by_survey_and_kind_in_answer_order(staff, world):
    rows = as_user(staff).get("/api/v1/questions/?survey=2026-annual&kind=port").json()["results"]
    assert [row["code"] for row in rows] == ["design", "engineering", "sales", "service", "property"]


def test_responses_carry_their_scores_by_question_code(staff, world):
    rows = as_user(staff).get("/api/v1/responses/?survey=2026-annual&project=hill").json()["results"]
    codes = list(Question.objects.filter(survey=world.survey).order_by("position").values_list("code", flat=True))
    stored = {r.questionnaire_no: decode_answers(codes, r.answers) for r in Response.objects.filter(project__code="hill")}
    assert {row["questionnaire_no"]: row["scores"] for row in rows} == stored
    assert all(row["project"] == "hill" for row in rows)


def test_metric_rows_are_the_exact_contract_rows_as_a_plain_list(staff, world):
    rows = as_user(staff).get("/api/v1/metrics/?survey=2026-annual").json()
    assert isinstance(rows, list)
    headline = rows[0]
    assert list(headline) == [
        "survey", "port", "project", "stage", "n", "satisfied", "satisfaction_rate", "satisfaction_ci", "mean_score",
        "loyalty_base", "loyal", "loyalty_rate", "loyalty_ci", *WEIGHTED_KEYS, "change", "loyalty_change",
    ]
    assert (headline["survey"], headline["port"], headline["project"], headline["stage"]) == ("2026-annual", None, None, None)
    # Independent computation from the raw responses.
    codes = list(Question.objects.filter(survey=world.survey).order_by("position").values_list("code", flat=True))
    scores = [decode_answers(codes, r.answers) for r in Response.objects.filter(survey=world.survey)]
    overall = [s["overall"] for s in scores]
    satisfied = sum(1 for x in overall if x >= 4)
    assert headline["n"] == len(overall)
    assert headline["satisfied"] == satisfied
    assert headline["satisfaction_rate"] == pytest.approx(satisfied / len(overall), abs=1e-12)
    low, high = proportion_confint(satisfied, len(overall), alpha=0.05, method="wilson")
    assert headline["satisfaction_ci"] == pytest.approx([low, high], abs=1e-9)
    assert headline["mean_score"] == pytest.approx(sum(overall) / len(overall))
    loyal = sum(1 for s in scores if min(s["overall"], s["repurchase"], s["recommend"]) >= 4)
    assert (headline["loyalty_base"], headline["loyal"]) == (len(scores), loyal)
    port_rows = [row for row in rows if row["port"]]
    assert port_rows and all(row["loyalty_rate"] is None and row["loyalty_ci"] is None for row in port_rows)
    assert {row["port"] for row in port_rows} == {"design", "engineering", "sales", "service", "property"}


def test_metric_rows_need_a_survey_code_and_a_known_survey(staff, world):
    missing = as_user(staff).get("/api/v1/metrics/")
    assert missing.status_code == 400
    assert "survey" in missing.json()
    assert as_user(staff).get("/api/v1/metrics/?survey=no-such-survey").status_code == 404


def test_a_response_posted_by_staff_goes_through_the_service_and_an_owner_answering_again_updates_it(staff, world):
    owner = Owner.objects.create(project=world.projects[0], unit="9-9-909", name="新业主", phone="13700007777")
    payload = {
        "survey": "2026-annual", "owner": owner.pk, "questionnaire_no": "Q9999", "surveyed_on": "2026-03-12",
        "channel": "visit", "scores": {"overall": 5, "repurchase": 4, "recommend": 4, "property": 2},
    }
    created = as_user(staff).post("/api/v1/responses/", payload, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scores"]["property"] == 2 and body["scores"]["engineering"] is None
    assert body["stage"] == "prospective" and body["project"] == "lake"
    payload["scores"]["property"] = 4
    again = as_user(staff).post("/api/v1/responses/", payload, format="json")
    assert again.status_code == 200
    response = Response.objects.get(survey=world.survey, owner=owner)
    assert response.history.count() == 2
    assert again.json()["id"] == response.pk and again.json()["scores"]["property"] == 4


def test_a_patch_changes_only_the_scores_it_names(staff, world):
    response = Response.objects.get(questionnaire_no="Q0001")
    before = as_user(staff).get(f"/api/v1/responses/{response.pk}/").json()
    patched = as_user(staff).patch(f"/api/v1/responses/{response.pk}/", {"scores": {"sales": 1}}, format="json")
    assert patched.status_code == 200, patched.content
    after = patched.json()
    assert after["scores"] == before["scores"] | {"sales": 1}
    assert after["channel"] == before["channel"] and after["questionnaire_no"] == before["questionnaire_no"]


@pytest.mark.parametrize(
    "scores, field",
    [
        ({"overall": 6, "repurchase": 4, "recommend": 4}, "scores"),
        ({"overall": "5", "repurchase": 4, "recommend": 4}, "scores"),
        ({"overall": 5, "repurchase": 4, "recommend": 4, "no_such_item": 3}, "scores"),
        ({"overall": 5, "repurchase": None, "recommend": 4}, "scores"),
    ],
)
def test_a_bad_response_gets_a_chinese_message_and_writes_nothing(staff, world, scores, field):
    owner = Owner.objects.create(project=world.projects[1], unit="8-8-808", name="测试", phone="")
    payload = {"survey": "2026-annual", "owner": owner.pk, "questionnaire_no": "Q8888", "surveyed_on": "2026-03-12", "scores": scores}
    before = Response.objects.count()
    answer = as_user(staff).post("/api/v1/responses/", payload, format="json")
    assert answer.status_code == 400
    message = str(answer.json()[field])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert Response.objects.count() == before


def test_a_questionnaire_number_used_by_another_owner_is_refused(staff, world):
    owner = Owner.objects.create(project=world.projects[1], unit="8-8-808", name="测试")
    payload = {
        "survey": "2026-annual", "owner": owner.pk, "questionnaire_no": "Q0001", "surveyed_on": "2026-03-12",
        "scores": {"overall": 5, "repurchase": 4, "recommend": 4},
    }
    answer = as_user(staff).post("/api/v1/responses/", payload, format="json")
    assert answer.status_code == 400
    assert "问卷编号" in str(answer.json())


def test_staff_create_a_survey_with_its_questionnaire(staff, world):
    answer = as_user(staff).post(
        "/api/v1/surveys/", {"code": "2027-annual", "name": "2027 年度", "questionnaire": "headline", "source": "group"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    codes = as_user(staff).get("/api/v1/questions/?survey=2027-annual").json()["results"]
    assert [q["code"] for q in codes] == ["overall", "repurchase", "recommend"]


def test_a_duplicate_survey_code_is_a_400_not_a_crash(staff, world):
    answer = as_user(staff).post("/api/v1/surveys/", {"code": "2026-annual", "name": "x"}, format="json")
    assert answer.status_code == 400


def test_staff_add_an_owner_and_get_the_phone_back_masked(staff, world):
    answer = as_user(staff).post(
        "/api/v1/owners/",
        {"project": "hill", "unit": "5-2-301", "name": "李雷", "phone": "13912340000", "move_in_date": "2025-01-02"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["phone"] == "139****0000"
    owner = Owner.objects.get(name="李雷")
    assert owner.phone == "13912340000" and owner.move_in_date == date(2025, 1, 2)


@pytest.mark.parametrize("method, url", [("post", "/api/v1/responses/"), ("post", "/api/v1/surveys/")])
def test_management_reads_but_does_not_write(manager, world, method, url):
    client = as_user(manager)
    assert client.get(url).status_code == 200
    assert getattr(client, method)(url, {}, format="json").status_code == 403


def test_an_account_without_a_role_sees_nothing(world, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password=PASSWORD)
    client = as_user(nobody)
    for url in ["/api/v1/projects/", "/api/v1/surveys/", "/api/v1/owners/", "/api/v1/metrics/?survey=2026-annual"]:
        assert client.get(url).status_code == 403, url


def test_an_upload_that_fails_the_file_check_is_a_400_with_the_reason(staff, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("macro.xlsm", b"PK\x03\x04whatever", content_type="application/octet-stream")
    answer = as_user(staff).post("/api/v1/imports/", {"kind": "responses", "survey": "2026-annual", "file": upload}, format="multipart")
    assert answer.status_code == 400
    assert "宏" in str(answer.json()["file"])


def test_owners_are_for_brand_service_staff_only(manager, committee_member, property_head, world):
    for user in (manager, committee_member, property_head):
        assert as_user(user).get("/api/v1/owners/").status_code == 403
        assert as_user(user).get(f"/api/v1/owners/{world.owners[0].pk}/").status_code == 403


def test_an_import_is_uploaded_followed_to_its_end_and_a_second_upload_changes_nothing(
    staff, world, django_capture_on_commit_callbacks
):

    from django.core.files.uploadedfile import SimpleUploadedFile

    sample = SAMPLE_XLSX
    client = as_user(staff)
    jobs = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            upload = SimpleUploadedFile(sample.name, sample.read_bytes())
            answer = client.post("/api/v1/imports/", {"kind": "responses", "survey": "2026-annual", "file": upload}, format="multipart")
        assert answer.status_code == 202, answer.content
        jobs.append(client.get(f"/api/v1/imports/{answer.json()['id']}/").json())
    first, second = jobs
    assert first["status"] == "succeeded" and first["created_count"] == 240 and first["errors"] == []
    assert second["status"] in ("unchanged", "succeeded") and second["created_count"] == 0 and second["updated_count"] == 0
    listed = client.get("/api/v1/imports/?survey=2026-annual").json()
    assert listed["count"] == 2


def test_import_errors_come_back_row_by_row_with_phones_masked(staff, world, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv_text = (
        "问卷编号,楼盘编码,楼盘名称,房号,业主姓名,联系电话,调查日期,总体满意度,再次购买意愿,推荐意愿\n"
        "X1,lake,湖畔花园,1-1-101,张三,,2026-03-05,13812349999,4,4\n"  # a phone pasted into a score cell
    )
    with django_capture_on_commit_callbacks(execute=True):
        upload = SimpleUploadedFile("bad.csv", csv_text.encode("utf-8"))
        answer = as_user(staff).post("/api/v1/imports/", {"kind": "responses", "survey": "2026-annual", "file": upload}, format="multipart")
    job = as_user(staff).get(f"/api/v1/imports/{answer.json()['id']}/").json()
    assert job["status"] == "failed"
    assert any(str(error.get("row")) == "2" for error in job["errors"]), job["errors"]
    assert "13812349999" not in str(job)
    assert "138****9999" in str(job["errors"])  # the stored error quotes the cell; the API masks it
    assert Response.objects.filter(questionnaire_no="X1").count() == 0
    listed = as_user(staff).get("/api/v1/imports/").json()["results"][0]
    assert "errors" not in listed and listed["error_count"] == len(job["errors"]) >= 1
