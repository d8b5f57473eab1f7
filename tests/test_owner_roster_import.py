"""Importing the owner roster (业主名册): owners created or updated in place, with history; all or nothing."""

from datetime import date

import pytest

from owners.models import Owner, Project
from surveys.importer import owners_import

pytestmark = pytest.mark.django_db

HEADER = "楼盘编码,楼盘名称,房号,业主姓名,联系电话,签约日期,入住日期\n"
ROSTER = HEADER + (
    "SZ-JY01,金域华府一期,1-1-101,张伟,13800000001,2023-01-05,2024/3/1\n"
    "SZ-JY01,金域华府一期,1-1-102,李娜,13800000002,2023年2月6日,\n"
    "SZ-LC01,蓝山公馆,2-1-301,王芳,,2022-12-30,2023-06-30\n"
)


def load(text: str, user=None, name="roster.csv"):
    return owners_import(data=text.encode("utf-8"), file_name=name, user=user)


def counts():
    return Owner.objects.count(), Project.objects.count(), Owner.history.count()


def test_a_roster_creates_projects_and_owners_with_their_dates(staff):
    result = load(ROSTER, user=staff)

    assert result.ok and (result.created, result.updated, result.unchanged, result.total_rows) == (3, 0, 0, 3)
    assert dict(Project.objects.values_list("code", "name")) == {"SZ-JY01": "金域华府一期", "SZ-LC01": "蓝山公馆"}
    zhang = Owner.objects.get(name="张伟")
    assert (zhang.unit, zhang.phone, zhang.contract_date, zhang.move_in_date) == (
        "1-1-101",
        "13800000001",
        date(2023, 1, 5),
        date(2024, 3, 1),
    )
    li = Owner.objects.get(name="李娜")
    assert (li.contract_date, li.move_in_date) == (date(2023, 2, 6), None)
    assert Owner.history.filter(history_type="+", history_user=staff).count() == 3


def test_the_same_roster_again_changes_nothing():
    load(ROSTER)
    before = counts()

    result = load(ROSTER)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert counts() == before


def test_a_later_roster_updates_owners_in_place_and_a_blank_keeps_what_is_stored(staff):
    load(ROSTER)
    zhang_id = Owner.objects.get(name="张伟").pk
    later = HEADER + (
        "SZ-JY01,,1-1-101,张伟,,,2024/3/2\n"  # new move-in date; blank phone and contract date keep theirs
        "SZ-JY01,,1-1-102,李娜,13800000002,2023-02-06,\n"  # unchanged
    )

    result = load(later, user=staff)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    zhang = Owner.objects.get(pk=zhang_id)
    assert (zhang.phone, zhang.contract_date, zhang.move_in_date) == ("13800000001", date(2023, 1, 5), date(2024, 3, 2))
    change = zhang.history.order_by("-history_id").first()
    assert (change.history_type, change.history_user, change.move_in_date) == ("~", staff, date(2024, 3, 2))
    assert Owner.objects.count() == 3


def test_key_headers_work_for_the_roster():
    text = "project_code,project_name,unit,owner_name,phone,contract_date,move_in_date\nP1,一号楼盘,1-1-101,赵六,139,2020-01-01,2021-01-01\n"

    result = load(text)

    assert result.ok and Owner.objects.get().name == "赵六"


@pytest.mark.parametrize(
    ("line", "column", "value", "reason"),
    [
        ("SZ-JY01,金域华府一期,1-1-109,周七,,2023-02-30,", "签约日期", "2023-02-30", "日期不存在"),
        ("SZ-JY01,金域华府一期,1-1-109,周七,,,明年", "入住日期", "明年", "日期无法识别"),
        ("SZ-JY01,金域华府一期,,周七,,,", "房号", "", "必填项为空"),
        ("SZ-NEW,,1-1-109,周七,,,", "楼盘名称", "", "新楼盘"),
        ("SZ-JY01,金域华府一期,1-1-101,张伟,,,", "业主姓名", "张伟", "出现两次"),
    ],
)
def test_a_bad_roster_row_is_reported_and_nothing_is_written(line, column, value, reason):
    errors = load(ROSTER + line + "\n").errors

    assert [(e.row, e.column, e.value) for e in errors] == [(5, column, value)]
    assert reason in errors[0].reason
    assert counts() == (0, 0, 0)


def test_a_roster_without_a_required_column_is_refused_cell_by_cell():
    errors = load("楼盘编码,楼盘名称,业主姓名\nP1,一号,张三\n").errors

    assert [(e.row, e.column) for e in errors] == [(1, "房号")]
    assert counts() == (0, 0, 0)
