"""A feedback record picks its owner from the roster (unit, name or phone digits, as keyed entry searches)."""

import pytest

from feedback.models import Feedback
from owners.models import Owner, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def roster(db):
    p1 = Project.objects.create(code="P1", name="翠湖花园")
    p2 = Project.objects.create(code="P2", name="锦绣城")
    return {
        "lilei": Owner.objects.create(project=p1, unit="3-2-1502", name="李雷", phone="13812345678"),
        "han": Owner.objects.create(project=p1, unit="3-2-1503", name="韩梅梅", phone="13900001111"),
        "other": Owner.objects.create(project=p2, unit="1-1-101", name="李雷", phone="13700002222"),
        "p1": p1,
        "p2": p2,
    }


def post(client, **fields):
    data = {"kind": "complaint", "project": "", "unit": "", "owner": "", "owner_name": "", "port": "property",
            "received_on": "2026-03-05", "severity": "normal", "status": "open", "closed_on": "",
            "description": "电梯经常停运"} | fields
    return client.post("/feedback/new/", data)


@pytest.mark.parametrize(("query", "expected"), [("1502", ["lilei"]), ("5678", ["lilei"]), ("韩", ["han"]),
                                                 ("李雷", ["lilei"]), ("0000", [])])
def test_the_search_finds_owners_of_the_chosen_project_by_unit_name_or_phone_digits(client, staff, roster, query, expected):
    client.force_login(staff)
    html = client.get("/feedback/owners/search/", {"owner_name": query, "project": roster["p1"].pk}).content.decode()
    found = sorted(key for key in ("lilei", "han", "other") if f'data-owner-id="{roster[key].pk}"' in html)
    assert found == sorted(expected)
    assert "13812345678" not in html  # phones masked in the results


def test_without_a_project_the_search_covers_the_whole_roster(client, staff, roster):
    client.force_login(staff)
    html = client.get("/feedback/owners/search/", {"owner_name": "李雷"}).content.decode()
    assert f'data-owner-id="{roster["other"].pk}"' in html and f'data-owner-id="{roster["lilei"].pk}"' in html


def test_a_picked_owner_is_linked_with_their_unit(client, staff, roster):
    client.force_login(staff)
    response = post(client, project=roster["p1"].pk, owner=roster["han"].pk, owner_name="韩梅梅")
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.owner, feedback.unit) == (roster["han"], "3-2-1503")
    assert feedback.ticket.owner == roster["han"]


def test_an_owner_of_another_project_is_refused_beside_the_field_keeping_the_input(client, staff, roster):
    client.force_login(staff)
    html = post(client, project=roster["p1"].pk, owner=roster["other"].pk, owner_name="李雷").content.decode()
    assert "该业主不属于所选楼盘" in html and 'value="李雷"' in html and "电梯经常停运" in html
    assert not Feedback.objects.exists()


def test_only_staff_search_the_roster(client, property_head, roster):
    client.force_login(property_head)
    assert client.get("/feedback/owners/search/", {"owner_name": "李"}).status_code == 403
