"""Each user chooses which e-mail notifications they receive, on their own settings page."""

import pytest
from django.core import mail

from core.models import NotificationPreference
from core.notifications import notification_kinds, notification_recipients, notification_send


@pytest.mark.django_db
def test_the_settings_page_lists_every_kind_and_saves_a_choice(client, manager):
    client.force_login(manager)
    page = client.get("/accounts/notifications/")
    assert page.status_code == 200
    for kind in notification_kinds():
        assert f'name="{kind.code}"' in page.content.decode()
    assert "提升计划的提交、批准与退回" in page.content.decode()

    answer = client.post("/accounts/notifications/", {})  # every box unticked
    assert answer.status_code == 302
    assert set(NotificationPreference.objects.filter(user=manager, enabled=False).values_list("kind", flat=True)) == {
        kind.code for kind in notification_kinds()
    }
    client.post("/accounts/notifications/", {"plan_transition": "on"})
    assert NotificationPreference.objects.get(user=manager, kind="plan_transition").enabled


@pytest.mark.django_db
def test_the_page_needs_login(client):
    assert client.get("/accounts/notifications/").status_code == 302


@pytest.mark.django_db
def test_people_without_an_address_or_inactive_get_nothing(manager, second_manager, django_capture_on_commit_callbacks):
    manager.email = "manager@example.com"
    manager.save(update_fields=["email"])
    second_manager.email = ""
    second_manager.save(update_fields=["email"])
    assert notification_recipients(users=[manager, second_manager], kind="plan_transition") == ["manager@example.com"]
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(users=[manager, second_manager], kind="plan_transition", subject="s", body="b")
    assert mail.outbox == []


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        notification_send(users=[], kind="no-such-kind", subject="s", body="b")
