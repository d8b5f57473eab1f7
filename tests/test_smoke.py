import pytest


@pytest.mark.django_db
def test_the_login_page_answers_anonymously(client):
    assert client.get("/accounts/login/").status_code == 200


@pytest.mark.django_db
def test_the_first_page_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
