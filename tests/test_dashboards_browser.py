"""Full journeys through the dashboards in headless Chromium, as management and as two department heads.

Each journey navigates as a person would, checks that the numbers on the page are the snapshot rows, that every
chart was drawn (a canvas with pixels on it), and saves a screenshot per page under test-artifacts/.
"""

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from core.templatetags.csm import pct
from satisfaction.models import ItemSnapshot, MetricRun, MetricSnapshot
from satisfaction.services import metrics_compute
from tests.conftest import login, screenshot
from tests.dashboard_fixtures import build_two_surveys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAINTED_PIXELS = """el => {
  const canvas = el.querySelector('canvas');
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return painted;
}"""


def charts_drawn(page) -> dict[str, int]:
    """Painted pixels per chart, once the page's script has drawn them all."""
    page.wait_for_selector("#dashboard[data-charts-ready='1']")
    return {
        el.get_attribute("data-chart"): el.evaluate(PAINTED_PIXELS)
        for el in page.query_selector_all("[data-chart]")
    }


def cell_text(page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def whole(survey, port=""):
    return MetricSnapshot.objects.get(survey=survey, port=port, project__isnull=True, stage="")


def test_management_walks_from_the_overview_to_a_port_and_a_score_card(page, manager):
    _, survey = build_two_surveys()
    login(page, manager)
    page.get_by_role("link", name="总览").click()
    page.wait_for_url("**/dashboards/")
    drawn = charts_drawn(page)
    assert set(drawn) == {"ports", "stages", "trend", "drivers"} and all(n > 1000 for n in drawn.values()), drawn
    headline = whole(survey)
    assert pct(headline.satisfaction_rate) in cell_text(page, "#headline-table tbody tr:nth-child(1)")
    assert pct(headline.loyalty_rate) in cell_text(page, "#headline-table tbody tr:nth-child(2)")
    for port in ("design", "engineering", "sales", "service", "property"):
        assert pct(whole(survey, port).satisfaction_rate) in cell_text(page, f"#port-table tr[data-port='{port}']")
    screenshot(page, "dashboards-overview-management")

    page.click("#port-table tr[data-port='property'] a")
    page.wait_for_url("**/dashboards/ports/property/**")
    drawn = charts_drawn(page)
    assert set(drawn) == {"projects", "stages", "items", "drivers", "trend"}
    assert all(n > 1000 for n in drawn.values()), drawn
    assert pct(whole(survey, "property").satisfaction_rate) in cell_text(page, "#port-headline tbody")
    weakest = ItemSnapshot.objects.filter(
        survey=survey, port="property", project__isnull=True, stage=""
    ).exclude(question_code="property").order_by("satisfaction_rate").first()
    assert page.get_attribute("#item-table tbody tr:first-child", "data-item") == weakest.question_code
    assert page.locator("#trend-table tr[data-change='up']").count() == 1  # property improved clearly
    screenshot(page, "dashboards-port-property-management")

    page.get_by_role("link", name="楼盘得分卡").click()
    page.click("#project-list-table a:has-text('阳光花园')")
    page.wait_for_url("**/dashboards/projects/SUN/**")
    drawn = charts_drawn(page)
    assert drawn.get("scorecard", 0) > 1000
    own = MetricSnapshot.objects.get(survey=survey, port="", project__code="SUN", stage="")
    assert pct(own.satisfaction_rate) in cell_text(page, "#scorecard-headline tr[data-measure='satisfaction']")
    assert page.locator("#scorecard-table tbody tr").count() == 7  # headline, loyalty, five ports
    screenshot(page, "dashboards-scorecard-management")

    with page.expect_download() as download:
        page.click("#scorecard-export")
    with open(download.value.path(), "rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
    assert sheet["B2"].value == "阳光花园"
    assert sheet.page_setup.orientation == "landscape"


def test_the_property_head_sees_the_property_dashboard_and_nothing_of_engineering(page, property_head):
    _, survey = build_two_surveys()
    login(page, property_head)
    assert page.locator("a.nav-link", has_text="总览").count() == 0
    page.click("#nav-ports")
    ports_menu = page.locator("[aria-labelledby='nav-ports'] a")
    assert ports_menu.all_inner_texts() == ["物业管理"]
    ports_menu.first.click()
    page.wait_for_url("**/dashboards/ports/property/")
    drawn = charts_drawn(page)
    assert all(n > 1000 for n in drawn.values()), drawn
    for row in MetricSnapshot.objects.filter(survey=survey, port="property", stage="", project__isnull=False):
        assert pct(row.satisfaction_rate) in cell_text(page, f"#project-table tr[data-project='{row.project.code}']")
    tiny = page.locator("#project-table tr[data-project='TINY']")
    assert "样本不足" in tiny.inner_text()
    screenshot(page, "dashboards-port-property-head")

    # A recompute is asked for: the page says 更新中, then shows the new numbers by itself once they are written.
    MetricRun.objects.create(survey=survey, requested_at=timezone.now())
    page.reload()
    charts_drawn(page)
    assert "更新中" in page.inner_text("#computed-at")
    metrics_compute(survey_id=survey.pk)
    expect(page.locator("#computed-at")).not_to_contain_text("更新中", timeout=15000)
    charts_drawn(page)
    latest = MetricSnapshot.objects.get(survey=survey, port="property", project=None, stage="")
    assert pct(latest.satisfaction_rate) in cell_text(page, "#port-headline tbody")

    response = page.goto(f"{page.base_url}/dashboards/ports/engineering/")
    assert response.status == 403

    page.goto(f"{page.base_url}/dashboards/projects/SUN/")
    charts_drawn(page)
    ports_shown = page.eval_on_selector_all("#scorecard-table tbody tr", "rows => rows.map(r => r.dataset.port)")
    assert sorted(set(ports_shown)) == ["", "property"]
    assert "工程质量" not in page.inner_text("main")
    screenshot(page, "dashboards-scorecard-property-head")


def test_the_engineering_head_also_sees_the_design_port_it_monitors(page, engineering_head):
    _, survey = build_two_surveys()
    login(page, engineering_head)
    page.click("#nav-ports")
    assert page.locator("[aria-labelledby='nav-ports'] a").all_inner_texts() == ["规划设计", "工程质量"]
    page.locator("[aria-labelledby='nav-ports'] a", has_text="规划设计").click()
    page.wait_for_url("**/dashboards/ports/design/")
    drawn = charts_drawn(page)
    assert all(n > 1000 for n in drawn.values()), drawn
    assert pct(whole(survey, "design").satisfaction_rate) in cell_text(page, "#port-headline tbody")
    screenshot(page, "dashboards-port-design-engineering-head")

    page.select_option("#filter-stage", "veteran")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_url("**stage=veteran**")
    charts_drawn(page)
    veteran = MetricSnapshot.objects.get(survey=survey, port="design", project__isnull=True, stage="veteran")
    assert pct(veteran.satisfaction_rate) in cell_text(page, "#port-headline tbody")

    assert page.goto(f"{page.base_url}/dashboards/ports/property/").status == 403
