"""Every URL needs login except the login and password-reset pages, the health checks, the token exchange and static files."""

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.test import Client
from django.urls import path as route

from tests.url_walk import all_paths

PUBLIC = {
    "/accounts/login/",
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
    "/healthz",
    "/readyz",
}
# Exchanging a password for a token is a login: POST only, guarded by the lockout.
TOKEN = "/api/v1/auth/token/"
# Choosing the interface language only sets a cookie (the login page offers it); public when the route exists.
LANGUAGE = "/i18n/setlang/"
# Owners' answering pages are public: the unguessable token in the path is the key (tests/test_online_answers.py);
# a made-up token finds nothing.
OWNER_PAGES = "/o/"
PATHS = all_paths()


def test_the_walk_finds_the_pages_and_the_api():
    assert len(PATHS) > 50
    for expected in ["/", "/api/v1/owners/", "/api/v1/metrics/", "/api/schema/", "/api/docs/", "/admin/", "/healthz"]:
        assert expected in PATHS, expected
    assert PUBLIC <= set(PATHS)


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_login_or_refused_everywhere_else():
    # One test walking every path (rather than one test per path) keeps the 200+ paths to a few seconds.
    client = Client()
    leaks = []
    for path in sorted(set(PATHS) - PUBLIC - {TOKEN, LANGUAGE} - owner_paths()):
        methods = ("get", "post", "put", "patch", "delete") if path.startswith("/api/") else ("get", "post")
        for method in methods:
            answer = getattr(client, method)(path, data={}, content_type="application/json") if method != "get" else client.get(path)
            if not refused(answer) or (path.startswith("/api/") and answer.status_code != 401):
                leaks.append((method, path, answer.status_code, answer.get("Location")))
    assert leaks == []


def owner_paths() -> set[str]:
    return {path for path in PATHS if path.startswith(OWNER_PAGES)}


@pytest.mark.django_db
def test_owners_pages_are_public_but_a_made_up_token_finds_nothing():
    assert owner_paths(), "the online answering pages are routed"
    client = Client()
    for path in sorted(owner_paths()):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"overall": "5"}).status_code in (404, 405), path


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_the_public_pages_answer_anonymously(path):
    assert Client().get(path).status_code == 200


@pytest.mark.django_db
def test_the_token_exchange_answers_only_a_post_and_gives_nothing_without_a_password():
    client = Client()
    assert client.get(TOKEN).status_code == 405
    answer = client.post(TOKEN, {"username": "nobody", "password": "wrong-password"})
    assert answer.status_code == 400
    assert "token" not in answer.json()


@pytest.mark.django_db
def test_an_anonymous_api_call_is_told_to_authenticate_with_a_token():
    answer = Client().get("/api/v1/metrics/?survey=2026-annual")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Token"
    assert "身份认证" in answer.json()["detail"]


@pytest.mark.django_db
def test_static_files_are_served_without_login():
    answer = Client().get("/static/css/app.css")
    assert answer.status_code == 200


@pytest.mark.django_db
def test_a_login_redirect_keeps_the_page_asked_for():
    answer = Client().get("/dashboards/ports/engineering/?survey=2026-annual")
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=/dashboards/ports/engineering/%3Fsurvey%3D2026-annual"


@pytest.mark.django_db
def test_choosing_a_language_anonymously_only_sets_a_cookie():
    if LANGUAGE not in PATHS:
        pytest.skip("no language switch in this build (django.conf.urls.i18n not included)")
    answer = Client().post(LANGUAGE, {"language": "en", "next": "/accounts/login/"})
    # Either the switch is public and sets nothing but the language, or it sends the visitor to log in.
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    assert set(answer.cookies) <= {"django_language", "csrftoken"}


@login_not_required
def a_public_page(request):
    return HttpResponse("公开")


def a_page(request):
    return HttpResponse("内部")


# A tiny URLconf of its own for the test below (``pytest.mark.urls``), with the site's login page.
urlpatterns = [
    route("public/", a_public_page),
    route("internal/", a_page),
    route("accounts/login/", LoginView.as_view(), name="login"),
]


@pytest.mark.django_db
@pytest.mark.urls("tests.test_anonymous_access")
def test_a_page_is_public_only_when_its_view_is_marked_login_not_required():
    # Making a page public (say, an owner's survey link) is one decorator on its view; forgetting it keeps it private.
    client = Client()
    assert client.get("/public/").content.decode() == "公开"
    assert client.get("/internal/")["Location"] == "/accounts/login/?next=/internal/"


@pytest.mark.django_db
def test_the_admin_sends_visitors_to_the_sites_login_and_tells_a_signed_in_non_administrator_why(staff):
    client = Client()
    assert client.get("/admin/")["Location"] == "/accounts/login/?next=/admin/"
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith("/accounts/login/?next=/admin/login/")
    client.force_login(staff)
    answer = client.get("/admin/", follow=True)
    assert answer.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert answer.status_code == 200 and "staff" in answer.content.decode()
