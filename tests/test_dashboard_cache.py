"""The dashboard body cache: a cached page never outlives its inputs, never crosses a scope, and the per-user parts
(navbar username, CSRF token) are rendered for each request."""

import re
from datetime import date

import pytest
from django.test import Client

from feedback.models import Feedback
from owners.models import Project
from satisfaction.models import MetricSnapshot
from satisfaction.services import metrics_compute
from surveys.models import Response
from tests.conftest import PASSWORD, make_user
from tests.dashboard_fixtures import surveys_for_module

URL = "/dashboards/ports/property/?survey=2026-annual"


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def surveys(built, db):
    return built


def feedback_total(html: str) -> int:
    return int(re.search(r"合计</th><td class=\"num\">(\d+)</td>", html).group(1))


def dashboard_body(html: str) -> str:
    return re.search(r'<div id="dashboard".*</div>', html, re.S).group(0)


def test_a_recompute_changes_a_cached_page(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    first = dashboard_body(client.get(URL).content.decode())
    assert dashboard_body(client.get(URL).content.decode()) == first  # served from the cache, unchanged
    # Every SUN owner now gives property a 1: the recompute writes new snapshots and a new finished run.
    position = list(survey.questions.order_by("position").values_list("code", flat=True)).index("property")
    for response in Response.objects.filter(survey=survey, project__code="SUN"):
        response.answers = response.answers[:position] + "1" + response.answers[position + 1 :]
        response.save(update_fields=["answers"])
    metrics_compute(survey_id=survey.pk)
    second = dashboard_body(client.get(URL).content.decode())
    assert second != first
    snap = MetricSnapshot.objects.get(survey=survey, port="property", project__code="SUN", stage="")
    assert f'data-value="{snap.satisfaction_rate}"' in second


def test_new_or_changed_feedback_shows_in_the_feedback_panel_at_once(client, manager, surveys):
    client.force_login(manager)
    before = feedback_total(client.get(URL).content.decode())
    item = Feedback.objects.create(kind="complaint", project=Project.objects.get(code="SUN"), port="property",
                                   received_on=date(2026, 3, 1), description="漏水")
    assert feedback_total(client.get(URL).content.decode()) == before + 1
    item.delete()
    assert feedback_total(client.get(URL).content.decode()) == before


def test_a_head_never_gets_a_cached_page_of_a_port_outside_their_scope(client, manager, engineering_head,
                                                                          property_head, surveys):
    client.force_login(manager)
    assert client.get(URL).status_code == 200
    overview = client.get("/dashboards/?survey=2026-annual").content.decode()

    head = Client()
    head.force_login(engineering_head)
    assert head.get(URL).status_code == 403
    assert head.get("/dashboards/ports/property/data.json?survey=2026-annual").status_code == 403

    head.force_login(property_head)
    own = head.get("/dashboards/?survey=2026-annual").content.decode()
    assert own != overview
    assert head.get(URL).status_code == 200


def csrf_token_in(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_username_and_csrf_token_are_each_users_own_on_a_cached_page(manager, second_manager, surveys):
    pages = {}
    for user in (manager, second_manager):
        browser = Client(enforce_csrf_checks=True)
        assert browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 403
        browser.get("/accounts/login/")
        token = browser.cookies["csrftoken"].value
        browser.post("/accounts/login/", {"username": user.username, "password": PASSWORD,
                                          "csrfmiddlewaretoken": token})
        html = browser.get(URL).content.decode()
        pages[user.username] = (browser, html)
    (first, first_html), (second, second_html) = pages["manager"], pages["manager2"]
    assert re.search(r'navbar-text[^"]*" href="/accounts/notifications/" title="[^"]*">manager<', first_html)
    assert re.search(r'navbar-text[^"]*" href="/accounts/notifications/" title="[^"]*">manager2<', second_html)
    # The first user's token is no good for the second user's session, and each page's own token logs its user out.
    assert second.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_token_in(first_html)}).status_code == 403
    assert second.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_token_in(second_html)}).status_code == 302
    assert first.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_token_in(first_html)}).status_code == 302


