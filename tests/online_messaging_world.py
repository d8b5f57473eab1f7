"""A small world for the messaging tests: a wave over two projects, owners with and without phones."""

from datetime import date

import pytest

from online import messaging
from owners.models import Owner, Project
from surveys.services import survey_create


@pytest.fixture
def wave(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))


@pytest.fixture
def lake(db):
    return Project.objects.create(code="LAKE", name="湖畔")


@pytest.fixture
def hill(db):
    return Project.objects.create(code="HILL", name="山景")


@pytest.fixture
def residents(lake, hill):
    return {
        "zhang": Owner.objects.create(project=lake, unit="1-1-101", name="张三", phone="13812345678"),
        "li": Owner.objects.create(project=lake, unit="1-1-102", name="李四", phone="13900001111"),
        "wu": Owner.objects.create(project=lake, unit="2-1-101", name="吴六", phone=""),
        "wang": Owner.objects.create(project=hill, unit="3-2-201", name="王五", phone="13700002222"),
    }


@pytest.fixture
def outbox(settings):
    settings.SMS_BACKEND = "locmem"
    messaging.outbox.clear()
    yield messaging.outbox
    messaging.outbox.clear()
