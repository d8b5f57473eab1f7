"""Survey and project names are data typed by people: the charts show them as text, however hostile.

ECharts draws labels on a canvas, but its tooltips are HTML: a formatter that returns a name unescaped puts that
name's markup into the page. The CSP would stop an inline handler from running; this test asks for more — the
markup never becomes an element, and the browser never has a script to refuse.
"""

import pytest

from owners.models import Project
from surveys.models import Survey
from tests.conftest import login, screenshot
from tests.dashboard_fixtures import build_two_surveys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HOSTILE_SURVEY = '<img src=x onerror="window.__pwned=1">2026年度'
HOSTILE_PROJECT = '<b id="bold">阳光</b><img src=x onerror="window.__pwned=2">'

# Before any page script: count CSP refusals (an injected onerror would be one) and any hostile script run.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));
"""

SHOW_TIP = """([chart, index]) => {
  const el = document.querySelector(`[data-chart='${chart}']`);
  const instance = echarts.getInstanceByDom(el);
  instance.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: index});
  const tips = [...el.querySelectorAll('div')].filter(d => d.style.position === 'absolute' && d.innerHTML.includes('%'));
  const tip = tips[tips.length - 1];
  return tip ? {text: tip.textContent, elements: tip.querySelectorAll('img, b, script').length} : null;
}"""


def test_hostile_survey_and_project_names_show_as_text_in_every_chart_tooltip(page, manager):
    first, second = build_two_surveys()
    Survey.objects.filter(pk=second.pk).update(name=HOSTILE_SURVEY)
    Project.objects.filter(code="SUN").update(name=HOSTILE_PROJECT)
    page.add_init_script(WATCH)
    login(page, manager)
    page.goto(f"{page.base_url}/dashboards/ports/property/?survey={second.code}")
    page.wait_for_selector("#dashboard[data-charts-ready='1']")

    trend = page.evaluate(SHOW_TIP, ["trend", 1])
    assert trend is not None and HOSTILE_SURVEY in trend["text"], trend
    assert trend["elements"] == 0
    projects = page.evaluate(SHOW_TIP, ["projects", 0])
    assert projects is not None and HOSTILE_PROJECT in projects["text"], projects
    assert projects["elements"] == 0
    screenshot(page, "dashboards-hostile-names-tooltip")

    # The tables beside the charts show the names as text too (server-side escaping).
    assert page.locator("#bold").count() == 0
    assert page.evaluate("window.__pwned") is None
    # No script for the CSP to refuse. (ECharts' own tooltip markers carry style attributes, refused as
    # style-src-attr: a cosmetic matter, not a script.)
    assert [v for v in page.evaluate("window.__violations") if v.startswith("script")] == []