def test_heads_of_one_department_share_a_cached_body_and_the_page_is_not_the_managers(property_head, manager,
                                                                                        surveys):
    colleague = make_user("property_head2", groups=["department_head"], department="property", head=True)
    pages = []
    for user in (manager, property_head, colleague):
        browser = Client()
        browser.force_login(user)
        pages.append(browser.get("/dashboards/?survey=2026-annual").content.decode())
    body = [dashboard_body(page) for page in pages]
    assert body[1] == body[2]
    assert body[0] != body[1]


# --- The cache-hit path: its queries pinned --------------------------------------------------------------------------
# A hit reads the session (one query with database sessions; none with CACHE_URL's cached_db sessions) and the
# cache versions (one query); the user, their roles and ports, the body and the shell all come from the cache.

HIT_URLS = [
    URL,
    "/dashboards/ports/property/data.json?survey=2026-annual",
    "/dashboards/?survey=2026-annual",
    "/dashboards/data.json?survey=2026-annual",
    "/dashboards/projects/SUN/?survey=2026-annual",
    "/dashboards/projects/SUN/data.json?survey=2026-annual",
]


@pytest.mark.parametrize("url", HIT_URLS)
def test_a_cached_dashboard_page_or_json_costs_at_most_two_queries(client, manager, surveys, url,
                                                                     django_assert_max_num_queries):
    client.force_login(manager)
    cold = client.get(url)
    assert cold.status_code == 200
    with django_assert_max_num_queries(2):
        warm = client.get(url)
    assert warm.status_code == 200
    if "data.json" in url:
        assert warm.json() == cold.json()
    else:
        assert dashboard_body(warm.content.decode()) == dashboard_body(cold.content.decode())


def test_a_signed_in_request_reads_neither_the_user_nor_their_groups_once_cached(client, property_head, surveys,
                                                                                   django_assert_max_num_queries):
    client.force_login(property_head)
    assert client.get("/healthz").status_code == 200
    client.get(URL)  # the user and their ports are cached now
    with django_assert_max_num_queries(2):
        assert client.get(URL).status_code == 200


def test_a_role_taken_away_is_seen_by_the_next_request_despite_the_cached_user(client, property_head, surveys):
    from django.contrib.auth.models import Group

    client.force_login(property_head)
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200  # served from the caches
    property_head.groups.remove(Group.objects.get(name="department_head"))
    assert client.get(URL).status_code == 403


def test_a_password_change_signs_out_every_session_despite_the_cached_user(client, manager, surveys):
    client.force_login(manager)
    assert client.get(URL).status_code == 200
    manager.set_password("another-long-password-1")
    manager.save()
    assert client.get(URL).status_code == 302  # back to the login page


def test_a_recompute_leaves_the_next_page_view_warm(client, manager, surveys, django_assert_max_num_queries,
                                                    django_capture_on_commit_callbacks):
    _, survey = surveys
    client.force_login(manager)
    client.get(URL)
    client.get("/dashboards/ports/property/data.json?survey=2026-annual")
    position = list(survey.questions.order_by("position").values_list("code", flat=True)).index("property")
    for response in Response.objects.filter(survey=survey, project__code="SUN"):
        response.answers = response.answers[:position] + "2" + response.answers[position + 1 :]
        response.save(update_fields=["answers"])

    metrics_compute(survey_id=survey.pk)  # the task's code: it warms what it made cold

    snap = MetricSnapshot.objects.get(survey=survey, port="property", project__code="SUN", stage="")
    with django_assert_max_num_queries(2):
        page = client.get(URL).content.decode()
    assert f'data-value="{snap.satisfaction_rate}"' in page
    with django_assert_max_num_queries(2):
        client.get("/dashboards/ports/property/data.json?survey=2026-annual")
