"""A manager reads the weighted figures (加权) beside the plain ones on the overview and a port dashboard."""

import pytest

from satisfaction.models import MetricSnapshot
from tests.conftest import login, screenshot
from tests.test_weighting_db import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_manager_reads_the_weighted_panel_on_the_overview_and_a_port(page, manager):
    survey = build()
    headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    login(page, manager)
    page.goto(f"{page.base_url}/dashboards/?survey={survey.code}")
    panel = page.locator("section", has=page.locator("#weighted-table"))
    panel.scroll_into_view_if_needed()
    assert panel.is_visible()
    first = page.locator("#weighted-table tbody tr").first
    assert first.locator("td.weighted").inner_text().startswith(f"{headline.weighted_rate * 100:.1f}%")
    assert "楼盘B · 稳定期业主" in page.locator("#weighted-missing").inner_text()
    screenshot(page, "weighting-overview")
    page.goto(f"{page.base_url}/dashboards/ports/engineering/?survey={survey.code}")
    assert page.locator("#weighted-table").is_visible()
    screenshot(page, "weighting-port")
