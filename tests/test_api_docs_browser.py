"""The API's documentation page works in a browser under the site's Content Security Policy, with nothing off-site.

(Its own module: a browser test commits through the live server, while the API tests share one world per module.)
"""

import pytest

from tests.conftest import login, screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_docs_page_renders_under_our_csp_without_a_cdn(page, staff):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda request: problems.append(f"off-site {request.url}") if not request.url.startswith(page.base_url) and not request.url.startswith("data:") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    login(page, staff)
    page.goto(f"{page.base_url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=15000)
    tags = page.locator(".swagger-ui .opblock-tag").all_inner_texts()
    assert any("owners" in tag for tag in tags) and any("metrics" in tag for tag in tags)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("客户满意度管理 API")
    screenshot(page, "api-docs-staff")
    assert [p for p in problems if "Content Security Policy" in p or "off-site" in p] == []
