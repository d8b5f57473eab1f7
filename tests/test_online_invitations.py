"""The staff's invitations page of a wave: generating links (wave, project, chosen units), revoking, downloading
them (csv and xlsx, cells neutralised), and the live response rates invited / opened / answered."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from openpyxl import load_workbook

from online.models import SurveyInvitation
from online.selectors import invitation_rates
from online.services import invitations_issue
from owners.models import Owner, Project
from owners.stages import stage_as_of
from surveys.models import Channel
from surveys.services import response_submit, survey_create

PAGE = "/online/waves/2026-annual/invitations/"


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))


@pytest.fixture
def world(survey):
    lake = Project.objects.create(code="LAKE", name="湖畔")
    hill = Project.objects.create(code="HILL", name="山景")
    owners = [
        Owner.objects.create(project=lake, unit="1-101", name="张三", move_in_date=date(2025, 6, 1)),
        Owner.objects.create(project=lake, unit="1-102", name="=HYPERLINK(\"x\")", move_in_date=date(2019, 1, 1)),
        Owner.objects.create(project=lake, unit="1-103", name="钱七"),
        Owner.objects.create(project=hill, unit="2-201", name="王五", move_in_date=date(2024, 12, 1)),
    ]
    return {"lake": lake, "hill": hill, "owners": owners}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_generate_links_for_the_whole_wave_and_again_reuse_them(staff, survey, world):
    client = as_user(staff)
    assert client.post(PAGE, {"scope": "wave"}).status_code == 302
    tokens = dict(SurveyInvitation.objects.values_list("owner_id", "token"))
    assert set(tokens) == {o.pk for o in world["owners"]}
    client.post(PAGE, {"scope": "wave"})
    assert dict(SurveyInvitation.objects.values_list("owner_id", "token")) == tokens


def test_staff_generate_links_for_a_project_or_chosen_units(staff, survey, world):
    client = as_user(staff)
    client.post(PAGE, {"scope": "project", "project": world["hill"].pk})
    assert set(SurveyInvitation.objects.values_list("owner__unit", flat=True)) == {"2-201"}
    client.post(PAGE, {"scope": "units", "project": world["lake"].pk, "units": "1-103\n\n 1-101 "})
    assert set(SurveyInvitation.objects.values_list("owner__unit", flat=True)) == {"2-201", "1-101", "1-103"}


def test_an_unknown_unit_is_refused_with_its_name_and_nothing_is_generated(staff, survey, world):
    answer = as_user(staff).post(PAGE, {"scope": "units", "project": world["lake"].pk, "units": "1-101\n9-999"})
    assert answer.status_code == 200
    assert "9-999" in answer.content.decode() and "没有这些房号" in answer.content.decode()
    assert not SurveyInvitation.objects.exists()


def test_staff_revoke_a_link(staff, survey, world):
    [invitation] = invitations_issue(survey=survey, owners=[world["owners"][0]])
    client = as_user(staff)
    client.post(f"{PAGE}revoke/", {"invitation": invitation.pk})
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and invitation.revoked_by == staff
    assert Client().get(f"/o/{invitation.token}/").status_code == 404


def test_downloads_list_the_pending_links_with_neutralised_cells(staff, survey, world):
    invitations_issue(survey=survey, owners=world["owners"])
    response_submit(survey=survey, owner=world["owners"][0], questionnaire_no="P-1", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4}, channel=Channel.PHONE)
    client = as_user(staff)
    text = client.get("/online/waves/2026-annual/invitations.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["project_code", "unit", "owner_name", "url"]
    assert sorted(r[1] for r in rows[1:]) == ["1-102", "1-103", "2-201"]
    assert ["LAKE", "1-102", "'=HYPERLINK(\"x\")"] == rows[1 + [r[1] for r in rows[1:]].index("1-102")][:3]
    tokens = {i.owner.unit: i.token for i in SurveyInvitation.objects.select_related("owner")}
    assert all(r[3].endswith(f"/o/{tokens[r[1]]}/") for r in rows[1:])
    workbook = load_workbook(io.BytesIO(client.get("/online/waves/2026-annual/invitations.xlsx").content))
    values = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    assert len(values) == 4 and "'=HYPERLINK(\"x\")" in [v[2] for v in values]


def test_the_rates_count_invited_opened_and_answered_per_project_stage_and_day(staff, survey, world):
    lake_a, lake_b, lake_c, hill = world["owners"]
    invitations = invitations_issue(survey=survey, owners=[lake_a, lake_b, lake_c, hill])
    client = Client()
    client.get(f"/o/{invitations[0].token}/")  # opened only
    client.post(f"/o/{invitations[1].token}/", {"overall": "5", "repurchase": "5", "recommend": "5"})  # answered
    response_submit(survey=survey, owner=hill, questionnaire_no="P-1", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 3, "repurchase": 3, "recommend": 3}, channel=Channel.PHONE)  # by phone
    rates = invitation_rates(survey=survey)
    assert (rates.total.invited, rates.total.opened, rates.total.answered) == (4, 3, 2)
    by_project = {c.project_code: (c.invited, c.opened, c.answered) for c in rates.projects}
    assert by_project == {"LAKE": (3, 2, 1), "HILL": (1, 1, 1)}
    # Independent count per stage as of the wave's start.
    expected: dict[str, list[int]] = {}
    for owner, opened, answered in [(lake_a, 1, 0), (lake_b, 1, 1), (lake_c, 0, 0), (hill, 1, 1)]:
        cell = expected.setdefault(stage_as_of(owner.move_in_date, date(2026, 1, 1)), [0, 0, 0])
        cell[0] += 1
        cell[1] += opened
        cell[2] += answered
    assert {c.stage: [c.invited, c.opened, c.answered] for c in rates.stages} == expected
    assert sum(d.invited for d in rates.days) == 4 and rates.days[-1].answered_to_date == 2
    page = as_user(staff).get(PAGE).content.decode()
    assert '<dd class="col-auto" id="answered-rate">50.0%</dd>' in page
    assert '<dd class="col-auto" id="invited-total">4</dd>' in page


def test_management_reads_the_rates_but_neither_generates_nor_downloads(manager, survey, world):
    client = as_user(manager)
    page = client.get(PAGE)
    assert page.status_code == 200 and "实时应答情况" in page.content.decode() and "issue-form" not in page.content.decode()
    assert client.post(PAGE, {"scope": "wave"}).status_code == 403
    assert client.get("/online/waves/2026-annual/invitations.csv").status_code == 403
    assert not SurveyInvitation.objects.exists()


def test_a_department_head_is_refused(property_head, survey, world):
    client = as_user(property_head)
    assert client.get(PAGE).status_code == 403
    assert client.get("/online/waves/2026-annual/invitations.xlsx").status_code == 403


def test_the_wave_page_links_to_its_invitations(staff, survey):
    assert PAGE in as_user(staff).get("/surveys/waves/2026-annual/").content.decode()
