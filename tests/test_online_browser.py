"""An owner answers on a phone-sized screen with JavaScript off (as in a locked-down WeChat browser): opens their
link, answers, changes one answer, sees the thank-you page; brand-service staff watch the response rate and the
first page's satisfaction rate move."""

from datetime import date

import pytest

from online.services import invitations_issue
from owners.models import Owner, Project
from satisfaction.services import metrics_compute
from surveys.models import Response
from surveys.services import response_submit, survey_create
from tests.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False, user_agent=WECHAT,
        is_mobile=True, has_touch=True,
    )
    phone = context.new_page()
    phone.set_default_timeout(15000)
    yield phone
    context.close()


def choose(phone, code: str, value: str) -> None:
    radio = phone.get_attribute(f"input[name={code}][value='{value}']", "id")
    phone.click(f'label[for="{radio}"]')


def test_an_owner_answers_and_changes_an_answer_on_a_phone_and_staff_see_the_numbers_move(
    page, phone, staff, live_server
):
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))
    project = Project.objects.create(code="HY", name="和园")
    by_phone = Owner.objects.create(project=project, unit="1-1-0101", name="孙一", move_in_date=date(2020, 5, 1))
    owner = Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678",
                                 move_in_date=date(2025, 9, 1))
    other = Owner.objects.create(project=project, unit="3-2-1503", name="李四")
    response_submit(survey=survey, owner=by_phone, questionnaire_no="P-1", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 5, "repurchase": 5, "recommend": 5}, channel="phone")
    metrics_compute(survey_id=survey.pk)
    invitation, _other = invitations_issue(survey=survey, owners=[owner, other])
    link = f"{live_server.url}/o/{invitation.token}/"

    login(page, staff)
    page.goto(f"{live_server.url}/")
    assert page.inner_text("#headline-satisfaction") == "100.0%"
    page.goto(f"{live_server.url}/surveys/waves/2026-annual/")
    page.click("#wave-invitations")
    assert page.inner_text("#invited-total") == "2"
    assert page.inner_text("#answered-rate") == "0.0%"

    # The owner opens the link: no login, the questionnaire fits the phone's width.
    phone.goto(link)
    assert "张三" in phone.inner_text("main") and "13812345678" not in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert "个人信息处理说明" in phone.inner_text("#privacy")
    screenshot(phone, "online-answer-phone")
    # Forgetting a required item: the form comes back with the error and the chosen answers.
    choose(phone, "overall", "2")
    choose(phone, "recommend", "5")
    phone.click("button[type=submit]")
    assert "必答题，请选择 1–5 分" in phone.inner_text("#div_id_repurchase")
    assert phone.is_checked("input[name=overall][value='2']") and phone.is_checked("input[name=recommend][value='5']")
    screenshot(phone, "online-answer-phone-refused")
    choose(phone, "repurchase", "4")
    choose(phone, "design", "0")
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{link}thanks/")
    assert "谢谢" in phone.inner_text("main")
    screenshot(phone, "online-answer-thanks")

    page.goto(f"{live_server.url}/")
    assert page.inner_text("#headline-satisfaction") == "50.0%"  # 1 of 2: the owner scored 2
    page.goto(f"{live_server.url}/online/waves/2026-annual/invitations/")
    assert page.inner_text("#answered-rate") == "50.0%"  # 1 of the 2 invited
    screenshot(page, "online-invitations-staff")

    # The owner comes back, sees their answers, changes one.
    phone.click("text=查看或修改我的答卷")
    assert phone.is_checked("input[name=overall][value='2']") and phone.is_checked("input[name=design][value='0']")
    assert "您已提交过答卷" in phone.inner_text("main")
    choose(phone, "overall", "5")
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{link}thanks/")

    response = Response.objects.get(survey=survey, owner=owner)
    assert (response.channel, response.answers[:4]) == ("online", "545-")
    assert Response.objects.filter(survey=survey).count() == 2
    page.goto(f"{live_server.url}/")
    assert page.inner_text("#headline-satisfaction") == "100.0%"  # the changed answer counts once: 2 of 2
    page.goto(f"{live_server.url}/online/waves/2026-annual/invitations/")
    assert page.inner_text("#answered-rate") == "50.0%"
