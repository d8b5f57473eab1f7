"""The public project link: unit + last four digits of the phone on file lead to the owner's own page; a wrong
answer says the same whether or not the unit exists, and wrong answers are limited per address and per unit."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from online.models import SurveyInvitation
from online.project_links import normalise_unit, project_link_for, project_link_identify
from surveys.services import survey_close
from tests.online_messaging_world import *  # noqa: F403 - the fixtures

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WRONG = "房号或手机号后四位不正确"


@pytest.fixture
def link(wave, lake):
    return project_link_for(survey=wave, project=lake, now=NOW)


def path(link):
    return f"/o/p/{link.token}/"


def post(client, link, unit, last_four, address="10.0.0.1"):
    return client.post(path(link), {"unit": unit, "last_four": last_four}, REMOTE_ADDR=address)


def test_the_right_unit_and_digits_continue_to_the_owners_personal_page(link, residents, wave):
    client = Client()
    assert client.get(path(link)).status_code == 200
    answer = post(client, link, "1-1-101", "5678")
    invitation = SurveyInvitation.objects.get(survey=wave, owner=residents["zhang"])
    assert answer.status_code == 302 and answer["Location"] == f"/o/{invitation.token}/"
    # Again: the same personal link, not a second one.
    assert post(client, link, "１－１－１０１ ", "５６７８")["Location"] == f"/o/{invitation.token}/"
    assert SurveyInvitation.objects.filter(survey=wave).count() == 1


def test_a_wrong_answer_reads_the_same_for_a_unit_that_exists_and_one_that_does_not(link, residents):
    client = Client()
    exists = post(client, link, "1-1-101", "0000", address="10.0.0.2")
    missing = post(client, link, "9-9-909", "5678", address="10.0.0.3")
    assert exists.status_code == missing.status_code == 400
    assert WRONG in exists.content.decode() and WRONG in missing.content.decode()
    def page(answer, unit, digits):
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", answer.content.decode())
        return text.replace(unit, "UNIT").replace(f'value="{digits}"', "DIGITS")

    assert page(exists, "1-1-101", "0000") == page(missing, "9-9-909", "5678")


def test_an_owner_without_a_phone_and_another_projects_owner_never_match(link, residents):
    assert project_link_identify(link=link, unit="2-1-101", last_four="0000", now=NOW) is None  # no phone on file
    assert project_link_identify(link=link, unit="3-2-201", last_four="2222", now=NOW) is None  # another project


def test_wrong_answers_are_limited_per_address(link, residents, settings):
    settings.ONLINE_PROJECT_LINK_LIMIT = 3
    client = Client()
    for n, unit in enumerate(["7-1-1", "7-1-2", "7-1-3"]):
        assert post(client, link, unit, "1234", address="10.9.9.9").status_code == 400, n
    # Now even the right answer from that address waits; another address is served.
    assert post(client, link, "1-1-101", "5678", address="10.9.9.9").status_code == 429
    assert post(client, link, "1-1-101", "5678", address="10.9.9.8").status_code == 302


def test_wrong_answers_are_limited_per_unit_whatever_the_address(link, residents):
    client = Client()
    for n in range(5):
        assert post(client, link, "1-1-102", f"{n:04d}", address=f"10.1.1.{n}").status_code == 400
    assert post(client, link, "1-1-102", "1111", address="10.1.1.99").status_code == 429
    # The same limit falls on a unit that does not exist: the refusal tells nothing either.
    for n in range(5):
        post(client, link, "8-8-808", f"{n:04d}", address=f"10.2.2.{n}")
    assert post(client, link, "8-8-808", "1111", address="10.2.2.99").status_code == 429


def test_bad_input_is_refused_in_chinese_and_kept(link):
    answer = Client().post(path(link), {"unit": "1-1-101", "last_four": "12a4"})
    text = answer.content.decode()
    assert answer.status_code == 200 and "请填写 4 位数字" in text and 'value="1-1-101"' in text


def test_an_altered_link_is_404_and_a_closed_wave_says_closed(link, wave, staff):
    assert Client().get(f"/o/p/{link.token}x/").status_code == 404
    survey_close(survey=wave, user=staff)
    assert "本次调查已结束" in Client().get(path(link)).content.decode()


def test_units_are_normalised():
    assert normalise_unit(" １－２－３０１ ") == "1-2-301"
    assert normalise_unit("1 - 2 - 301") == "1-2-301"


def test_a_revoked_project_link_is_404_and_the_next_poster_gets_a_new_one(link, wave, lake, admin_client):
    answer = admin_client.post("/admin/online/projectlink/", {
        "action": "project_links_revoke", "_selected_action": [link.pk],
    })
    assert answer.status_code == 302
    assert Client().get(path(link)).status_code == 404
    fresh = project_link_for(survey=wave, project=lake, now=NOW)
    assert fresh.token != link.token and Client().get(path(fresh)).status_code == 200
